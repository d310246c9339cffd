"""What the certification routers take besides the shared dependencies (certifia_shared.deps, .tenancy)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from certifia_certification.service_layer.handlers import Issuer


def issuer_of(request: Request) -> Issuer:
    issuer: Issuer = request.app.state.issuer
    return issuer


IssuerDep = Annotated[Issuer, Depends(issuer_of)]
