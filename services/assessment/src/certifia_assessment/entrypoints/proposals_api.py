"""REST API of proposals: automated verdicts that a jury member confirms or overrides (jury_policy.yaml).

Staff only. Jury members, officers and admins read proposals with the exact evidence; only jury members
review them. Officers may read but not decide: the jury answers for a certification decision, and officers
resolve the appeals against those decisions, which they could not do impartially for a verdict they
confirmed. The candidate sees their proposals as "under jury review" in their progress, then the decision
and who took it in their decisions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from certifia_assessment.domain.proposals import Proposal, ProposalStatus, Review
from certifia_assessment.entrypoints.api import Comment, ShortId
from certifia_assessment.entrypoints.deps import ReferentialDep, UnitOfWorkDep
from certifia_assessment.service_layer import proposals as use_cases
from certifia_assessment.service_layer import views
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared.auth import Principal, require
from certifia_shared.problems import Problem, not_found
from certifia_shared.tenancy import check_visible, directory_of, ensure_visible

router = APIRouter(tags=["proposals"])
READERS = require("jury", "officer")
BULK_MAX = 200


def reviewer(principal: Annotated[Principal, Depends(require("jury"))]) -> Principal:
    """A jury member (an admin token without the jury role is refused too: a person of the jury answers)."""
    if not principal.has("jury"):
        raise Problem(
            403,
            "Forbidden",
            "This action needs one of the roles: jury. A jury member answers for a certification decision; "
            "officers and admins read proposals but do not review them.",
            type="forbidden",
        )
    return principal


class ReviewOut(BaseModel):
    reviewed_by: str
    reviewed_by_role: str
    action: str
    outcome: str
    comment: str
    reviewed_at: datetime

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        return cls(**r.__dict__)


class EvidenceOut(BaseModel):
    submission_digest: str | None
    pack_id: str
    pack_version: str
    dataset_seed: int | None
    metric: str | None
    value: float | None
    threshold: float | None
    comparator: str | None
    explanation: str = Field(description="the grader's explanation, with the exact values")
    metrics: dict[str, float | None] = Field(description="every metric of the report, exact")
    plausible: dict[str, dict[str, float | None]] = Field(description="the policy's plausible ranges")

    @classmethod
    def of(cls, evidence: dict[str, Any]) -> EvidenceOut:
        verdict = evidence.get("verdict") or {}
        return cls(
            submission_digest=evidence.get("submission_digest"),
            pack_id=evidence["pack_id"],
            pack_version=evidence["pack_version"],
            dataset_seed=evidence.get("dataset_seed"),
            metric=verdict.get("metric"),
            value=verdict.get("value"),
            threshold=verdict.get("threshold"),
            comparator=verdict.get("comparator"),
            explanation=str(verdict.get("explanation", "")),
            metrics=evidence.get("metrics") or {},
            plausible=evidence.get("plausible") or {},
        )


class ProposalOut(BaseModel):
    id: str
    candidate_id: str
    submission_id: str
    evaluation_id: str
    bloc: str
    criterion_id: str
    criterion_code: str
    proposed_outcome: str
    policy: str
    policy_version: str
    review_reasons: list[str]
    grader: str = Field(description="`<pack>@<version>`")
    evidence: EvidenceOut
    proposed_at: datetime
    status: ProposalStatus
    decision_id: str | None
    decided_at: datetime | None
    reviews: list[ReviewOut]

    @classmethod
    def of(cls, p: Proposal) -> ProposalOut:
        values = {k: v for k, v in p.__dict__.items() if k not in ("evidence", "reviews", "review_reasons")}
        return cls(
            **values,
            review_reasons=list(p.review_reasons),
            evidence=EvidenceOut.of(p.evidence),
            reviews=[ReviewOut.of(r) for r in p.reviews],
        )


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["confirm", "override", "second_opinion"]
    outcome: Literal["validated", "rejected"] | None = Field(
        default=None,
        description="override and second_opinion: the outcome you find; confirm: none (or the same)",
    )
    comment: Comment = Field(
        default="",
        description="the candidate reads it; an override or a disagreeing opinion: >= 20 characters",
    )


class BulkConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    proposal_ids: list[ShortId] = Field(min_length=1, max_length=BULK_MAX)
    comment: Comment = ""


class BulkConfirmOut(BaseModel):
    confirmed: int = Field(description="proposals decided by this request (repeats of yours not counted)")
    proposals: list[ProposalOut]


def _visible_proposal(
    request: Request, uow: AssessmentUnitOfWork, principal: Principal, proposal_id: str
) -> Proposal:
    proposal = views.proposal(uow, proposal_id)
    hidden = not_found("Proposal", proposal_id, "proposal_id")
    if proposal is None:
        raise hidden
    ensure_visible(request, principal, proposal.candidate_id, hidden_as=hidden)
    return proposal


@router.get("/proposals", response_model=list[ProposalOut])
def list_proposals(
    request: Request,
    principal: Annotated[Principal, Depends(READERS)],
    uow: UnitOfWorkDep,
    status: Annotated[ProposalStatus | None, Query(description="pending, escalated or decided")] = "pending",
    candidate_id: Annotated[ShortId | None, Query()] = None,
    evaluation_id: Annotated[ShortId | None, Query(description="e.g. 1.EV3")] = None,
) -> list[ProposalOut]:
    """Automated verdicts under review (by default the pending ones), oldest first, with the evidence."""
    if candidate_id:
        check_visible(principal, candidate_id, directory_of(request))
    found = views.proposals(uow, status=status, candidate_id=candidate_id, evaluation_id=evaluation_id)
    return [ProposalOut.of(p) for p in found]


@router.get("/proposals/{proposal_id}", response_model=ProposalOut)
def get_proposal(
    proposal_id: str, request: Request, principal: Annotated[Principal, Depends(READERS)], uow: UnitOfWorkDep
) -> ProposalOut:
    return ProposalOut.of(_visible_proposal(request, uow, principal, proposal_id))


@router.post("/proposals/{proposal_id}/review", response_model=ProposalOut)
def review_proposal(
    proposal_id: str,
    body: ReviewRequest,
    request: Request,
    principal: Annotated[Principal, Depends(reviewer)],
    uow: UnitOfWorkDep,
    referential: ReferentialDep,
) -> ProposalOut:
    """A jury member confirms or overrides an automated verdict (under second_reader, first gives an
    independent outcome). The decision is recorded in their name, with the criterion, competency and bloc
    events. The same review again answers 200 with no new event; another review of theirs, 409."""
    _visible_proposal(request, uow, principal, proposal_id)
    cmd = use_cases.ReviewProposal(proposal_id, body.action, body.outcome, body.comment, principal.subject)
    proposal, _new = use_cases.review(cmd, uow=uow, referential=referential)
    return ProposalOut.of(proposal)


@router.post("/proposals/reviews", response_model=BulkConfirmOut)
def confirm_proposals(
    body: BulkConfirmRequest,
    request: Request,
    principal: Annotated[Principal, Depends(reviewer)],
    uow: UnitOfWorkDep,
    referential: ReferentialDep,
) -> BulkConfirmOut:
    """A jury member confirms up to 200 proposals at once, all or nothing: one that cannot be confirmed
    (decided by someone else, waiting for a second opinion, unknown) refuses the whole batch and is named."""
    for pid in dict.fromkeys(body.proposal_ids):
        _visible_proposal(request, uow, principal, pid)
    done = use_cases.confirm_all(
        body.proposal_ids, body.comment, principal.subject, uow=uow, referential=referential
    )
    return BulkConfirmOut(
        confirmed=sum(new for _, new in done), proposals=[ProposalOut.of(p) for p, _ in done]
    )
