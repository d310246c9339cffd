"""Certification officers revoke diplomas and bloc certificates (thin: validate the request, call the use case,
shape the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from certifia_certification.domain.revocation import REASON_MAX_LENGTH
from certifia_certification.entrypoints.api import RevocationOut
from certifia_certification.entrypoints.deps import DeciderDep, UnitOfWorkDep
from certifia_certification.service_layer.revocation import (
    RevokeBlocCertificate,
    RevokeDiploma,
    revoke_bloc_certificate,
    revoke_diploma_and_blocs,
)
from certifia_shared.hygiene import one_line

router = APIRouter(tags=["certification"])

Reason = Annotated[str, one_line(REASON_MAX_LENGTH)]
"""One line: it is shown after "revoked on <date>:" in every verification and on the PDF's stamp."""


class RevocationIn(BaseModel):
    reason: Reason
    """Why the diploma is revoked; public: verification shows it to whoever checks the diploma."""


class DiplomaRevocationIn(RevocationIn):
    include_bloc_certificates: bool = False
    """Revoke the candidate's bloc certificates too (e.g. fraud in the assessments). By default they stay
    valid: an RNCP bloc is certified on its own, so a diploma revoked for a reason that does not touch the
    blocs passed (e.g. a plagiarised thesis) leaves them certified; each can be revoked on its own too
    (``POST /bloc-certificates/{id}/revocation``)."""


class DiplomaRevocationOut(RevocationOut):
    diploma_id: str
    candidate_id: str
    revoked_bloc_certificates: list[str] = Field(default_factory=list)
    """The bloc certificates this request revoked with the diploma (``include_bloc_certificates``)."""


class BlocCertificateRevocationOut(RevocationOut):
    certificate_id: str
    candidate_id: str
    bloc: str


@router.post("/diplomas/{diploma_id}/revocation", response_model=DiplomaRevocationOut)
def revoke(
    diploma_id: str,
    body: DiplomaRevocationIn,
    decider: DeciderDep,
    uow: UnitOfWorkDep,
) -> DiplomaRevocationOut:
    """Revoke a diploma: from now on its verification reports it revoked (when and why), its status list
    entry is set, and ``diploma.revoked`` is emitted. Revoking a revoked diploma changes nothing and
    answers with the revocation in force. With ``include_bloc_certificates``, the candidate's bloc
    certificates not yet revoked are revoked too, each with its ``bloc_certificate.revoked``."""
    cmd = RevokeDiploma(
        diploma_id,
        body.reason,
        revoked_by=decider.subject,
        revoked_by_role=decider.role,
        include_bloc_certificates=body.include_bloc_certificates,
    )
    result = revoke_diploma_and_blocs(cmd, uow=uow)
    diploma = result.diploma
    assert diploma.revocation is not None
    shown = RevocationOut.of(diploma.revocation, staff=True)
    return DiplomaRevocationOut(
        diploma_id=diploma.diploma_id,
        candidate_id=diploma.candidate_id,
        revoked_bloc_certificates=[c.certificate_id for c in result.bloc_certificates],
        **shown.model_dump(),
    )


@router.post("/bloc-certificates/{certificate_id}/revocation", response_model=BlocCertificateRevocationOut)
def revoke_certificate(
    certificate_id: str,
    body: RevocationIn,
    decider: DeciderDep,
    uow: UnitOfWorkDep,
) -> BlocCertificateRevocationOut:
    """Revoke a bloc certificate: its verification reports it revoked, its entry in the revocation status
    list is set, and ``bloc_certificate.revoked`` is emitted. Revoking it again changes nothing and answers
    with the revocation in force. The diploma, if any, is not revoked by this: revoke it on its own."""
    cmd = RevokeBlocCertificate(
        certificate_id, body.reason, revoked_by=decider.subject, revoked_by_role=decider.role
    )
    certificate, _new = revoke_bloc_certificate(cmd, uow=uow)
    assert certificate.revocation is not None
    shown = RevocationOut.of(certificate.revocation, staff=True)
    return BlocCertificateRevocationOut(
        certificate_id=certificate.certificate_id,
        candidate_id=certificate.candidate_id,
        bloc=certificate.bloc,
        **shown.model_dump(),
    )
