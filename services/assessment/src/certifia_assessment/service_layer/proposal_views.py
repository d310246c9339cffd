"""Read models of proposals for the candidate's own views (decisions, progress): who answered for a verdict,
and what is still under jury review, without the exact metrics (certifia_shared.feedback). Each takes an open
unit of work (the caller's ``with uow:``)."""

from __future__ import annotations

from typing import Any

from certifia_assessment.domain.model import Decision
from certifia_assessment.domain.proposals import UNDER_REVIEW
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork

GRADER_PREFIX = "grading-compute:"


def provenance(
    uow: AssessmentUnitOfWork, candidate_id: str, decisions: list[Decision]
) -> dict[str, dict[str, Any]]:
    """Per decision id: ``proposed_by`` (the grading pack, ``<pack>@<version>``) and ``policy``, for the
    decisions that come from automated grading: a reviewed proposal (decided_by is then the jury member),
    or a verdict final under automated_final. Decisions a person took without a proposal are absent."""
    out: dict[str, dict[str, Any]] = {}
    for d in decisions:
        if d.decided_by_role == "grading" and d.decided_by.startswith(GRADER_PREFIX):
            out[d.id] = {"proposed_by": d.decided_by.removeprefix(GRADER_PREFIX), "policy": "automated_final"}
    for p in uow.proposals.find(candidate_id=candidate_id, status="decided"):
        if p.decision_id:
            out[p.decision_id] = {"proposed_by": p.grader, "policy": p.policy}
    return out


def under_review(uow: AssessmentUnitOfWork, candidate_id: str) -> list[dict[str, Any]]:
    """The candidate's proposals waiting for a jury member, as the candidate may see them: which criterion,
    which submission, since when; not the proposed outcome nor any metric."""
    waiting = uow.proposals.find(candidate_id=candidate_id, status=("pending", "escalated"))
    return [
        {
            "proposal_id": p.id,
            "bloc": p.bloc,
            "criterion_id": p.criterion_id,
            "criterion_code": p.criterion_code,
            "evaluation_id": p.evaluation_id,
            "submission_id": p.submission_id,
            "status": UNDER_REVIEW,
            "proposed_by": p.grader,
            "policy": p.policy,
            "proposed_at": p.proposed_at.isoformat(),
        }
        for p in sorted(waiting, key=lambda p: (p.proposed_at, p.id))
    ]
