"""REST API of appeals (recours): a candidate contests a rejection, an impartial officer resolves it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from certifia_assessment.config import Settings
from certifia_assessment.domain.appeals import TEXT_MAX_LENGTH, TEXT_MIN_LENGTH, Appeal
from certifia_assessment.domain.governance import is_overdue, resolve_by
from certifia_assessment.entrypoints.api import ShortId
from certifia_assessment.entrypoints.deps import ReferentialDep, SettingsDep, UnitOfWorkDep
from certifia_assessment.service_layer import appeals as use_cases
from certifia_assessment.service_layer import views
from certifia_shared.auth import Principal, require
from certifia_shared.envelope import utcnow
from certifia_shared.hygiene import free_text
from certifia_shared.problems import not_found
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
    resolve_by: datetime = Field(
        description="when an officer should have resolved it (APPEAL_RESOLUTION_DAYS)"
    )
    overdue: bool = Field(description="still open after resolve_by")

    @classmethod
    def of(cls, a: Appeal, settings: Settings) -> AppealOut:
        window = settings.appeal_resolution_window()
        return cls(
            **asdict(a),
            status=a.status,
            resolve_by=resolve_by(a, window),
            overdue=is_overdue(a, window, utcnow()),
        )


@router.post("/candidates/{candidate_id}/appeals", status_code=201, response_model=AppealOut)
def open_appeal(
    candidate_id: VisibleCandidate,
    body: AppealRequest,
    response: Response,
    principal: Annotated[Principal, Depends(require("candidate", "officer"))],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> AppealOut:
    """A candidate contests the rejection in force on one criterion, within the appeal window (an officer
    or admin may open it on the candidate's behalf). One appeal per decision."""
    role = use_cases.opener_role(principal)
    cmd = use_cases.OpenAppeal(candidate_id, body.decision_id, body.grounds, principal.subject, role)
    appeal = use_cases.open_appeal(cmd, uow=uow, window=settings.appeal_window())
    response.headers["Location"] = f"/appeals/{appeal.id}"
    return AppealOut.of(appeal, settings)


@router.post("/appeals/{appeal_id}/resolution", response_model=AppealOut)
def resolve_appeal(
    appeal_id: str,
    body: ResolutionRequest,
    principal: Annotated[Principal, Depends(require("officer"))],
    uow: UnitOfWorkDep,
    referential: ReferentialDep,
    settings: SettingsDep,
) -> AppealOut:
    """An officer who took no part in the contested decision nor opened the appeal upholds it (the criterion is
    validated by a new decision in their name, with the competency and bloc rules as for any validation)
    or dismisses it. A resolution is final: the same request again answers 200 with it, another 409."""
    role = use_cases.resolver_role(principal)
    cmd = use_cases.ResolveAppeal(appeal_id, body.outcome, body.reasoning, principal.subject, role)
    appeal, _new = use_cases.resolve_appeal(cmd, uow=uow, referential=referential)
    return AppealOut.of(appeal, settings)


@router.get("/appeals/{appeal_id}", response_model=AppealOut)
def get_appeal(
    appeal_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(READERS)],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> AppealOut:
    appeal = views.appeal(uow, appeal_id)
    hidden = not_found("Appeal", appeal_id, "appeal_id")
    if appeal is None:
        raise hidden
    ensure_visible(request, principal, appeal.candidate_id, hidden_as=hidden)
    return AppealOut.of(appeal, settings)


@router.get("/candidates/{candidate_id}/appeals", response_model=list[AppealOut])
def list_appeals(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(READERS)],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> list[AppealOut]:
    return [AppealOut.of(a, settings) for a in views.appeals(uow, candidate_id)]


@router.get("/appeals", response_model=list[AppealOut])
def appeals_to_resolve(
    principal: Annotated[Principal, Depends(require("officer", "jury"))],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    status: Literal["open", "resolved"] | None = None,
    overdue: bool | None = None,
) -> list[AppealOut]:
    """Every candidate's appeals, for staff (``status=open``: those waiting for an officer): the overdue
    first, then by how soon they are due (resolve_by); ``overdue=true`` keeps only those past it."""
    window = settings.appeal_resolution_window()
    found = views.appeals_to_resolve(
        uow, status=status, overdue=overdue, resolution_window=window, now=utcnow()
    )
    return [AppealOut.of(a, settings) for a in found]
