"""Granting a candidate accommodations (their history is a read model: ``views.accommodation_history``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from certifia_enrolment.domain.accommodations import (
    Accommodation,
    AdaptedFormat,
    GranterRole,
    granted_payload,
)
from certifia_enrolment.domain.model import UnknownCandidate, ensure_active
from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.db import retry_on_conflict
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class GrantAccommodation:
    candidate_id: str
    extra_time_factor: float
    adapted_formats: Sequence[AdaptedFormat]
    adapted_defence: str | None
    evidence_reference: str
    reason: str
    granted_by: str  # the officer's account (token subject)
    granted_by_role: GranterRole


def grant_accommodation(cmd: GrantAccommodation, *, uow: EnrolmentUnitOfWork) -> Accommodation:
    """Record the grant as the one in force (the previous one stays as history) and emit
    candidate.accommodation_granted in the same transaction. A concurrent grant for the same candidate
    wins the in-force index first: the retry then replaces theirs."""

    def attempt() -> Accommodation:
        with uow:
            candidate = uow.candidates.get(cmd.candidate_id)
            if candidate is None:
                raise UnknownCandidate(cmd.candidate_id)
            ensure_active(candidate)
            accommodation = Accommodation(
                id=str(uuid.uuid4()),
                candidate_id=candidate.id,
                extra_time_factor=cmd.extra_time_factor,
                adapted_formats=tuple(dict.fromkeys(cmd.adapted_formats)),
                adapted_defence=cmd.adapted_defence,
                evidence_reference=cmd.evidence_reference,
                reason=cmd.reason,
                granted_by=cmd.granted_by,
                granted_by_role=cmd.granted_by_role,
                granted_at=utcnow(),
            )
            uow.accommodations.grant(accommodation)
            uow.emit(ev.ACCOMMODATION_GRANTED, subject=candidate.id, data=granted_payload(accommodation))
            uow.commit()
            return accommodation

    return retry_on_conflict(attempt)
