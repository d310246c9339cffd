"""What the certification routers take besides the shared dependencies (certifia_shared.deps, .tenancy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from certifia_certification.domain.revocation import RevokerRole
from certifia_certification.service_layer.issuance import CredentialIssuance
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared.auth import Principal, require
from certifia_shared.deps import unit_of_work


async def issuance_of(request: Request) -> CredentialIssuance:
    """What bootstrap wired for issuing and checking credentials (``CertificationContext.issuance``)."""
    issuance: CredentialIssuance = request.app.state.ctx.issuance
    return issuance


IssuanceDep = Annotated[CredentialIssuance, Depends(issuance_of)]
UnitOfWorkDep = Annotated[CertificationUnitOfWork, Depends(unit_of_work)]


@dataclass(frozen=True)
class Decider:
    """Who takes an officer's decision (revoke, suspend, lift): the token's subject, recorded as who decided,
    and the role it is taken in (``officer``; ``admin`` for an admin who is not also an officer)."""

    subject: str
    role: RevokerRole


def decider(principal: Annotated[Principal, Depends(require("officer"))]) -> Decider:
    """Officers (and admins, always): who decides, for the command."""
    return Decider(principal.subject, "officer" if principal.has("officer") else "admin")


DeciderDep = Annotated[Decider, Depends(decider)]
