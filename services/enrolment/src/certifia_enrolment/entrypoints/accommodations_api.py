"""REST API for a disabled candidate's accommodations (décret 2021-389): granted by an officer, read by the
candidate, their LMS and staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from certifia_enrolment.domain.accommodations import (
    ADAPTED_FORMATS,
    MAX_FACTOR,
    MIN_FACTOR,
    Accommodation,
    AdaptedFormat,
    GranterRole,
)
from certifia_enrolment.entrypoints.deps import UnitOfWorkDep
from certifia_enrolment.service_layer import accommodations as service
from certifia_enrolment.service_layer import views
from certifia_shared.auth import Principal, principal_from_request, require
from certifia_shared.hygiene import free_text, one_line
from certifia_shared.problems import Problem
from certifia_shared.tenancy import VisibleCandidate

router = APIRouter(tags=["accommodations"])


def officer(request: Request) -> Principal:
    """Only a certification officer (or an admin) grants accommodations: the candidate and their LMS ask the
    certification body, which keeps the evidence."""
    principal = principal_from_request(request)
    if not principal.has("officer", "admin"):
        raise Problem(
            403,
            "Forbidden",
            "This action needs one of the roles: admin, officer. Accommodations are granted by a "
            "certification officer, on the evidence the certification body keeps (e.g. the MDPH notice): the "
            "candidate or their LMS asks an officer to grant them.",
            type="forbidden",
        )
    return principal


def _a_reference(value: str) -> str:
    if value.lower().startswith("data:"):
        raise ValueError(
            "give the reference of the evidence (e.g. the MDPH notice number), never the document itself"
        )
    return value


def _each_once(formats: list[AdaptedFormat]) -> list[AdaptedFormat]:
    return list(dict.fromkeys(formats))


class AccommodationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extra_time_factor: Annotated[
        float, Field(ge=MIN_FACTOR, le=MAX_FACTOR, allow_inf_nan=False, strict=True)
    ] = Field(description="multiplies every time limit (1.0: none; 1.33: a third more time), 1.0 to 3.0")
    adapted_formats: Annotated[list[AdaptedFormat], AfterValidator(_each_once)] = Field(
        default_factory=list,
        max_length=len(ADAPTED_FORMATS),
        description="adapted formats of the assessments (each once)",
    )
    adapted_defence: Annotated[str, free_text(1000, min_length=1)] | None = Field(
        default=None, description="how the defence is adapted (for the jury), or null"
    )
    evidence_reference: Annotated[str, one_line(500), AfterValidator(_a_reference)] = Field(
        description="the reference of the supporting evidence (e.g. the MDPH notice), never the document"
    )
    reason: Annotated[str, free_text(2000, min_length=1)]


class AccommodationOut(BaseModel):
    id: str
    candidate_id: str
    extra_time_factor: float
    adapted_formats: list[AdaptedFormat]
    adapted_defence: str | None
    evidence_reference: str
    reason: str
    granted_by: str
    granted_by_role: GranterRole
    granted_at: datetime
    in_force: bool = Field(description="the latest grant is in force; a new grant replaces it")
    superseded_at: datetime | None

    @classmethod
    def of(cls, a: Accommodation) -> AccommodationOut:
        return cls(
            id=a.id,
            candidate_id=a.candidate_id,
            extra_time_factor=a.extra_time_factor,
            adapted_formats=list(a.adapted_formats),
            adapted_defence=a.adapted_defence,
            evidence_reference=a.evidence_reference,
            reason=a.reason,
            granted_by=a.granted_by,
            granted_by_role=a.granted_by_role,
            granted_at=a.granted_at,
            in_force=a.in_force,
            superseded_at=a.superseded_at,
        )


@router.post("/candidates/{candidate_id}/accommodations", status_code=201, response_model=AccommodationOut)
def grant_accommodation(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(officer)],
    body: AccommodationRequest,
    response: Response,
    uow: UnitOfWorkDep,
) -> AccommodationOut:
    """Grant accommodations; they replace those in force (the earlier grants stay in the history).
    extra_time_factor 1.0 with no format and no adapted defence takes them away."""
    cmd = service.GrantAccommodation(
        candidate_id=candidate_id,
        extra_time_factor=body.extra_time_factor,
        adapted_formats=body.adapted_formats,
        adapted_defence=body.adapted_defence,
        evidence_reference=body.evidence_reference,
        reason=body.reason,
        granted_by=principal.subject,
        granted_by_role="admin" if principal.has("admin") else "officer",
    )
    accommodation = service.grant_accommodation(cmd, uow=uow)
    response.headers["Location"] = f"/candidates/{candidate_id}/accommodations"
    return AccommodationOut.of(accommodation)


@router.get("/candidates/{candidate_id}/accommodations", response_model=list[AccommodationOut])
def list_accommodations(
    candidate_id: VisibleCandidate,
    _: Annotated[Principal, Depends(require("lms", "candidate", "officer", "jury"))],
    uow: UnitOfWorkDep,
) -> list[AccommodationOut]:
    """Every grant for the candidate, the one in force first (empty: none was ever granted)."""
    return [AccommodationOut.of(a) for a in views.accommodation_history(candidate_id, uow=uow)]
