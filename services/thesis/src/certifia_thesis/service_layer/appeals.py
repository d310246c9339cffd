"""Appeals against a failed defence. Each runs in one unit of work: the appeal, its effect on the defence and
their event (thesis appeal.opened / appeal.resolved) commit together."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certifia_shared import event_types as ev
from certifia_shared.db import retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_thesis.domain import appeals as rules
from certifia_thesis.domain.accommodation import extended
from certifia_thesis.domain.appeals import (
    Appeal,
    AppealOutcome,
    NoAppeal,
    OpenerRole,
    ResolverRole,
    UnknownDefence,
)
from certifia_thesis.domain.model import Defence, KnownCandidate, check_active, check_not_passed
from certifia_thesis.service_layer.handlers import locked_candidate
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork


@dataclass(frozen=True)
class OpenDefenceAppeal:
    defence_id: str
    grounds: str
    opened_by: str
    opened_by_role: OpenerRole


@dataclass(frozen=True)
class ResolveDefenceAppeal:
    defence_id: str
    outcome: AppealOutcome
    reasoning: str
    resolved_by: str
    resolved_by_role: ResolverRole


def _defence(uow: ThesisUnitOfWork, defence_id: str) -> tuple[Defence, KnownCandidate]:
    """The defence and its candidate, locked: one candidate's writes in turn."""
    defence = uow.defences.get(defence_id)
    if defence is None:
        raise UnknownDefence(defence_id)
    return defence, locked_candidate(uow, defence.candidate_id)  # a defence's candidate is never removed


def open_appeal(
    cmd: OpenDefenceAppeal,
    *,
    uow: ThesisUnitOfWork,
    window: timedelta,
    resolution_time: timedelta,
    now: Callable[[], datetime] = utcnow,
) -> Appeal:
    """Contest a failed defence within ``window`` (times the candidate's extra-time factor); emits thesis
    appeal.opened. A concurrent opening for the same defence may win the insert: the retry names it."""
    return retry_on_conflict(
        lambda: _open_once(cmd, uow=uow, window=window, resolution_time=resolution_time, now=now)
    )


def _open_once(
    cmd: OpenDefenceAppeal,
    *,
    uow: ThesisUnitOfWork,
    window: timedelta,
    resolution_time: timedelta,
    now: Callable[[], datetime],
) -> Appeal:
    with uow:
        defence, candidate = _defence(uow, cmd.defence_id)
        check_active(candidate)
        existing = uow.appeals.of_defence(defence.id)
        if existing is None and defence.outcome == "failed":
            check_not_passed(uow.defences.of(defence.candidate_id))  # a pass after it is final
        appeal = rules.open_appeal(
            defence,
            existing=existing,
            appeal_id=str(uuid.uuid4()),
            grounds=cmd.grounds,
            opened_by=cmd.opened_by,
            opened_by_role=cmd.opened_by_role,
            now=now(),
            window=extended(window, candidate.extra_time_factor),
            resolution_time=resolution_time,
        )
        uow.appeals.add(appeal)
        uow.emit(ev.DEFENCE_APPEAL_OPENED, subject=appeal.candidate_id, data=_opened(appeal))
        uow.commit()
        return appeal


def resolve_appeal(
    cmd: ResolveDefenceAppeal, *, uow: ThesisUnitOfWork, now: Callable[[], datetime] = utcnow
) -> tuple[Appeal, bool]:
    """Uphold (the failure is annulled: it no longer counts against the resit limit) or dismiss the appeal
    against a failed defence; emits thesis appeal.resolved. Returns it and whether this call resolved it
    (the same request again is a retry: 200, nothing emitted)."""
    with uow:
        defence, _candidate = _defence(uow, cmd.defence_id)
        appeal = uow.appeals.of_defence(defence.id)
        if appeal is None:
            raise NoAppeal(defence.id)
        schedule = uow.schedules.get(defence.id)
        at = now()
        resolved, new = rules.resolve_appeal(
            appeal,
            contested=defence,
            jury_accounts=schedule.jury_accounts() if schedule else frozenset(),
            outcome=cmd.outcome,
            reasoning=cmd.reasoning,
            resolved_by=cmd.resolved_by,
            resolved_by_role=cmd.resolved_by_role,
            now=at,
        )
        if not new:
            return resolved, False
        assert resolved.resolution is not None
        uow.appeals.record_resolution(appeal.id, resolved.resolution)
        if cmd.outcome == "upheld":
            uow.defences.annul(defence.id, at, appeal.id)
        uow.emit(ev.DEFENCE_APPEAL_RESOLVED, subject=appeal.candidate_id, data=_resolved(resolved))
        uow.commit()
        return resolved, True


def _opened(a: Appeal) -> dict[str, Any]:
    return {
        "appeal_id": a.id,
        "candidate_id": a.candidate_id,
        "defence_id": a.defence_id,
        "grounds": a.grounds,
        "opened_by": a.opened_by,
        "opened_by_role": a.opened_by_role,
        "opened_at": a.opened_at.isoformat(),
        "resolve_by": a.resolve_by.isoformat(),
    }


def _resolved(a: Appeal) -> dict[str, Any]:
    r = a.resolution
    assert r is not None
    return {
        "appeal_id": a.id,
        "candidate_id": a.candidate_id,
        "defence_id": a.defence_id,
        "outcome": r.outcome,
        "reasoning": r.reasoning,
        "resolved_by": r.resolved_by,
        "resolved_by_role": r.resolved_by_role,
        "resolved_at": r.resolved_at.isoformat(),
        "defence_annulled": r.outcome == "upheld",
    }
