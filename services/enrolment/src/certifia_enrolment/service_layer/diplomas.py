"""What enrolment keeps of certification's diplomas: which candidate holds one, so the option freezes.

Applied by the consumer in the same unit of work as its inbox row (and the webhook fan-out of the same
event): a redelivered event is skipped by the inbox, and a replay that gets past it changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from certifia_enrolment.adapters.repository import DiplomaRepository
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def record_diploma_issued(event: CloudEvent, uow: UnitOfWork) -> None:
    data = event.data
    DiplomaRepository(uow.session).record_issued(
        diploma_id=data["diploma_id"],
        candidate_id=data["candidate_id"],
        option=data.get("option"),
        issued_at=_when(data["issued_at"]),
    )


def record_diploma_revoked(event: CloudEvent, uow: UnitOfWork) -> None:
    data = event.data
    DiplomaRepository(uow.session).record_revoked(
        diploma_id=data["diploma_id"],
        candidate_id=data["candidate_id"],
        revoked_at=_when(data["revoked_at"]),
    )
