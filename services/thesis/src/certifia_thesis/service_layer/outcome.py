"""Recording the outcome of the held defence in one unit of work, committed with its thesis.defended
event; a passed defence is final, a failed one allows a resit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from certifia_shared import event_types as ev
from certifia_shared.db import Conflict, retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_thesis.domain.model import (
    Defence,
    DefenceNotScheduled,
    DefenceRefused,
    Outcome,
    ThesisAlreadyPassed,
    UnknownMission,
    check_defence_allowed,
    check_grade,
    check_held,
    check_not_passed,
    same_defence,
)
from certifia_thesis.domain.schedule import pending
from certifia_thesis.service_layer.handlers import active_candidate
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork


@dataclass(frozen=True)
class RecordDefence:
    candidate_id: str
    mission_id: str | None  # None: the mission of the deposited thesis
    outcome: Outcome
    grade: float | None
    jury: tuple[str, ...]  # empty: the scheduled jury's names
    defended_at: datetime | None  # None: the scheduled time
    recorded_by: str  # the account (token subject)
    recorded_by_role: str | None = None


DEFAULT_PASS_MARK = 10.0


def record_defence(
    cmd: RecordDefence,
    *,
    uow: ThesisUnitOfWork,
    now: Callable[[], datetime] = utcnow,
    pass_mark: float = DEFAULT_PASS_MARK,
) -> tuple[Defence, bool]:
    """Record the outcome of the scheduled defence once it has been held; a passed one is final, a
    failed one allows a resit (scheduled again). The defence keeps the scheduled defence's id; the
    jury defaults to the scheduled jury's names, the date to the scheduled time, the mission to the
    deposited thesis's. The outcome agrees with the grade (/20): passed needs at least ``pass_mark``, failed
    less. A concurrent outcome may win the insert: the retry answers as it now stands."""
    check_grade(cmd.outcome, cmd.grade, pass_mark)
    try:
        return retry_on_conflict(lambda: _record_defence_once(cmd, uow=uow, now=now), attempts=2)
    except Conflict:  # uq_defences_one_pass or the defence id, twice: the other outcome stands
        raise ThesisAlreadyPassed(cmd.candidate_id) from None


def _record_defence_once(
    cmd: RecordDefence, *, uow: ThesisUnitOfWork, now: Callable[[], datetime]
) -> tuple[Defence, bool]:
    with uow:
        active_candidate(uow, cmd.candidate_id)
        previous = uow.defences.of(cmd.candidate_id)
        schedules = uow.schedules.of(cmd.candidate_id)
        if not schedules:
            check_not_passed(previous)
            raise DefenceNotScheduled(cmd.candidate_id)
        scheduled = pending(schedules, previous) or schedules[-1]
        if scheduled.cancelled_at is not None:
            raise DefenceNotScheduled(cmd.candidate_id)  # cancelled: it waits for no outcome
        mission_id = _defended_mission(uow, cmd, scheduled.deposit_id)
        at = now()
        defence = Defence(
            id=scheduled.id,
            candidate_id=cmd.candidate_id,
            mission_id=mission_id,
            outcome=cmd.outcome,
            grade=cmd.grade,
            jury=cmd.jury or scheduled.jury_names(),
            defended_at=(cmd.defended_at or scheduled.scheduled_at).astimezone(UTC),
            recorded_at=at,
            recorded_by=cmd.recorded_by,
            recorded_by_role=cmd.recorded_by_role,
        )
        repeated = same_defence(previous, defence)
        if repeated is not None:
            return repeated, False
        check_not_passed(previous)
        if any(d.id == scheduled.id for d in previous):
            raise DefenceNotScheduled(cmd.candidate_id)  # its outcome is recorded: a resit is scheduled first
        check_held(scheduled.scheduled_at, at)
        check_defence_allowed(previous, defence.defended_at, at)
        uow.defences.add(defence)
        uow.emit(ev.THESIS_DEFENDED, subject=defence.candidate_id, data=_defended_payload(defence))
        uow.commit()
        return defence, True


def _defended_mission(uow: ThesisUnitOfWork, cmd: RecordDefence, deposit_id: str) -> str:
    """The mission of the deposited thesis; a mission named in the request must be that one."""
    deposit = next(d for d in uow.deposits.of(cmd.candidate_id) if d.id == deposit_id)
    if cmd.mission_id is None:
        return deposit.mission_id
    mission = uow.missions.get(cmd.mission_id)
    if mission is None or mission.candidate_id != cmd.candidate_id:
        raise UnknownMission(cmd.mission_id)
    if mission.id != deposit.mission_id:
        raise DefenceRefused(
            "mission_id",
            f"The defence is on the thesis deposited for mission {deposit.mission_id!r}, not {mission.id!r}.",
        )
    return mission.id


def _defended_payload(d: Defence) -> dict[str, object]:
    return {
        "defence_id": d.id,
        "candidate_id": d.candidate_id,
        "mission_id": d.mission_id,
        "outcome": d.outcome,
        "grade": d.grade,
        "jury": list(d.jury),
        "defended_at": d.defended_at.isoformat(),
        "recorded_by": d.recorded_by,  # the account, for the candidate's audit trail (assessment)
    }
