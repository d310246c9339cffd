"""What grading-compute keeps of each candidate: who enrolled them (the tenant), from candidate.enrolled,
so that an LMS reads the grading reports of its own candidates and of no one else's; and the extra-time
factor of an accommodation in force (candidate.accommodation_granted), applied to the sandbox's limits."""

from __future__ import annotations

from certifia_grading.domain.model import UnknownCandidate
from certifia_grading.service_layer.unit_of_work import GradingUnitOfWork
from certifia_shared.envelope import CloudEvent, event_time


def on_candidate_enrolled(event: CloudEvent, uow: GradingUnitOfWork) -> None:
    data = event.data
    if not uow.candidates.known(data["candidate_id"]):
        uow.candidates.add(
            data["candidate_id"], lms_client=data["lms_client"], enrolled_at=event_time(data["enrolled_at"])
        )


def on_accommodation_granted(event: CloudEvent, uow: GradingUnitOfWork) -> None:
    """The latest grant is the one in force (an older one replayed or arriving late changes nothing)."""
    data = event.data
    if not uow.candidates.known(data["candidate_id"]):
        # enrolled is keyed like the grant and comes first on the same partition: this is a gap
        raise UnknownCandidate(data["candidate_id"])
    granted_at = event_time(data["granted_at"])
    current = uow.candidates.accommodation_at(data["candidate_id"])
    if current is not None and current > granted_at:
        return
    uow.candidates.set_accommodation(
        data["candidate_id"],
        accommodation_id=data["accommodation_id"],
        factor=float(data["extra_time_factor"]),
        at=granted_at,
    )
