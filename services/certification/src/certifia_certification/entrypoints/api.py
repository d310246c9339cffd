"""REST API: a candidate's progress and their diploma (thin: read the view, shape the answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from certifia_certification.domain.errors import UnknownDiploma
from certifia_certification.domain.model import Diploma
from certifia_certification.domain.revocation import Revocation
from certifia_certification.entrypoints.deps import IssuanceDep, UnitOfWorkDep
from certifia_certification.entrypoints.errors import unknown_diploma
from certifia_certification.service_layer import views
from certifia_certification.service_layer.issuance import CredentialIssuance
from certifia_certification.service_layer.views import ProgressView
from certifia_shared.auth import Principal, require
from certifia_shared.tenancy import VisibleCandidate, ensure_visible

router = APIRouter(tags=["certification"])


class BlocOut(BaseModel):
    bloc: str
    via: str
    passed_at: datetime
    earned_at: datetime | None = None
    """When the rights behind the pass were earned (what a withdrawal is judged against); None: not sent."""


class CertificateOut(BaseModel):
    certificate_id: str
    bloc: str
    issued_at: datetime


class ThesisOut(BaseModel):
    required: bool
    status: str  # not_defended | passed | failed
    defence_id: str | None
    defended_at: datetime | None


class MissingOut(BaseModel):
    code: str
    description: str


class ProgressOut(BaseModel):
    candidate_id: str
    enrolled: bool
    given_name: str | None
    family_name: str | None
    path: str | None
    option: str | None
    blocs_passed: list[str]
    """Codes of the passed blocs, in the referential's order (details in ``blocs``)."""
    blocs: list[BlocOut]
    certificates: list[CertificateOut]
    thesis: ThesisOut
    missing: list[MissingOut]
    diploma_id: str | None


class RevocationOut(BaseModel):
    revoked_at: datetime
    reason: str
    revoked_by: str | None
    """The subject of the officer's token: shown to officers and admins only."""
    revoked_by_role: str

    @classmethod
    def of(cls, r: Revocation, *, staff: bool) -> RevocationOut:
        return cls(
            revoked_at=r.revoked_at,
            reason=r.reason,
            revoked_by=r.revoked_by if staff else None,
            revoked_by_role=r.revoked_by_role,
        )


class DiplomaOut(BaseModel):
    diploma_id: str
    candidate_id: str
    path: str
    option: str | None
    blocs: list[str]
    thesis_defence_id: str | None
    issued_at: datetime
    verification_url: str
    verification_page_url: str
    """The public verification page (HTML, in French) for people, e.g. an employer."""
    pdf_url: str
    """The diploma as a PDF (the holder, officers, admins and LMS clients may download it)."""
    credential: dict[str, Any]
    revoked: bool
    revocation: RevocationOut | None
    suspended: bool = False
    """Suspended now (an appeal, an investigation): see ``GET /diplomas/{id}/suspension`` for the history."""
    suspended_since: datetime | None = None
    suspension_reason: str | None = None


def progress_out(view: ProgressView) -> ProgressOut:
    return ProgressOut.model_validate(view, from_attributes=True)


def diploma_out(diploma: Diploma, issuance: CredentialIssuance, principal: Principal) -> DiplomaOut:
    r = diploma.revocation
    return DiplomaOut(
        diploma_id=diploma.diploma_id,
        candidate_id=diploma.candidate_id,
        path=diploma.path,
        option=diploma.option,
        blocs=list(diploma.blocs),
        thesis_defence_id=diploma.thesis_defence_id,
        issued_at=diploma.issued_at,
        verification_url=issuance.verification_url(diploma.diploma_id),
        verification_page_url=issuance.verification_page_url(diploma.diploma_id),
        pdf_url=issuance.pdf_url(diploma.diploma_id),
        credential=diploma.credential,
        revoked=r is not None,
        revocation=RevocationOut.of(r, staff=principal.has("admin", "officer")) if r else None,
        suspended=diploma.suspension is not None,
        suspended_since=diploma.suspension.suspended_at if diploma.suspension else None,
        suspension_reason=diploma.suspension.reason if diploma.suspension else None,
    )


READERS = ("candidate", "lms", "jury", "officer", "service")


@router.get("/candidates/{candidate_id}/progress", response_model=ProgressOut)
def get_progress(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require(*READERS))],
    uow: UnitOfWorkDep,
    issuance: IssuanceDep,
) -> ProgressOut:
    return progress_out(views.candidate_progress(candidate_id, uow=uow, issuance=issuance))


@router.get("/candidates/{candidate_id}/diploma", response_model=DiplomaOut)
def get_candidate_diploma(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require(*READERS))],
    uow: UnitOfWorkDep,
    issuance: IssuanceDep,
) -> DiplomaOut:
    return diploma_out(views.candidate_diploma(candidate_id, uow=uow), issuance, principal)


@router.get("/diplomas/{diploma_id}", response_model=DiplomaOut)
def get_diploma(
    diploma_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("officer", "candidate"))],
    uow: UnitOfWorkDep,
    issuance: IssuanceDep,
) -> DiplomaOut:
    diploma = views.diploma(diploma_id, uow=uow)
    hidden = unknown_diploma(UnknownDiploma(diploma_id))  # another candidate's: not disclosed
    ensure_visible(request, principal, diploma.candidate_id, hidden_as=hidden)
    return diploma_out(diploma, issuance, principal)
