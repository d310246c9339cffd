"""Public endpoints (no token): the issuer's keys, and checking a diploma, as an employer does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel

from certifia_certification.adapters.keystore import public_keys
from certifia_certification.adapters.repository import ProgressRepository
from certifia_certification.domain.credential import holder_name, verify
from certifia_certification.domain.signing import jwk
from certifia_shared.problems import not_found

router = APIRouter(tags=["verification"])


class VerificationOut(BaseModel):
    valid: bool
    reason: str
    diploma_id: str | None
    holder: str | None
    title: str | None
    issued_at: str | None
    issuer: str | None
    key_id: str | None


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, list[dict[str, str]]]:
    with request.app.state.ctx.uow() as uow:
        keys = public_keys(uow.session)
    return {"keys": [jwk(k) for k in keys.values()]}


def _check(request: Request, credential: dict[str, Any], diploma_id: str | None) -> VerificationOut:
    with request.app.state.ctx.uow() as uow:
        keys = public_keys(uow.session)
    result = verify(credential, keys.get)
    subject = credential.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {} if isinstance(subject, dict) else {}
    issuer = credential.get("issuer")
    return VerificationOut(
        valid=result.valid,
        reason=result.reason,
        diploma_id=diploma_id,
        holder=holder_name(credential),
        title=achievement.get("name") if isinstance(achievement, dict) else None,
        issued_at=credential.get("validFrom"),
        issuer=issuer.get("name") if isinstance(issuer, dict) else None,
        key_id=result.kid,
    )


@router.get("/diplomas/{diploma_id}/verification", response_model=VerificationOut)
def verify_diploma(diploma_id: str, request: Request) -> VerificationOut:
    """Public: is the diploma this service issued intact and signed by it? Who holds it, since when?"""
    with request.app.state.ctx.uow() as uow:
        diploma = ProgressRepository(uow.session).diploma(diploma_id)
    if diploma is None:
        raise not_found("Diploma", diploma_id, "diploma_id")
    return _check(request, diploma.credential, diploma_id)


@router.post("/verifications", response_model=VerificationOut)
def verify_presented(request: Request, credential: dict[str, Any] = Body(...)) -> VerificationOut:
    """Public: check a credential as presented by its holder (the JSON of ``GET /diplomas/{id}``)."""
    cred_id = str(credential.get("id", ""))
    return _check(request, credential, cred_id.removeprefix("urn:uuid:") or None)
