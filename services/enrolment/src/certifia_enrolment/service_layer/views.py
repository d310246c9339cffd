"""Read models: what the GET routes answer, as query functions over the unit of work (cosmicpython's
``views.py``). Each runs in its own ``with uow:`` and writes nothing."""

from __future__ import annotations

from certifia_enrolment.domain.accommodations import Accommodation
from certifia_enrolment.domain.model import Candidate, UnknownCandidate
from certifia_enrolment.domain.webhooks import Delivery, DeliveryStatus, Subscription
from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_enrolment.service_layer.webhooks import visible_subscription


def candidate(candidate_id: str, *, uow: EnrolmentUnitOfWork) -> Candidate:
    """The candidate; an unknown one is refused."""
    with uow:
        found = uow.candidates.get(candidate_id)
    if found is None:
        raise UnknownCandidate(candidate_id)
    return found


def candidates(
    *, uow: EnrolmentUnitOfWork, lms_client: str | None, limit: int, offset: int
) -> list[Candidate]:
    """One page of candidates in enrolment order: one LMS's, or every LMS's when ``lms_client`` is None."""
    with uow:
        return uow.candidates.list(lms_client=lms_client, limit=limit, offset=offset)


def accommodation_history(candidate_id: str, *, uow: EnrolmentUnitOfWork) -> list[Accommodation]:
    """Every grant, the one in force first; an unknown candidate is refused."""
    with uow:
        if uow.candidates.get(candidate_id) is None:
            raise UnknownCandidate(candidate_id)
        return uow.accommodations.history(candidate_id)


def subscriptions(*, uow: EnrolmentUnitOfWork, lms_client: str | None) -> list[Subscription]:
    """One LMS's webhook subscriptions, or every LMS's when ``lms_client`` is None (staff)."""
    with uow:
        return uow.webhooks.subscriptions(lms_client=lms_client)


def subscription(subscription_id: str, *, uow: EnrolmentUnitOfWork, lms_client: str | None) -> Subscription:
    """The subscription, if ``lms_client`` may see it (None: staff); another LMS's is refused as unknown."""
    with uow:
        return visible_subscription(uow, subscription_id, lms_client=lms_client)


def deliveries(
    subscription_id: str,
    *,
    uow: EnrolmentUnitOfWork,
    lms_client: str | None,
    status: DeliveryStatus | None,
    limit: int,
    offset: int,
) -> list[Delivery]:
    """One page of the subscription's deliveries, newest first (refused as unknown to another LMS)."""
    with uow:
        visible_subscription(uow, subscription_id, lms_client=lms_client)
        return uow.webhooks.deliveries(subscription_id, status=status, limit=limit, offset=offset)
