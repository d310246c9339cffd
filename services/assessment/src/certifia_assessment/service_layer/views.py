"""Read models: what the GET routes answer, as query functions on a unit of work (cosmicpython's views.py).
Each opens its own transaction. Governance's (appeal deadlines, checks, the audit trail) are in
``governance_views``, the proposals' (provenance, under jury review) in ``proposal_views``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from certifia_assessment.domain.appeals import Appeal
from certifia_assessment.domain.candidates import UnknownCandidate
from certifia_assessment.domain.governance import AuditEntry, is_overdue, resolve_by
from certifia_assessment.domain.model import BlocProgress, Decision, Submission, bloc_progress
from certifia_assessment.domain.proposals import Proposal, ProposalStatus
from certifia_assessment.service_layer import governance_views, proposal_views
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared.referential import Referential


def _known(uow: AssessmentUnitOfWork, candidate_id: str) -> dict[str, Any]:
    candidate = uow.candidates.candidate(candidate_id)
    if candidate is None:
        raise UnknownCandidate(candidate_id)
    return candidate


def known_candidate(uow: AssessmentUnitOfWork, candidate_id: str) -> dict[str, Any]:
    """The candidate as assessment knows them (withdrawn or not), or :class:`UnknownCandidate`."""
    with uow:
        return _known(uow, candidate_id)


# -- decisions -----------------------------------------------------------------------------------------
def decision_answer(uow: AssessmentUnitOfWork, decision: Decision, window: timedelta) -> dict[str, Any]:
    """A decision just taken (or the one in force a repeat found), as its author reads it: with its appeal
    deadline and exact checks. It is the decision in force on its criterion."""
    with uow:
        extras = governance_views.decision_extras(
            uow,
            decision.candidate_id,
            [decision],
            window,
            exact=True,
            in_force={decision.criterion_id: decision},
        )
    return {**asdict(decision), **extras.get(decision.id, {})}


def decisions(
    uow: AssessmentUnitOfWork, candidate_id: str, bloc: str | None, window: timedelta, *, exact: bool
) -> list[dict[str, Any]]:
    """The candidate's decisions (of one bloc when given), oldest first, each with who proposed it (automated
    grading), its appeal deadline and its checks (exact for staff, rounded otherwise)."""
    with uow:
        _known(uow, candidate_id)
        found = uow.decisions.decisions_of(candidate_id, bloc)
        origin = proposal_views.provenance(uow, candidate_id, found)
        extras = governance_views.decision_extras(uow, candidate_id, found, window, exact=exact)
    return [{**asdict(d), **origin.get(d.id, {}), **extras.get(d.id, {})} for d in found]


# -- progress ------------------------------------------------------------------------------------------
def progress(uow: AssessmentUnitOfWork, referential: Referential, candidate_id: str) -> dict[str, Any]:
    """Per bloc: criteria validated/rejected, competencies validated, bloc passed; the appeals; and the
    automated verdicts under jury review."""
    with uow:
        candidate = _known(uow, candidate_id)
        outcomes, competencies, passed = uow.decisions.standing(candidate_id)
        appeals = uow.appeals.appeals_of(candidate_id)
        under_review = proposal_views.under_review(uow, candidate_id)
    blocs = [
        _bloc_answer(bloc_progress(referential, b.code, outcomes, competencies, b.code in passed))
        for b in referential.blocs
    ]
    return {
        "candidate_id": candidate_id,
        "path": candidate["path"],
        "option": candidate["option"],
        "referential_version": referential.version,
        "blocs_passed": sorted(passed),
        "blocs": blocs,
        "appeals": [
            {
                "id": a.id,
                "decision_id": a.decision_id,
                "bloc": a.bloc,
                "criterion_id": a.criterion_id,
                "status": a.status,
                "outcome": a.resolution.outcome if a.resolution else None,
                "opened_at": a.opened_at.isoformat(),
            }
            for a in appeals
        ],
        # automated verdicts a jury member has still to answer for (jury_policy.yaml): no decision yet
        "under_jury_review": under_review,
    }


def _bloc_answer(bloc: BlocProgress) -> dict[str, Any]:
    """A bloc's progress as the API answers it (``asdict``'s shape, without its deep copies, which with
    criteria_validating were a fifth of a progress read's handler time under bench-api)."""
    return {
        "code": bloc.code,
        "title": bloc.title,
        "passed": bloc.passed,
        "competencies": [
            {
                "id": c.id,
                "code": c.code,
                "validated": c.validated,
                "criteria_validated": c.criteria_validated,
                "criteria_total": c.criteria_total,
            }
            for c in bloc.competencies
        ],
        "criteria_validated": bloc.criteria_validated,
        "criteria_rejected": bloc.criteria_rejected,
        "criteria_total": bloc.criteria_total,
    }


# -- submissions ---------------------------------------------------------------------------------------
def graded_attempts(uow: AssessmentUnitOfWork, candidate_id: str) -> dict[str, int]:
    """The candidate's graded submissions per evaluation (what the attempt limit counts)."""
    with uow:
        return uow.submissions.graded_attempts(candidate_id)


def submission(uow: AssessmentUnitOfWork, submission_id: str) -> Submission | None:
    with uow:
        return uow.submissions.submission(submission_id)


def submissions(uow: AssessmentUnitOfWork, candidate_id: str) -> tuple[list[Submission], dict[str, int]]:
    """The candidate's submissions, oldest first, and their graded attempts per evaluation."""
    with uow:
        _known(uow, candidate_id)
        return uow.submissions.submissions_of(candidate_id), uow.submissions.graded_attempts(candidate_id)


# -- appeals -------------------------------------------------------------------------------------------
def appeal(uow: AssessmentUnitOfWork, appeal_id: str) -> Appeal | None:
    with uow:
        return uow.appeals.appeal(appeal_id)


def appeals(uow: AssessmentUnitOfWork, candidate_id: str) -> list[Appeal]:
    with uow:
        _known(uow, candidate_id)
        return uow.appeals.appeals_of(candidate_id)


def appeals_to_resolve(
    uow: AssessmentUnitOfWork,
    *,
    status: str | None,
    overdue: bool | None,
    resolution_window: timedelta,
    now: datetime,
) -> list[Appeal]:
    """Every candidate's appeals (``status``: open or resolved only): the overdue first, then by how soon
    they are due; ``overdue`` keeps only those past their resolve_by date (True) or not (False)."""
    with uow:
        found = uow.appeals.appeals_by_status(status)
    late = {a.id: is_overdue(a, resolution_window, now) for a in found}
    if overdue is not None:
        found = [a for a in found if late[a.id] == overdue]
    return sorted(found, key=lambda a: (not late[a.id], resolve_by(a, resolution_window), a.id))


# -- proposals and the audit trail ---------------------------------------------------------------------
def proposal(uow: AssessmentUnitOfWork, proposal_id: str) -> Proposal | None:
    with uow:
        return uow.proposals.get(proposal_id)


def proposals(
    uow: AssessmentUnitOfWork,
    *,
    status: ProposalStatus | None,
    candidate_id: str | None,
    evaluation_id: str | None,
) -> list[Proposal]:
    with uow:
        return uow.proposals.find(status=status, candidate_id=candidate_id, evaluation_id=evaluation_id)


def audit(uow: AssessmentUnitOfWork, candidate_id: str) -> list[AuditEntry]:
    with uow:
        _known(uow, candidate_id)
        return governance_views.audit_trail(uow, candidate_id)
