"""The thesis service's events, kept for the candidate's audit trail: who scheduled the defence, who recorded
its outcome (and the grade), its cancellation, and a defence appeal opened and resolved. Assessment decides
nothing on them: one audit row per event, a replay of the same event adds nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from certifia_assessment.domain.candidates import UnknownCandidate
from certifia_assessment.domain.governance import AuditEntry
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.envelope import CloudEvent, event_time, utcnow


def _written_at(event: CloudEvent) -> datetime:
    """The event's own time (ce_time); its arrival when it carries none (ce_time is optional)."""
    try:
        return event_time(event.time)
    except ValueError:
        return utcnow()


def _scheduled(event: CloudEvent) -> AuditEntry:
    d = event.data
    return AuditEntry(
        at=_written_at(event),  # when it was (re)scheduled; scheduled_at is when the defence takes place
        kind="defence_scheduled",
        account=d.get("scheduled_by"),  # events written before it existed name no account
        role=None,
        reason=None,
        outcome=f"scheduled_for {event_time(d['scheduled_at']).isoformat()}",
        ref=d["defence_id"],
        defence_id=d["defence_id"],
    )


def _defended(event: CloudEvent) -> AuditEntry:
    d = event.data
    return AuditEntry(
        at=event_time(d["defended_at"]),
        kind="defence_outcome",
        account=d.get("recorded_by"),  # events written before it existed name no account
        role=None,  # a jury member or an officer: the event does not say which
        reason=None,
        outcome=d["outcome"],
        grade=d.get("grade"),
        ref=d["defence_id"],
        defence_id=d["defence_id"],
    )


def _cancelled(event: CloudEvent) -> AuditEntry:
    d = event.data
    return AuditEntry(
        at=event_time(d["cancelled_at"]),
        kind="defence_cancelled",
        account=d["cancelled_by"],
        role=None,
        reason=d["reason"],
        ref=d["defence_id"],
        defence_id=d["defence_id"],
    )


def _appeal_opened(event: CloudEvent) -> AuditEntry:
    d = event.data
    return AuditEntry(
        at=event_time(d["opened_at"]),
        kind="defence_appeal_opened",
        account=d["opened_by"],
        role=d["opened_by_role"],
        reason=d["grounds"],
        ref=d["appeal_id"],
        defence_id=d["defence_id"],
    )


def _appeal_resolved(event: CloudEvent) -> AuditEntry:
    d = event.data
    return AuditEntry(
        at=event_time(d["resolved_at"]),
        kind="defence_appeal_resolved",
        account=d["resolved_by"],
        role=d["resolved_by_role"],
        reason=d["reasoning"],
        outcome=d["outcome"],
        ref=d["appeal_id"],
        defence_id=d["defence_id"],
    )


def _recording(
    entry_of: Callable[[CloudEvent], AuditEntry],
) -> Callable[[CloudEvent, AssessmentUnitOfWork], None]:
    def handle(event: CloudEvent, uow: AssessmentUnitOfWork) -> None:
        candidate_id = event.data["candidate_id"]
        if uow.candidates.candidate(candidate_id) is None:
            # enrolled comes on another topic and may not be applied yet: a gap, retried (then dead-lettered
            # and replayed), like the other events about a candidate assessment does not know
            raise UnknownCandidate(candidate_id)
        uow.governance.add_thesis_entry(event.id, candidate_id, entry_of(event))

    handle.__name__ = f"on_thesis{entry_of.__name__}"
    return handle


def thesis_handlers() -> dict[str, Handler[AssessmentUnitOfWork]]:
    """certifia.thesis events kept for the audit trail. mission.registered and thesis.submitted are not: they
    record no decision about the candidate (bus.yaml ignores them)."""
    return {
        ev.DEFENCE_SCHEDULED: _recording(_scheduled),
        ev.THESIS_DEFENDED: _recording(_defended),
        ev.DEFENCE_CANCELLED: _recording(_cancelled),
        ev.DEFENCE_APPEAL_OPENED: _recording(_appeal_opened),
        ev.DEFENCE_APPEAL_RESOLVED: _recording(_appeal_resolved),
    }
