"""Granting a candidate accommodations, and the history of what they were granted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from certifia_enrolment.adapters.accommodation_repository import AccommodationRepository
from certifia_enrolment.adapters.repository import CandidateRepository
from certifia_enrolment.domain.accommodations import (
    Accommodation,
    AdaptedFormat,
    GranterRole,
    granted_payload,
)
from certifia_enrolment.domain.model import ensure_active
from certifia_enrolment.service_layer.handlers import UnknownCandidate
from certifia_shared import event_types as ev
from certifia_shared.db import UnitOfWork, retry_on_conflict
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


def grant_accommodation(cmd: GrantAccommodation, *, uow: UnitOfWork) -> Accommodation:
    """Record the grant as the one in force (the previous one stays as history) and emit
    candidate.accommodation_granted in the same transaction. A concurrent grant for the same candidate
    wins the in-force index first: the retry then replaces theirs."""

    def attempt() -> Accommodation:
        with uow:
            candidate = CandidateRepository(uow.session).get(cmd.candidate_id)
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
            AccommodationRepository(uow.session).grant(accommodation)
            uow.emit(ev.ACCOMMODATION_GRANTED, subject=candidate.id, data=granted_payload(accommodation))
            uow.commit()
            return accommodation

    return retry_on_conflict(attempt)


def accommodation_history(candidate_id: str, *, uow: UnitOfWork) -> list[Accommodation]:
    """Every grant, the one in force first; an unknown candidate is refused."""
    with uow:
        if CandidateRepository(uow.session).get(candidate_id) is None:
            raise UnknownCandidate(candidate_id)
        return AccommodationRepository(uow.session).history(candidate_id)
