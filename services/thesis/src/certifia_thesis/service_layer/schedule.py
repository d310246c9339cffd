"""Scheduling the thesis defence (or rescheduling the one waiting for its outcome) in one unit of work,
committed with its defence.scheduled event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from certifia_shared import event_types as ev
from certifia_shared.envelope import utcnow
from certifia_thesis.domain import accommodation
from certifia_thesis.domain.accommodation import DEFAULT_DEFENCE_MINUTES
from certifia_thesis.domain.deposit import latest
from certifia_thesis.domain.model import check_not_passed, check_resit_allowed
from certifia_thesis.domain.schedule import (
    DefenceSchedule,
    JuryMember,
    NoDeposit,
    check_date,
    check_jury,
    pending,
    same_schedule,
)
from certifia_thesis.service_layer.handlers import active_candidate
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork

Scheduling = Literal["scheduled", "rescheduled", "unchanged"]


@dataclass(frozen=True)
class ScheduleDefence:
    candidate_id: str
    scheduled_at: datetime
    location: str
    jury: tuple[JuryMember, ...]
    scheduled_by: str


def schedule_defence(
    cmd: ScheduleDefence,
    *,
    uow: ThesisUnitOfWork,
    reading_days: int,
    now: Callable[[], datetime] = utcnow,
    max_attempts: int = 2,
    standard_minutes: int = DEFAULT_DEFENCE_MINUTES,
) -> tuple[DefenceSchedule, Scheduling]:
    """Schedule the defence of the latest deposit, or reschedule the one waiting for its outcome (same
    defence id; defence.scheduled is emitted again). The same schedule sent again changes nothing. A new
    defence is refused once ``max_attempts`` defences were failed (an annulled failure does not count). It
    lasts ``standard_minutes`` times the candidate's extra-time factor."""
    with uow:
        candidate = active_candidate(uow, cmd.candidate_id)
        defences = uow.defences.of(cmd.candidate_id)
        check_not_passed(defences)
        deposit = latest(uow.deposits.of(cmd.candidate_id))
        if deposit is None:
            raise NoDeposit(cmd.candidate_id)
        check_jury(cmd.jury)
        scheduled_at = cmd.scheduled_at.astimezone(UTC)  # stored as UTC (SQLite drops offsets)
        waiting = pending(uow.schedules.of(cmd.candidate_id), defences)
        if waiting is not None and same_schedule(waiting, scheduled_at, cmd.location, cmd.jury):
            return waiting, "unchanged"
        if waiting is None:
            check_resit_allowed(cmd.candidate_id, defences, max_attempts)
        at = now()
        check_date(scheduled_at, deposit, at, reading_days)
        schedule = DefenceSchedule(
            id=waiting.id if waiting else str(uuid.uuid4()),
            candidate_id=cmd.candidate_id,
            deposit_id=deposit.id,
            scheduled_at=scheduled_at,
            location=cmd.location,
            jury=cmd.jury,
            scheduled_by=cmd.scheduled_by,
            created_at=waiting.created_at if waiting else at,
            updated_at=at,
            standard_minutes=standard_minutes,
            accommodation=accommodation.of(candidate.extra_time_factor, candidate.adapted_defence),
        )
        if waiting is not None:
            uow.schedules.replace(schedule)
        else:
            uow.schedules.add(schedule)
        uow.emit(ev.DEFENCE_SCHEDULED, subject=schedule.candidate_id, data=_scheduled_payload(schedule))
        uow.commit()
        return schedule, "rescheduled" if waiting is not None else "scheduled"


def _scheduled_payload(s: DefenceSchedule) -> dict[str, object]:
    return {
        "candidate_id": s.candidate_id,
        "defence_id": s.id,
        "deposit_id": s.deposit_id,
        "scheduled_at": s.scheduled_at.isoformat(),
        "location": s.location,
        "jury": [{"name": m.name, "role": m.role} for m in s.jury],
        "scheduled_by": s.scheduled_by,  # the account, for the candidate's audit trail (assessment)
    }
