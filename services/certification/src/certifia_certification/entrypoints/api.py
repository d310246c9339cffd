"""REST API: a candidate's progress and their diploma (thin: read the projection, shape the answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from certifia_certification.adapters.repository import ProgressRepository
from certifia_certification.domain.model import CandidateProgress, Diploma
from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.rule import bloc_order, evaluate
from certifia_certification.entrypoints.deps import IssuerDep
from certifia_certification.service_layer.handlers import Issuer
from certifia_shared.auth import Principal, require
from certifia_shared.db import UnitOfWork
from certifia_shared.deps import UnitOfWorkDep
from certifia_shared.problems import Problem, not_found
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


def _progress(uow: UnitOfWork, candidate_id: str) -> CandidateProgress:
    with uow:
        progress = ProgressRepository(uow.session).get(candidate_id)
    if progress is None:
        raise not_found("Candidate", candidate_id, "candidate_id")
    return progress


def progress_out(progress: CandidateProgress, issuer: Issuer) -> ProgressOut:
    rule = issuer.referential.rule
    result = evaluate(rule, progress)
    order = {b: i for i, b in enumerate(bloc_order(rule))}
    e, t = progress.enrolment, progress.thesis
    passes = sorted(progress.blocs.values(), key=lambda p: order.get(p.bloc, len(order)))
    return ProgressOut(
        candidate_id=progress.candidate_id,
        enrolled=e is not None,
        given_name=e.given_name if e else None,
        family_name=e.family_name if e else None,
        path=e.path if e else None,
        option=progress.option,
        blocs_passed=[p.bloc for p in passes],
        blocs=[BlocOut(bloc=p.bloc, via=p.via, passed_at=p.passed_at, earned_at=p.earned_at) for p in passes],
        certificates=[
            CertificateOut(certificate_id=c.certificate_id, bloc=c.bloc, issued_at=c.issued_at)
            for c in sorted(progress.certificates.values(), key=lambda c: order.get(c.bloc, len(order)))
        ],
        thesis=ThesisOut(
            required=result.thesis_required,
            status=t.outcome if t else "not_defended",
            defence_id=t.defence_id if t else None,
            defended_at=t.defended_at if t else None,
        ),
        missing=[MissingOut(code=m.code, description=m.description) for m in result.missing],
        diploma_id=progress.diploma.diploma_id if progress.diploma else None,
    )


def diploma_out(diploma: Diploma, issuer: Issuer, principal: Principal) -> DiplomaOut:
    r = diploma.revocation
    return DiplomaOut(
        diploma_id=diploma.diploma_id,
        candidate_id=diploma.candidate_id,
        path=diploma.path,
        option=diploma.option,
        blocs=list(diploma.blocs),
        thesis_defence_id=diploma.thesis_defence_id,
        issued_at=diploma.issued_at,
        verification_url=issuer.verification_url(diploma.diploma_id),
        verification_page_url=issuer.verification_page_url(diploma.diploma_id),
        pdf_url=issuer.pdf_url(diploma.diploma_id),
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
    issuer: IssuerDep,
) -> ProgressOut:
    return progress_out(_progress(uow, candidate_id), issuer)


@router.get("/candidates/{candidate_id}/diploma", response_model=DiplomaOut)
def get_candidate_diploma(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require(*READERS))],
    uow: UnitOfWorkDep,
    issuer: IssuerDep,
) -> DiplomaOut:
    progress = _progress(uow, candidate_id)
    if progress.diploma is None:
        raise Problem(
            404,
            "Diploma not found",
            f"Candidate {candidate_id!r} has no diploma (yet): see /candidates/{candidate_id}/progress.",
            type="not-found",
            field="candidate_id",
        )
    return diploma_out(progress.diploma, issuer, principal)


@router.get("/diplomas/{diploma_id}", response_model=DiplomaOut)
def get_diploma(
    diploma_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("officer", "candidate"))],
    uow: UnitOfWorkDep,
    issuer: IssuerDep,
) -> DiplomaOut:
    with uow:
        diploma = ProgressRepository(uow.session).diploma(diploma_id)
    hidden = not_found("Diploma", diploma_id, "diploma_id")  # another candidate's: not disclosed
    if diploma is None:
        raise hidden
    ensure_visible(request, principal, diploma.candidate_id, hidden_as=hidden)
    return diploma_out(diploma, issuer, principal)
