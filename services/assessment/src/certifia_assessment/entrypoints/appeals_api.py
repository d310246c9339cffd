"""REST API of appeals (recours): a candidate contests a rejection, an impartial officer resolves it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from certifia_assessment.adapters.repository import AssessmentRepository
from certifia_assessment.config import Settings
from certifia_assessment.domain.appeals import (
    TEXT_MAX_LENGTH,
    TEXT_MIN_LENGTH,
    AlreadyAppealed,
    AlreadyResolved,
    Appeal,
    AppealNotAllowed,
    AppealWindowClosed,
    DecisionSuperseded,
    NotImpartial,
    OpenerRole,
    ResolverRole,
)
from certifia_assessment.entrypoints.api import (
    ShortId,
    _ctx,
    _known_candidate,
    _referential,
    withdrawn_problem,
)
from certifia_assessment.service_layer import appeals as use_cases
from certifia_assessment.service_layer.handlers import CandidateWithdrawn, UnknownCandidate
from certifia_shared.auth import Principal, require
from certifia_shared.hygiene import free_text
from certifia_shared.problems import Problem, not_found
from certifia_shared.tenancy import VisibleCandidate, ensure_visible

router = APIRouter(tags=["appeals"])
READERS = require("candidate", "jury", "officer", "lms")  # as for decisions and progress

Text = Annotated[str, free_text(TEXT_MAX_LENGTH, min_length=TEXT_MIN_LENGTH)]


class AppealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision_id: ShortId = Field(description="the rejection to contest")
    grounds: Text = Field(description="why the decision is contested; the candidate and officers see it")


class ResolutionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["upheld", "dismissed"]
    reasoning: Text = Field(description="why; the candidate sees it")


class ResolutionOut(BaseModel):
    outcome: str
    reasoning: str
    resolved_by: str
    resolved_by_role: str
    resolved_at: datetime
    decision_id: str | None = Field(description="upheld: the decision that validates the criterion")


class AppealOut(BaseModel):
    id: str
    candidate_id: str
    decision_id: str
    bloc: str
    criterion_id: str
    criterion_code: str
    grounds: str
    opened_by: str
    opened_by_role: str
    opened_at: datetime
    status: Literal["open", "resolved"]
    resolution: ResolutionOut | None

    @classmethod
    def of(cls, a: Appeal) -> AppealOut:
        return cls(**asdict(a), status=a.status)


NOT_ALLOWED_TITLES = {
    "decision-not-a-rejection": "Only a rejection can be contested",
    "decision-superseded": "Decision no longer in force",
    "appeal-window-closed": "Appeal window closed",
}


def _not_allowed(exc: AppealNotAllowed) -> Problem:
    extensions: dict[str, str] = {}
    if isinstance(exc, DecisionSuperseded):
        extensions["decision_in_force"] = exc.in_force.id
    if isinstance(exc, AppealWindowClosed):
        extensions["deadline"] = exc.deadline.isoformat()
    title = NOT_ALLOWED_TITLES.get(exc.problem_type, "Appeal not allowed")
    return Problem(422, title, str(exc), type=exc.problem_type, field="decision_id", extensions=extensions)


@router.post("/candidates/{candidate_id}/appeals", status_code=201, response_model=AppealOut)
def open_appeal(
    candidate_id: VisibleCandidate,
    body: AppealRequest,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("candidate", "officer"))],
) -> AppealOut:
    """A candidate contests the rejection in force on one criterion, within the appeal window (an officer
    or admin may open it on the candidate's behalf). One appeal per decision."""
    role: OpenerRole = (
        "officer" if principal.has("officer") else "admin" if principal.has("admin") else "candidate"
    )
    settings: Settings = request.app.state.settings
    cmd = use_cases.OpenAppeal(candidate_id, body.decision_id, body.grounds, principal.subject, role)
    try:
        appeal = use_cases.open_appeal(cmd, uow=_ctx(request).uow(), window=settings.appeal_window())
    except UnknownCandidate:
        raise not_found("Candidate", candidate_id, "candidate_id") from None
    except CandidateWithdrawn as exc:
        raise withdrawn_problem(exc) from None
    except use_cases.UnknownDecision:
        raise Problem(
            422,
            "Unknown decision",
            f"Candidate {candidate_id} has no decision {body.decision_id!r}; "
            f"GET /candidates/{candidate_id}/decisions lists them.",
            type="unknown-decision",
            field="decision_id",
        ) from None
    except AppealNotAllowed as exc:
        raise _not_allowed(exc) from None
    except AlreadyAppealed as exc:
        raise Problem(
            409,
            "Decision already contested",
            f"Decision {exc.appeal.decision_id} is contested by appeal {exc.appeal.id} "
            f"({exc.appeal.status}); a decision is contested once. GET /appeals/{exc.appeal.id} shows it.",
            type="already-appealed",
            field="decision_id",
            extensions={"appeal_id": exc.appeal.id, "appeal_status": exc.appeal.status},
        ) from None
    response.headers["Location"] = f"/appeals/{appeal.id}"
    return AppealOut.of(appeal)


@router.post("/appeals/{appeal_id}/resolution", response_model=AppealOut)
def resolve_appeal(
    appeal_id: str,
    body: ResolutionRequest,
    request: Request,
    principal: Annotated[Principal, Depends(require("officer"))],
) -> AppealOut:
    """An officer who took no part in the contested decision upholds the appeal (the criterion is
    validated by a new decision in their name, with the competency and bloc rules as for any validation)
    or dismisses it. A resolution is final: the same request again answers 200 with it, another 409."""
    role: ResolverRole = "officer" if principal.has("officer") else "admin"
    cmd = use_cases.ResolveAppeal(appeal_id, body.outcome, body.reasoning, principal.subject, role)
    try:
        appeal, _new = use_cases.resolve_appeal(
            cmd, uow=_ctx(request).uow(), referential=_referential(request)
        )
    except use_cases.UnknownAppeal:
        raise not_found("Appeal", appeal_id, "appeal_id") from None
    except NotImpartial as exc:
        raise Problem(
            403,
            "Not impartial",
            f"You took the contested decision {exc.decision.id}: another officer must resolve this appeal.",
            type="not-impartial",
        ) from None
    except AlreadyResolved as exc:
        resolution = exc.appeal.resolution
        assert resolution is not None
        raise Problem(
            409,
            "Appeal already resolved",
            f"Appeal {appeal_id} was {resolution.outcome} on {resolution.resolved_at.isoformat()} by "
            f"{resolution.resolved_by}; a resolution is final.",
            type="appeal-already-resolved",
            extensions={"appeal_id": appeal_id, "outcome": resolution.outcome},
        ) from None
    return AppealOut.of(appeal)


@router.get("/appeals/{appeal_id}", response_model=AppealOut)
def get_appeal(
    appeal_id: str, request: Request, principal: Annotated[Principal, Depends(READERS)]
) -> AppealOut:
    with _ctx(request).uow() as uow:
        appeal = AssessmentRepository(uow.session).appeal(appeal_id)
    hidden = not_found("Appeal", appeal_id, "appeal_id")
    if appeal is None:
        raise hidden
    ensure_visible(request, principal, appeal.candidate_id, hidden_as=hidden)
    return AppealOut.of(appeal)


@router.get("/candidates/{candidate_id}/appeals", response_model=list[AppealOut])
def list_appeals(
    candidate_id: VisibleCandidate, request: Request, principal: Annotated[Principal, Depends(READERS)]
) -> list[AppealOut]:
    _known_candidate(request, candidate_id)
    with _ctx(request).uow() as uow:
        return [AppealOut.of(a) for a in AssessmentRepository(uow.session).appeals_of(candidate_id)]
