"""REST API of the enrolment service (thin: validate, build a command, call the handler)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from certifia_enrolment.domain.model import Candidate, WithdrawerRole
from certifia_enrolment.entrypoints.deps import UnitOfWorkDep
from certifia_enrolment.service_layer import handlers, views
from certifia_shared import journey
from certifia_shared.auth import Principal, require
from certifia_shared.hygiene import CleanText, Identifier, free_text, one_line
from certifia_shared.problems import Problem
from certifia_shared.tenancy import STAFF, VisibleCandidate, tenant
from certifia_shared.web import replayed

router = APIRouter(tags=["candidates"])
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Name = Annotated[str, CleanText("name", 1, 200)]
"""A given or family name: one line, NFC, no control, bidi or invisible characters (what the diploma shows)."""
Email = Annotated[str, Field(pattern=EMAIL), CleanText("line", 3, 320)]


class EnrolmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: Identifier = Field(description="the candidate's id in the LMS")
    given_name: Name
    family_name: Name
    email: Email
    path: Literal["formation", "vae"] = "formation"
    cohort: Annotated[str, one_line(100, min_length=0)] | None = None


class OptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    option: Literal["5A", "5B"]


class WithdrawalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, free_text(500, min_length=1)]


class CandidateOut(BaseModel):
    id: str
    lms_client: str
    external_id: str
    given_name: str
    family_name: str
    email: str
    path: str
    cohort: str | None
    option: str | None
    enrolled_at: datetime
    status: Literal["enrolled", "withdrawn"]
    withdrawn_at: datetime | None
    withdrawal_reason: str | None
    withdrawn_by: str | None = Field(
        default=None,
        description="the account that recorded the withdrawal (token subject, or the LMS client id); "
        "shown to staff only",
    )

    @classmethod
    def of(cls, c: Candidate, *, staff: bool = False) -> CandidateOut:
        status: Literal["enrolled", "withdrawn"] = "withdrawn" if c.withdrawn else "enrolled"
        shown = {f: getattr(c, f) for f in cls.model_fields if f not in ("status", "withdrawn_by")}
        return cls(status=status, withdrawn_by=c.withdrawn_by if staff else None, **shown)


def _staff(principal: Principal) -> bool:
    return bool(principal.roles & STAFF)


def _lms_client(principal: Principal) -> str:
    return tenant(principal)


@router.post(
    "/candidates",
    status_code=201,
    response_model=CandidateOut,
    responses=replayed(CandidateOut, "Already enrolled with the same data: the existing candidate"),
)
def enrol(
    body: EnrolmentRequest,
    response: Response,
    principal: Annotated[Principal, Depends(require("lms"))],
    uow: UnitOfWorkDep,
) -> CandidateOut:
    if not principal.has("lms"):  # the LMS that enrols a candidate is their tenant: an admin has none
        raise Problem(
            403,
            "Forbidden",
            "Only an LMS client enrols candidates: they belong to the LMS that enrolled them.",
            type="forbidden",
        )
    cmd = handlers.EnrolCandidate(lms_client=_lms_client(principal), **body.model_dump())
    candidate, created = handlers.enrol_candidate(cmd, uow=uow)
    if created:  # the journey's trace, whose id is the candidate's (certifia_shared.journey)
        journey.record_journey_start(candidate.id, attributes={"certifia.lms_client": cmd.lms_client})
    journey.mark_candidate(candidate.id)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/candidates/{candidate.id}"
    return CandidateOut.of(candidate)


@router.get("/candidates", response_model=list[CandidateOut])
def list_candidates(
    principal: Annotated[Principal, Depends(require("lms", "officer"))],
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip (at most 1,000,000)")] = 0,
) -> list[CandidateOut]:
    lms_client = None if principal.has("admin", "officer") else _lms_client(principal)
    rows = views.candidates(uow=uow, lms_client=lms_client, limit=limit, offset=offset)
    return [CandidateOut.of(c, staff=_staff(principal)) for c in rows]


@router.get("/candidates/{candidate_id}", response_model=CandidateOut)
def get_candidate(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require("lms", "candidate", "officer", "jury"))],
    uow: UnitOfWorkDep,
) -> CandidateOut:
    return CandidateOut.of(views.candidate(candidate_id, uow=uow), staff=_staff(principal))


@router.put("/candidates/{candidate_id}/option", response_model=CandidateOut)
def choose_option(
    candidate_id: VisibleCandidate,
    body: OptionRequest,
    principal: Annotated[Principal, Depends(require("lms", "candidate", "officer"))],
    uow: UnitOfWorkDep,
) -> CandidateOut:
    """Choose the option bloc (5A or 5B). Once the candidate holds a diploma, another option is refused
    (409 candidate-certified) until a certification officer revokes it."""
    cmd = handlers.ChooseOption(candidate_id=candidate_id, option=body.option)
    candidate, _changed = handlers.choose_option(cmd, uow=uow)
    return CandidateOut.of(candidate, staff=_staff(principal))


def _withdrawer_role(principal: Principal) -> WithdrawerRole:
    for role in ("admin", "officer", "lms"):
        if principal.has(role):
            return role  # type: ignore[return-value]
    return "candidate"


@router.post("/candidates/{candidate_id}/withdrawal", response_model=CandidateOut)
def withdraw(
    candidate_id: VisibleCandidate,
    body: WithdrawalRequest,
    principal: Annotated[Principal, Depends(require("lms", "candidate", "officer"))],
    uow: UnitOfWorkDep,
) -> CandidateOut:
    """The candidate leaves the certification (their own request, their LMS's or an officer's). What they
    acquired stays; assessment, thesis and certification stop taking anything new. A repeat returns the
    first withdrawal."""
    role = _withdrawer_role(principal)
    cmd = handlers.WithdrawCandidate(
        candidate_id=candidate_id,
        reason=body.reason,
        role=role,
        by=_lms_client(principal) if role == "lms" else principal.subject,
    )
    candidate, _changed = handlers.withdraw_candidate(cmd, uow=uow)
    return CandidateOut.of(candidate, staff=_staff(principal))
