"""Appeal use cases. Each runs in one unit of work: the appeal, its decision and their events commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from certifia_assessment.domain import appeals as rules
from certifia_assessment.domain.appeals import (
    Appeal,
    AppealOutcome,
    OpenerRole,
    ResolverRole,
    UnknownAppeal,
    UnknownDecision,
)
from certifia_assessment.domain.candidates import CandidateWithdrawn, UnknownCandidate
from certifia_assessment.domain.governance import appeal_window, earned_before_withdrawal, upheld_earned_at
from certifia_assessment.domain.model import Decision
from certifia_assessment.service_layer.decisions import DecideCriterion, record_decision
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.auth import Principal
from certifia_shared.db import retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_shared.referential import Referential


def opener_role(principal: Principal) -> OpenerRole:
    """An officer or admin opens an appeal on the candidate's behalf; else the candidate opens it."""
    return "officer" if principal.has("officer") else "admin" if principal.has("admin") else "candidate"


def resolver_role(principal: Principal) -> ResolverRole:
    return "officer" if principal.has("officer") else "admin"


@dataclass(frozen=True)
class OpenAppeal:
    candidate_id: str
    decision_id: str
    grounds: str
    opened_by: str
    opened_by_role: OpenerRole


def open_appeal(cmd: OpenAppeal, *, uow: AssessmentUnitOfWork, window: timedelta) -> Appeal:
    """Contest a rejection; emits appeal.opened. Raises the domain's refusals (``AppealNotAllowed``,
    ``AlreadyAppealed``), also when a concurrent opening for the same decision committed first.

    ``window`` is APPEAL_WINDOW_DAYS; the candidate's extra time factor (an accommodation) stretches it. A
    withdrawal takes away no right earned before it: a rejection of work handed in before the withdrawal can
    still be contested within its window; nothing else is (``CandidateWithdrawn``).

    Of two openings at once, the unique key on the decision lets one commit; the other's retry reads it
    and is refused as ``AlreadyAppealed``."""
    return retry_on_conflict(lambda: _open_once(cmd, uow=uow, window=window))


def _open_once(cmd: OpenAppeal, *, uow: AssessmentUnitOfWork, window: timedelta) -> Appeal:
    with uow:
        candidate = uow.candidates.candidate(cmd.candidate_id)
        if candidate is None:
            raise UnknownCandidate(cmd.candidate_id)
        decision = uow.decisions.decision(cmd.decision_id)
        if decision is None or decision.candidate_id != cmd.candidate_id:
            if candidate["withdrawn_at"] is not None:
                raise CandidateWithdrawn(cmd.candidate_id, candidate["withdrawn_at"])
            raise UnknownDecision(cmd.candidate_id, cmd.decision_id)
        if not earned_before_withdrawal(decision, candidate["withdrawn_at"]):
            raise CandidateWithdrawn(cmd.candidate_id, candidate["withdrawn_at"])
        factor = uow.governance.extra_time_factor(cmd.candidate_id)
        in_force = uow.decisions.decision_in_force(decision.candidate_id, decision.criterion_id)
        assert in_force is not None  # ``decision`` itself at least
        appeal = rules.open_appeal(
            decision,
            in_force=in_force,
            existing=uow.appeals.appeal_of_decision(decision.id),
            appeal_id=str(uuid.uuid4()),
            grounds=cmd.grounds,
            opened_by=cmd.opened_by,
            opened_by_role=cmd.opened_by_role,
            now=utcnow(),
            window=appeal_window(window, factor),
        )
        uow.appeals.add_appeal(appeal)  # uq_appeals_decision: Conflict if a concurrent opening won
        uow.emit(ev.APPEAL_OPENED, subject=appeal.candidate_id, data=_opened(appeal))
        uow.commit()
        return appeal


@dataclass(frozen=True)
class ResolveAppeal:
    appeal_id: str
    outcome: AppealOutcome
    reasoning: str
    resolved_by: str
    resolved_by_role: ResolverRole


def resolve_appeal(
    cmd: ResolveAppeal, *, uow: AssessmentUnitOfWork, referential: Referential
) -> tuple[Appeal, bool]:
    """Uphold or dismiss an appeal; returns it and whether this call resolved it.

    Upheld: the criterion is validated by a new decision taken by the resolving officer through the usual
    decision path (criterion.validated, then competency.validated and bloc.passed as the rules say), then
    appeal.resolved names that decision; all in one transaction. Dismissed: only appeal.resolved. The
    resolution is a conditional UPDATE (status 'open'), so of two officers resolving at once one wins and
    the other is answered as if they had come second (``AlreadyResolved``, or the retry of the same request).
    A jury validating the same criterion at that moment: the retry finds the criterion validated and the
    resolution names that decision.
    """
    return retry_on_conflict(lambda: _resolve_once(cmd, uow=uow, referential=referential))


def _resolve_once(
    cmd: ResolveAppeal, *, uow: AssessmentUnitOfWork, referential: Referential
) -> tuple[Appeal, bool]:
    with uow:
        appeal = uow.appeals.appeal(cmd.appeal_id)
        if appeal is None:
            raise UnknownAppeal(cmd.appeal_id)
        contested = uow.decisions.decision(appeal.decision_id)
        assert contested is not None  # decisions are never deleted
        resolved, new = _resolve(appeal, cmd, contested)
        if not new:
            return resolved, False
        assert resolved.resolution is not None
        if not uow.appeals.record_resolution(appeal.id, resolved.resolution):
            uow.rollback()  # resolved by someone else since we read it: theirs stands
            current = uow.appeals.appeal(appeal.id)
            assert current is not None
            return _resolve(current, cmd, contested)
        if cmd.outcome == "upheld":
            earned = upheld_earned_at(appeal, contested)
            decision, _ = record_decision(_validation(appeal, cmd, earned), uow, referential)
            uow.appeals.set_resolution_decision(appeal.id, decision.id)
            resolved = replace(resolved, resolution=replace(resolved.resolution, decision_id=decision.id))
        uow.emit(ev.APPEAL_RESOLVED, subject=appeal.candidate_id, data=_resolved(resolved))
        uow.commit()
        return resolved, True


def _resolve(appeal: Appeal, cmd: ResolveAppeal, contested: Decision) -> tuple[Appeal, bool]:
    return rules.resolve_appeal(
        appeal,
        contested=contested,
        outcome=cmd.outcome,
        reasoning=cmd.reasoning,
        resolved_by=cmd.resolved_by,
        resolved_by_role=cmd.resolved_by_role,
        now=utcnow(),
    )


def _validation(appeal: Appeal, cmd: ResolveAppeal, earned_at: datetime) -> DecideCriterion:
    return DecideCriterion(
        candidate_id=appeal.candidate_id,
        criterion_id=appeal.criterion_id,
        outcome="validated",
        comment=f"Appeal {appeal.id} upheld: {cmd.reasoning.strip()}",
        decided_by=cmd.resolved_by,
        decided_by_role=cmd.resolved_by_role,
        earned_at=earned_at,  # with the contested decision, not at the resolution
    )


def _ids(a: Appeal) -> dict[str, Any]:
    return {
        "appeal_id": a.id,
        "candidate_id": a.candidate_id,
        "decision_id": a.decision_id,
        "bloc": a.bloc,
        "criterion_id": a.criterion_id,
        "criterion_code": a.criterion_code,
    }


def _opened(a: Appeal) -> dict[str, Any]:
    return {
        **_ids(a),
        "grounds": a.grounds,
        "opened_by": a.opened_by,
        "opened_by_role": a.opened_by_role,
        "opened_at": a.opened_at.isoformat(),
    }


def _resolved(a: Appeal) -> dict[str, Any]:
    r = a.resolution
    assert r is not None
    return {
        **_ids(a),
        "outcome": r.outcome,
        "reasoning": r.reasoning,
        "resolved_by": r.resolved_by,
        "resolved_by_role": r.resolved_by_role,
        "resolved_at": r.resolved_at.isoformat(),
        "resolution_decision_id": r.decision_id,
    }
