"""Handlers for the events this service consumes (the consumer opens the unit of work and commits)."""

from __future__ import annotations

from datetime import UTC, datetime

from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent
from certifia_thesis.adapters.repository import ThesisRepository
from certifia_thesis.domain.model import KnownCandidate


def candidate_enrolled(event: CloudEvent, uow: UnitOfWork) -> None:
    """Remember the candidate (a repeat with new data updates the local copy)."""
    data = event.data
    candidate = KnownCandidate(
        id=data["candidate_id"],
        lms_client=data["lms_client"],
        path=data["path"],
        given_name=data["given_name"],
        family_name=data["family_name"],
    )
    enrolled_at = datetime.fromisoformat(data["enrolled_at"])
    if enrolled_at.tzinfo is not None:
        enrolled_at = enrolled_at.astimezone(UTC)
    ThesisRepository(uow.session).save_candidate(candidate, enrolled_at)


class WithdrawalOfUnknownCandidate(LookupError):
    """candidate.withdrawn for a candidate whose candidate.enrolled was never applied here (both travel
    on one partition, enrolled first): retried, then dead-lettered with this reason for ops to look at."""


def candidate_withdrawn(event: CloudEvent, uow: UnitOfWork) -> None:
    """Record the withdrawal on the known candidate; the first one counts (a repeat changes nothing)."""
    candidate_id = event.data["candidate_id"]
    repo = ThesisRepository(uow.session)
    if repo.get_candidate(candidate_id) is None:
        raise WithdrawalOfUnknownCandidate(f"candidate.withdrawn for unknown candidate {candidate_id!r}")
    withdrawn_at = datetime.fromisoformat(
        event.data["withdrawn_at"].upper().replace("Z", "+00:00")
    ).astimezone(UTC)
    repo.record_withdrawal(candidate_id, withdrawn_at)


HANDLERS: dict[str, Handler] = {
    ev.CANDIDATE_ENROLLED: candidate_enrolled,
    ev.CANDIDATE_WITHDRAWN: candidate_withdrawn,
}
