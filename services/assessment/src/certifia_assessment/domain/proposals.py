"""Proposals: automated verdicts a person must answer for (see ``jury_policy``), and the rules of their review.

A proposal is confirmed or overridden by a jury member; the decision is then recorded in that member's name.
Under ``second_reader`` a first jury member gives an independent outcome (``second_opinion``): agreeing, it
decides; disagreeing, the proposal is escalated and a jury member other than the reader confirms or
overrides it. A reviewer reviews a proposal once (the same review again is a repeat, anything else is
refused); a decided proposal takes no new review. Plain Python, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from certifia_assessment.domain.model import Outcome

ReviewAction = Literal["confirm", "override", "second_opinion"]
ProposalStatus = Literal["pending", "escalated", "decided"]
REASONED_COMMENT_MIN = 20
"""An override, or a second opinion that disagrees, says why in at least this many characters."""
UNDER_REVIEW = "under jury review"


@dataclass(frozen=True)
class Review:
    reviewed_by: str
    """The subject (an account id, never a name) of the jury member's token."""
    reviewed_by_role: str
    action: ReviewAction
    outcome: Outcome
    comment: str
    reviewed_at: datetime


@dataclass(frozen=True)
class Proposal:
    id: str
    candidate_id: str
    submission_id: str
    evaluation_id: str
    bloc: str
    criterion_id: str
    criterion_code: str
    proposed_outcome: Outcome
    policy: str
    policy_version: str
    review_reasons: tuple[str, ...]
    grader: str
    """``<pack>@<version>``: what proposed the verdict."""
    evidence: dict[str, Any]
    proposed_at: datetime
    status: ProposalStatus = "pending"
    decision_id: str | None = None
    decided_at: datetime | None = None
    reviews: tuple[Review, ...] = field(default=())

    @property
    def needs_second_reader(self) -> bool:
        return self.policy == "second_reader"

    def review_by(self, reviewer: str) -> Review | None:
        return next((r for r in self.reviews if r.reviewed_by == reviewer), None)


# -- refusals ------------------------------------------------------------------------------------------
class ReviewRefused(Exception):
    """The review cannot be recorded; ``problem_type`` names the rule, ``status`` the HTTP answer."""

    problem_type = "review-refused"
    status = 422
    field: str | None = None

    def __init__(self, proposal: Proposal, message: str) -> None:
        super().__init__(message)
        self.proposal = proposal


class AlreadyDecided(ReviewRefused):
    problem_type = "proposal-already-decided"
    status = 409

    def __init__(self, proposal: Proposal) -> None:
        super().__init__(
            proposal,
            f"proposal {proposal.id} was decided by decision {proposal.decision_id}; a decided proposal takes no "
            f"new review (GET /candidates/{proposal.candidate_id}/decisions shows it; contest it by an appeal)",
        )


class AlreadyReviewed(ReviewRefused):
    problem_type = "proposal-already-reviewed"
    status = 409

    def __init__(self, proposal: Proposal, review: Review) -> None:
        super().__init__(
            proposal,
            f"you reviewed proposal {proposal.id} already ({review.action}, {review.outcome}); a jury member "
            "reviews a proposal once: another jury member must decide it",
        )


class SecondOpinionFirst(ReviewRefused):
    problem_type = "second-opinion-required"
    status = 409
    field = "action"

    def __init__(self, proposal: Proposal) -> None:
        super().__init__(
            proposal,
            f"proposal {proposal.id} is under the second_reader policy: a jury member first gives an independent "
            "outcome (action second_opinion); a confirmation or override comes only if it disagrees",
        )


class NoSecondOpinion(ReviewRefused):
    problem_type = "second-opinion-not-expected"
    status = 409
    field = "action"

    def __init__(self, proposal: Proposal) -> None:
        why = (
            "was escalated: confirm or override it"
            if proposal.status == "escalated"
            else f"is under the {proposal.policy} policy: confirm or override it"
        )
        super().__init__(proposal, f"proposal {proposal.id} {why}")


class InvalidReview(ReviewRefused):
    """The body does not fit the action (a missing or unchanged outcome, a comment too short)."""

    problem_type = "invalid-review"

    def __init__(self, proposal: Proposal, field: str, message: str) -> None:
        super().__init__(proposal, message)
        self.field = field


class UnknownProposal(LookupError):
    def __init__(self, proposal_id: str) -> None:
        super().__init__(proposal_id)
        self.proposal_id = proposal_id


# -- the rule ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewResult:
    review: Review
    effect: Literal["repeat", "decide", "escalate"]
    """repeat: the reviewer's own review again (nothing new); decide: record ``review.outcome``; escalate:
    the second reader disagrees, another jury member decides."""


def review_proposal(
    proposal: Proposal,
    *,
    reviewer: str,
    role: str,
    action: ReviewAction,
    outcome: Outcome | None,
    comment: str,
    now: datetime,
) -> ReviewResult:
    own = proposal.review_by(reviewer)
    if own is not None:
        if own.action == action and outcome in (None, own.outcome):
            return ReviewResult(own, "repeat")
        raise AlreadyReviewed(proposal, own)
    if proposal.status == "decided":
        raise AlreadyDecided(proposal)
    decided = _outcome(proposal, action, outcome, comment.strip())
    review = Review(reviewer, role, action, decided, comment.strip(), now)
    if proposal.needs_second_reader and proposal.status == "pending":
        if action != "second_opinion":
            raise SecondOpinionFirst(proposal)
        return ReviewResult(review, "decide" if decided == proposal.proposed_outcome else "escalate")
    if action == "second_opinion":
        raise NoSecondOpinion(proposal)
    return ReviewResult(review, "decide")


def _outcome(proposal: Proposal, action: ReviewAction, outcome: Outcome | None, comment: str) -> Outcome:
    proposed = proposal.proposed_outcome
    if action == "confirm":
        if outcome not in (None, proposed):
            raise InvalidReview(
                proposal,
                "outcome",
                f"confirm keeps the proposed outcome ({proposed}); to change it, override",
            )
        return proposed
    if outcome is None:
        raise InvalidReview(proposal, "outcome", f"{action} needs an outcome: validated or rejected")
    if action == "override" and outcome == proposed:
        raise InvalidReview(
            proposal, "outcome", f"an override changes the proposed outcome ({proposed}); to keep it, confirm"
        )
    disagrees = outcome != proposed
    if disagrees and len(comment) < REASONED_COMMENT_MIN:
        raise InvalidReview(
            proposal,
            "comment",
            f"say why you depart from the automated proposal ({proposed}) in at least {REASONED_COMMENT_MIN} "
            "characters; the candidate reads it",
        )
    return outcome


def decision_comment(proposal: Proposal, review: Review) -> str:
    """What the decision says, read by the candidate: who answered for what the grader proposed, and the
    grader's explanation with its values rounded as the candidate reads them."""
    grader, proposed = proposal.grader, proposal.proposed_outcome
    if review.outcome == proposed:
        head = (
            f"Second reader agrees with the automated proposal of {grader} ({proposed})"
            if review.action == "second_opinion"
            else f"Confirms the automated proposal of {grader} ({proposed})"
        )
    else:
        head = f"Overrides the automated proposal of {grader} ({proposed} -> {review.outcome})"
    text = f"{head}: {review.comment}" if review.comment else head
    grading = proposal.evidence.get("candidate_explanation")
    return f"{text} — automated grading: {grading}" if grading else text
