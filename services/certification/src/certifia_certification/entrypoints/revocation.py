"""Certification officers revoke diplomas (thin: validate the request, call the use case, shape the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from certifia_certification.domain.revocation import REASON_MAX_LENGTH, RevokerRole
from certifia_certification.entrypoints.api import RevocationOut
from certifia_certification.service_layer.revocation import RevokeDiploma, revoke_diploma
from certifia_shared.auth import Principal, require
from certifia_shared.deps import UnitOfWorkDep
from certifia_shared.hygiene import one_line

router = APIRouter(tags=["certification"])

Reason = Annotated[str, one_line(REASON_MAX_LENGTH)]
"""One line: it is shown after "revoked on <date>:" in every verification and on the PDF's stamp."""


class RevocationIn(BaseModel):
    reason: Reason
    """Why the diploma is revoked; public: verification shows it to whoever checks the diploma."""


class DiplomaRevocationOut(RevocationOut):
    diploma_id: str
    candidate_id: str


@router.post("/diplomas/{diploma_id}/revocation", response_model=DiplomaRevocationOut)
def revoke(
    diploma_id: str,
    body: RevocationIn,
    principal: Annotated[Principal, Depends(require("officer"))],
    uow: UnitOfWorkDep,
) -> DiplomaRevocationOut:
    """Revoke a diploma: from now on its verification reports it revoked (when and why), its status list
    entry is set, and ``diploma.revoked`` is emitted. Revoking a revoked diploma changes nothing and
    answers with the revocation in force."""
    role: RevokerRole = "officer" if principal.has("officer") else "admin"
    cmd = RevokeDiploma(diploma_id, body.reason, revoked_by=principal.subject, revoked_by_role=role)
    diploma, _new = revoke_diploma(cmd, uow=uow)
    assert diploma.revocation is not None
    shown = RevocationOut.of(diploma.revocation, staff=True)
    return DiplomaRevocationOut(
        diploma_id=diploma.diploma_id, candidate_id=diploma.candidate_id, **shown.model_dump()
    )
