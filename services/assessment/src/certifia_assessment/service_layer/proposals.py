"""Review of proposals (automated verdicts a person answers for). Each review runs in one unit of work: the
review, the decision it leads to and their events (verdict.reviewed, criterion.*, competency, bloc) commit
together."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certifia_assessment.domain import proposals as rules
from certifia_assessment.domain.model import Decision, Outcome
from certifia_assessment.domain.proposals import Proposal, Review, ReviewAction, UnknownProposal
from certifia_assessment.service_layer.decisions import DecideCriterion, record_decision
from certifia_assessment.service_layer.proposing import proposed_payload
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.db import Conflict, retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_shared.referential import Referential


@dataclass(frozen=True)
class ReviewProposal:
    proposal_id: str
    action: ReviewAction
    outcome: Outcome | None
    comment: str
    reviewed_by: str
    reviewed_by_role: str = "jury"


def review(
    cmd: ReviewProposal, *, uow: AssessmentUnitOfWork, referential: Referential
) -> tuple[Proposal, bool]:
    """Apply one review; returns the proposal as it now stands and whether anything new was recorded (the
    reviewer's own review again records nothing and emits nothing)."""

    def attempt() -> tuple[Proposal, bool]:
        with uow:
            proposal, new = _review_once(cmd, uow, referential)
            uow.commit()
            return proposal, new

    return retry_on_conflict(attempt)


def confirm_all(
    ids: Sequence[str], comment: str, reviewer: str, *, uow: AssessmentUnitOfWork, referential: Referential
) -> list[tuple[Proposal, bool]]:
    """Confirm every proposal, all or nothing: the first refusal (an unknown id, a proposal decided by
    someone else, one waiting for a second opinion) rolls the whole batch back."""

    def attempt() -> list[tuple[Proposal, bool]]:
        with uow:
            out = [
                _review_once(ReviewProposal(pid, "confirm", None, comment, reviewer), uow, referential)
                for pid in dict.fromkeys(ids)
            ]
            uow.commit()
            return out

    return retry_on_conflict(attempt)


def _review_once(
    cmd: ReviewProposal, uow: AssessmentUnitOfWork, referential: Referential
) -> tuple[Proposal, bool]:
    repo = uow.proposals
    proposal = repo.get(cmd.proposal_id)
    if proposal is None:
        raise UnknownProposal(cmd.proposal_id)
    now = utcnow()
    result = rules.review_proposal(
        proposal,
        reviewer=cmd.reviewed_by,
        role=cmd.reviewed_by_role,
        action=cmd.action,
        outcome=cmd.outcome,
        comment=cmd.comment,
        now=now,
    )
    if result.effect == "repeat":
        return proposal, False
    repo.add_review(proposal.id, result.review)
    decision: Decision | None = None
    if result.effect == "escalate":
        moved = repo.move(proposal.id, from_="pending", to="escalated")
    else:
        submission = uow.submissions.submission(proposal.submission_id)
        earned_at = submission.received_at if submission else None  # earned when the work was handed in
        decision, _ = record_decision(_decide(proposal, result.review, earned_at), uow, referential)
        moved = repo.move(proposal.id, from_=proposal.status, to="decided", decision_id=decision.id, at=now)
    if not moved:  # another review moved it since we read it: the retry reads theirs
        raise Conflict(f"proposal {proposal.id} was reviewed concurrently")
    uow.emit(
        ev.VERDICT_REVIEWED, subject=proposal.candidate_id, data=_reviewed(proposal, result.review, decision)
    )
    current = repo.get(proposal.id)
    assert current is not None
    return current, True


def _decide(proposal: Proposal, review: Review, earned_at: datetime | None) -> DecideCriterion:
    return DecideCriterion(
        candidate_id=proposal.candidate_id,
        criterion_id=proposal.criterion_id,
        outcome=review.outcome,
        comment=rules.decision_comment(proposal, review),
        decided_by=review.reviewed_by,
        decided_by_role="jury",
        submission_id=proposal.submission_id,
        # the id automated grading gave the decision before proposals existed: one decision per verdict
        decision_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{proposal.submission_id}/{proposal.criterion_id}")),
        earned_at=earned_at,
    )


def _reviewed(p: Proposal, r: Review, decision: Decision | None) -> dict[str, Any]:
    return {
        **proposed_payload(p),
        "action": r.action,
        "outcome": r.outcome,
        "reviewed_by": r.reviewed_by,
        "reviewed_by_role": r.reviewed_by_role,
        "comment": r.comment,
        "reviewed_at": r.reviewed_at.isoformat(),
        "decision_id": decision.id if decision else None,
    }
