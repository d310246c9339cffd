"""Decisions on criteria and what they validate: a jury's, automated grading's, an upheld appeal's. Each use
case runs in one unit of work: the decision and its events (criterion.*, competency.validated, bloc.passed)
commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from certifia_assessment.domain.candidates import UnknownCandidate, check_active
from certifia_assessment.domain.model import (
    DeciderRole,
    Decision,
    Outcome,
    UnknownCriterion,
    bloc_is_passed,
    check_decision_allowed,
    check_reasoned,
    competencies_now_validated,
)
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.auth import Principal
from certifia_shared.db import retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_shared.referential import Competency, Referential, ReferentialLookupError

PersonRole = Literal["jury", "officer", "admin"]


def decider_role(principal: Principal) -> PersonRole:
    """The role a person's decision (or VAE ruling) is recorded under: jury before officer; an admin
    otherwise (the routes let only these three in)."""
    return "jury" if principal.has("jury") else "officer" if principal.has("officer") else "admin"


@dataclass(frozen=True)
class DecideCriterion:
    candidate_id: str
    criterion_id: str
    outcome: Outcome
    comment: str
    decided_by: str
    decided_by_role: DeciderRole
    submission_id: str | None = None
    decision_id: str | None = None
    earned_at: datetime | None = None
    """When the right was earned: the graded submission's received_at, the upheld appeal's opened_at; None
    for a decision on the spot (a jury's): its own time. bloc.passed carries the latest (its earned_at)."""


def decide_criterion(
    cmd: DecideCriterion, *, uow: AssessmentUnitOfWork, referential: Referential
) -> tuple[Decision, bool]:
    """Record a decision on one criterion and apply the competency and bloc rules.

    Returns the decision in force and whether a new one was recorded (validating a validated criterion
    again records nothing and emits nothing).
    """

    def attempt() -> tuple[Decision, bool]:
        with uow:
            check_active(cmd.candidate_id, uow.candidates.candidate(cmd.candidate_id))
            check_reasoned(cmd.outcome, cmd.comment)
            decision, created = record_decision(cmd, uow, referential)
            uow.commit()
            return decision, created

    # an identical decision, or an upheld appeal, validating the same criterion at the same moment: the
    # retry finds it in force and answers as a repeat (200), instead of the unique key's 500
    return retry_on_conflict(attempt)


def record_decision(
    cmd: DecideCriterion, uow: AssessmentUnitOfWork, referential: Referential
) -> tuple[Decision, bool]:
    """The decision path inside an open unit of work (the caller commits): record the decision, emit
    criterion.validated or criterion.rejected and, for a validation, apply the competency and bloc rules
    (competency.validated, bloc.passed). Every decision goes through here: jury, grading, upheld appeals."""
    if uow.candidates.candidate(cmd.candidate_id) is None:
        raise UnknownCandidate(cmd.candidate_id)
    try:
        criterion = referential.criterion(cmd.criterion_id)
    except ReferentialLookupError:
        raise UnknownCriterion(cmd.criterion_id) from None
    current = uow.decisions.decision_in_force(cmd.candidate_id, criterion.id)
    if not check_decision_allowed(current, cmd.outcome):
        assert current is not None
        return current, False
    now = utcnow()
    decision = Decision(
        id=cmd.decision_id or str(uuid.uuid4()),
        candidate_id=cmd.candidate_id,
        bloc=criterion.bloc,
        criterion_id=criterion.id,
        criterion_code=criterion.code,
        outcome=cmd.outcome,
        comment=cmd.comment,
        decided_by=cmd.decided_by,
        decided_by_role=cmd.decided_by_role,
        decided_at=now,
        submission_id=cmd.submission_id,
        earned_at=cmd.earned_at or now,
    )
    uow.decisions.add_decision(decision)
    event_type = ev.CRITERION_VALIDATED if cmd.outcome == "validated" else ev.CRITERION_REJECTED
    uow.emit(event_type, subject=cmd.candidate_id, data=_decision_payload(decision, referential))
    if cmd.outcome == "validated":
        _apply_rules(uow, referential, cmd.candidate_id, criterion.bloc, decision.decided_at)
    return decision, True


def _apply_rules(
    uow: AssessmentUnitOfWork, referential: Referential, candidate_id: str, bloc: str, at: datetime
) -> None:
    decisions = uow.decisions
    validated, before, passed = decisions.bloc_standing(candidate_id, bloc)
    for competency in competencies_now_validated(referential, bloc, validated, before):
        criteria = [c.id for c in referential.criteria_validating(competency.id)]
        earned = max(decisions.validations_earned_at(candidate_id, criteria).values(), default=at)
        validate_competency(uow, referential, candidate_id, competency, at, earned_at=earned)
        before.add(competency.id)
    if not passed and bloc_is_passed(referential, bloc, before):
        bloc_earned = decisions.competencies_earned_at(candidate_id, bloc)
        pass_bloc(uow, referential, candidate_id, bloc, "assessment", at, earned_at=bloc_earned)


def validate_competency(
    uow: AssessmentUnitOfWork,
    referential: Referential,
    candidate_id: str,
    competency: Competency,
    at: datetime,
    *,
    earned_at: datetime,
) -> None:
    """Record the competency validated and emit competency.validated (by its criteria, or a VAE jury)."""
    uow.decisions.add_competency_validation(
        candidate_id, competency.id, competency.bloc, at, earned_at=earned_at
    )
    uow.emit(
        ev.COMPETENCY_VALIDATED,
        subject=candidate_id,
        data={
            "candidate_id": candidate_id,
            "bloc": competency.bloc,
            "competency_id": competency.id,
            "competency_code": competency.code,
            "criteria": [c.id for c in referential.criteria_validating(competency.id)],
            "validated_at": at.isoformat(),
            "referential_version": referential.version,
        },
    )


def pass_bloc(
    uow: AssessmentUnitOfWork,
    referential: Referential,
    candidate_id: str,
    bloc: str,
    via: str,
    at: datetime,
    *,
    earned_at: datetime | None = None,
) -> None:
    """``earned_at``: the latest time a right behind the pass was earned (see bloc.passed's schema); the
    pass itself when None."""
    earned = min(earned_at or at, at)
    uow.decisions.add_bloc_pass(candidate_id, bloc, via, at, earned_at=earned)
    uow.emit(
        ev.BLOC_PASSED,
        subject=candidate_id,
        data={
            "candidate_id": candidate_id,
            "bloc": bloc,
            "competencies": [c.id for c in referential.bloc(bloc).competencies],
            "via": via,
            "passed_at": at.isoformat(),
            "referential_version": referential.version,
            "earned_at": earned.isoformat(),
        },
    )


def _decision_payload(d: Decision, referential: Referential) -> dict[str, Any]:
    return {
        "decision_id": d.id,
        "candidate_id": d.candidate_id,
        "bloc": d.bloc,
        "criterion_id": d.criterion_id,
        "criterion_code": d.criterion_code,
        "decided_by": d.decided_by,
        "decided_by_role": d.decided_by_role,
        "comment": d.comment,
        "submission_id": d.submission_id,
        "decided_at": d.decided_at.isoformat(),
        "referential_version": referential.version,
    }
