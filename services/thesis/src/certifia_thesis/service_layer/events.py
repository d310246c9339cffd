"""Handlers for the events this service consumes (the consumer opens the unit of work and commits)."""

from __future__ import annotations

from dataclasses import replace

from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.envelope import CloudEvent, event_time, utcnow
from certifia_thesis.domain import accommodation
from certifia_thesis.domain.model import (
    AccommodationOfUnknownCandidate,
    KnownCandidate,
    WithdrawalOfUnknownCandidate,
)
from certifia_thesis.domain.schedule import DefenceSchedule, cancelled_on_withdrawal, pending
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork


def candidate_enrolled(event: CloudEvent, uow: ThesisUnitOfWork) -> None:
    """Remember the candidate (a repeat with new data updates the local copy)."""
    data = event.data
    candidate = KnownCandidate(
        id=data["candidate_id"],
        lms_client=data["lms_client"],
        path=data["path"],
        given_name=data["given_name"],
        family_name=data["family_name"],
    )
    uow.candidates.save(candidate, event_time(data["enrolled_at"]))


def candidate_withdrawn(event: CloudEvent, uow: ThesisUnitOfWork) -> None:
    """Record the withdrawal on the known candidate; the first one counts (a repeat changes nothing). A
    defence still to come is cancelled in the same transaction, with defence.cancelled."""
    candidate_id = event.data["candidate_id"]
    if uow.candidates.get(candidate_id, lock=True) is None:
        raise WithdrawalOfUnknownCandidate(f"candidate.withdrawn for unknown candidate {candidate_id!r}")
    withdrawn_at = event_time(event.data["withdrawn_at"])
    if not uow.candidates.record_withdrawal(candidate_id, withdrawn_at):
        return  # withdrawn before: what it cancelled is cancelled already
    cancelled = cancelled_on_withdrawal(
        uow.schedules.of(candidate_id),
        uow.defences.of(candidate_id),
        withdrawn_at=withdrawn_at,
        by=event.data.get("withdrawn_by") or "enrolment",
        at=utcnow(),
    )
    if cancelled is not None:
        uow.schedules.replace(cancelled)
        uow.emit(ev.DEFENCE_CANCELLED, subject=candidate_id, data=_cancelled_payload(cancelled))


def _cancelled_payload(s: DefenceSchedule) -> dict[str, object]:
    assert s.cancelled_at is not None
    return {
        "defence_id": s.id,
        "candidate_id": s.candidate_id,
        "scheduled_at": s.scheduled_at.isoformat(),
        "reason": s.cancel_reason,
        "cancelled_at": s.cancelled_at.isoformat(),
        "cancelled_by": s.cancelled_by,
    }


def accommodation_granted(event: CloudEvent, uow: ThesisUnitOfWork) -> None:
    """Keep the accommodation in force (the latest grant counts) and apply it to the defence waiting for
    its outcome: its duration is the standard one times the extra-time factor."""
    data = event.data
    candidate_id = data["candidate_id"]
    if uow.candidates.get(candidate_id, lock=True) is None:
        raise AccommodationOfUnknownCandidate(
            f"candidate.accommodation_granted for unknown candidate {candidate_id!r}"
        )
    factor, adapted = float(data["extra_time_factor"]), data.get("adapted_defence")
    if not uow.candidates.record_accommodation(candidate_id, factor, adapted, event_time(data["granted_at"])):
        return  # an older grant than the one in force
    waiting = pending(uow.schedules.of(candidate_id), uow.defences.of(candidate_id))
    if waiting is not None:
        uow.schedules.replace(replace(waiting, accommodation=accommodation.of(factor, adapted)))


HANDLERS: dict[str, Handler[ThesisUnitOfWork]] = {
    ev.CANDIDATE_ENROLLED: candidate_enrolled,
    ev.CANDIDATE_WITHDRAWN: candidate_withdrawn,
    ev.ACCOMMODATION_GRANTED: accommodation_granted,
}
"""As the consumer takes them: it opens the unit of work bootstrap wired (``ThesisUnitOfWork``)."""
