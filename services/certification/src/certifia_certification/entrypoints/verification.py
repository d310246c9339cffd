"""Public endpoints (no token): the issuer's controller document (did:web) and keys, its revocation status
lists, and checking a diploma, as an employer does (``POST /credentials/verify``, VC API shaped;
``POST /verifications``, this service's older answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from certifia_certification.domain.credential import CredentialCheck, summary
from certifia_certification.domain.errors import UnknownDiploma
from certifia_certification.entrypoints.deps import IssuanceDep, UnitOfWorkDep
from certifia_certification.service_layer import views
from certifia_certification.service_layer.issuance import STATUS_LISTS_PATH
from certifia_certification.service_layer.verification import (
    check_credential,
    check_diploma,
    presented_id,
)
from certifia_shared.problems import not_found

router = APIRouter(tags=["verification"])


class PublicRevocationOut(BaseModel):
    revoked_at: datetime
    reason: str


class PublicSuspensionOut(BaseModel):
    suspended_at: datetime
    reason: str


class CheckOut(BaseModel):
    check: str
    """``credential type``, ``issuer``, ``proof``, ``validity period`` or ``status``."""
    passed: bool
    detail: str


class VerificationOut(BaseModel):
    valid: bool
    reason: str
    """Why not valid (bad signature, unknown key, ``revoked on <date>: <reason>``, ``suspended on <date>:
    <reason>``), or that it is."""
    diploma_id: str | None
    holder: str | None
    title: str | None
    issued_at: str | None
    issuer: str | None
    key_id: str | None
    revocation: PublicRevocationOut | None
    suspended: bool = False
    """Suspended now (an appeal, an investigation): not valid until the suspension is lifted."""
    suspension: PublicSuspensionOut | None = None
    """Since when and why, from this issuer's records (None when only the status list says so)."""
    checks: list[CheckOut] = []
    """Every check run, in order (the last one failed when not valid)."""


class VerifyCredentialIn(BaseModel):
    verifiableCredential: dict[str, Any]
    options: dict[str, Any] = Field(default_factory=dict)
    """Accepted and ignored (VC API): the checks are always all of them."""


class VerificationErrorOut(BaseModel):
    check: str
    detail: str


class VerifyCredentialOut(BaseModel):
    """The VC API's verification result."""

    verified: bool
    checks: list[str]
    """The checks run, in order: ``credential type``, ``issuer``, ``proof``, ``validity period``, ``status``
    (a check not run because an earlier one failed is not listed)."""
    warnings: list[str]
    errors: list[VerificationErrorOut]


@router.get("/.well-known/did.json")
def did_document(uow: UnitOfWorkDep, issuance: IssuanceDep) -> dict[str, Any]:
    """Public: the issuer's controller document (``did:web``): every key it ever signed with, as a Multikey
    for ``assertionMethod`` (a rotation keeps old credentials verifying)."""
    return views.did_document(uow=uow, issuance=issuance)


@router.get("/did.json", include_in_schema=False)
def did_document_at_path(uow: UnitOfWorkDep, issuance: IssuanceDep) -> dict[str, Any]:
    """The same, where a did:web with a path resolves (``did:web:<host>:<path>`` -> ``/<path>/did.json``)."""
    return views.did_document(uow=uow, issuance=issuance)


@router.get("/.well-known/jwks.json")
def jwks(uow: UnitOfWorkDep) -> dict[str, list[dict[str, str]]]:
    return views.jwks(uow=uow)


@router.get(f"/{STATUS_LISTS_PATH}/{{list_id}}")
def status_list(list_id: str, uow: UnitOfWorkDep, issuance: IssuanceDep) -> dict[str, Any]:
    """Public: the signed ``BitstringStatusListCredential`` (purpose ``revocation`` or ``suspension``) that
    diplomas' and bloc certificates' ``credentialStatus`` entries point at, as of now."""
    credential = views.status_list(list_id, uow=uow, issuance=issuance)
    if credential is None:
        raise not_found("Status list", list_id, "list_id")
    return credential


def verification_out(
    credential: dict[str, Any], result: CredentialCheck, diploma_id: str | None
) -> VerificationOut:
    stated = summary(credential)
    revocation, suspension = result.revocation, result.suspension
    return VerificationOut(
        valid=result.valid,
        reason=result.reason,
        diploma_id=diploma_id,
        holder=stated.holder,
        title=stated.title,
        issued_at=stated.valid_from,
        issuer=stated.issuer_name,
        key_id=result.kid,
        revocation=PublicRevocationOut(revoked_at=revocation.revoked_at, reason=revocation.reason)
        if revocation
        else None,
        suspended=result.failure == "suspended",
        suspension=PublicSuspensionOut(suspended_at=suspension.suspended_at, reason=suspension.reason)
        if suspension
        else None,
        checks=[CheckOut(check=c.name, passed=c.passed, detail=c.detail) for c in result.checks],
    )


@router.get("/diplomas/{diploma_id}/verification", response_model=VerificationOut)
def verify_diploma(diploma_id: str, uow: UnitOfWorkDep, issuance: IssuanceDep) -> VerificationOut:
    """Public: is the diploma this service issued intact, signed by it and not revoked? Who holds it?"""
    checked = check_diploma(diploma_id, uow=uow, issuance=issuance)
    if checked is None:
        raise UnknownDiploma(diploma_id)
    return verification_out(checked.diploma.credential, checked.check, diploma_id)


@router.post("/verifications", response_model=VerificationOut)
def verify_presented(
    uow: UnitOfWorkDep, issuance: IssuanceDep, credential: dict[str, Any] = Body(...)
) -> VerificationOut:
    """Public: check a credential as presented by its holder (the JSON of ``GET /diplomas/{id}``): its
    signature, then whether it was revoked (this service's records and the status list it names)."""
    diploma_id = presented_id(credential)
    result = check_credential(credential, uow=uow, issuance=issuance, diploma_id=diploma_id)
    return verification_out(credential, result, diploma_id)


@router.post("/credentials/verify", response_model=VerifyCredentialOut)
def verify_credential(
    body: VerifyCredentialIn, uow: UnitOfWorkDep, issuance: IssuanceDep
) -> VerifyCredentialOut:
    """Public (VC API ``/credentials/verify``): is this one of this issuer's diplomas or bloc certificates,
    secured by a valid ``eddsa-rdfc-2022`` proof of a key in its controller document, within its validity
    period, not revoked and not suspended (the ``status`` error says since when and why)? Each check is
    reported."""
    credential = body.verifiableCredential
    diploma_id = presented_id(credential)
    result = check_credential(credential, uow=uow, issuance=issuance, diploma_id=diploma_id)
    return VerifyCredentialOut(
        verified=result.valid,
        checks=[c.name for c in result.checks],
        warnings=[],
        errors=[VerificationErrorOut(check=c.name, detail=c.detail) for c in result.checks if not c.passed],
    )
