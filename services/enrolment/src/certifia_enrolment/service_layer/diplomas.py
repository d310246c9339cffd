"""What enrolment keeps of certification's diplomas: which candidate holds one, so the option freezes.

Applied by the consumer in the same unit of work as its inbox row (and the webhook fan-out of the same
event): a redelivered event is skipped by the inbox, and a replay that gets past it changes nothing.
"""

from __future__ import annotations

from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_shared.envelope import CloudEvent, event_time


def record_diploma_issued(event: CloudEvent, uow: EnrolmentUnitOfWork) -> None:
    data = event.data
    uow.diplomas.record_issued(
        diploma_id=data["diploma_id"],
        candidate_id=data["candidate_id"],
        option=data.get("option"),
        issued_at=event_time(data["issued_at"]),
    )


def record_diploma_revoked(event: CloudEvent, uow: EnrolmentUnitOfWork) -> None:
    data = event.data
    uow.diplomas.record_revoked(
        diploma_id=data["diploma_id"],
        candidate_id=data["candidate_id"],
        revoked_at=event_time(data["revoked_at"]),
    )
