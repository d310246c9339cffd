"""What the public endpoints compute: a credential's check (kind, issuer, proof against the issuer's
controller document, validity period, then revocation) and the signed revocation status lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from certifia_certification.adapters.keystore import public_keys
from certifia_certification.adapters.repository import ProgressRepository, StatusListRepository
from certifia_certification.domain.controller import assertion_keys
from certifia_certification.domain.controller import controller_document as did_document
from certifia_certification.domain.credential import ISSUER_NAME, Check, CredentialCheck, sign
from certifia_certification.domain.model import Diploma
from certifia_certification.domain.status_list import (
    Bitstring,
    StatusListError,
    revocation_entries,
    status_bit,
    status_list_credential,
)
from certifia_certification.domain.verifier import check_issued_credential
from certifia_certification.service_layer.handlers import Issuer
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class DiplomaCheck:
    """A stored diploma and its check: the one result its JSON verification, its verification page and its
    PDF all show."""

    diploma: Diploma
    check: CredentialCheck


def published_status_list(
    list_id: str, *, session: Session, issuer: Issuer, now: datetime
) -> dict[str, Any] | None:
    """The signed ``BitstringStatusListCredential`` of one list as of ``now``; None for an unknown list."""
    lists = StatusListRepository(session)
    size = lists.size(list_id)
    if size is None:
        return None
    bits = Bitstring(size)
    for index in lists.revoked_indexes(list_id):
        bits.set(index)
    url = issuer.status_list_url(list_id)
    # the issuer as VC 2.0's own context defines it (OB's Profile is not a term there: JSON-LD safe mode)
    unsigned = status_list_credential(
        url=url, issuer={"id": issuer.did, "name": ISSUER_NAME}, bits=bits, valid_from=now
    )
    key = issuer.keys.active()
    return sign(unsigned, key, verification_method=issuer.verification_method(), created=now)


def controller_document(session: Session, issuer: Issuer) -> dict[str, Any]:
    """The issuer's DID document: every public key it ever signed with, as Multikeys for assertionMethod."""
    return did_document(issuer.did, public_keys(session))


def check_credential(
    credential: dict[str, Any], *, uow: UnitOfWork, issuer: Issuer, diploma_id: str | None
) -> CredentialCheck:
    """Kind, issuer, proof (a tampered credential fails as such) and validity period first; then revocation,
    from this service's records (every diploma, including those issued before status lists) and from the
    status list the credential names, read back from the list as published."""
    with uow:
        resolve = assertion_keys(controller_document(uow.session, issuer)).get
        outcome = check_issued_credential(credential, issuer_did=issuer.did, resolve=resolve, now=utcnow())
        kid, checks = outcome.kid, outcome.checks
        if outcome.failure is not None:
            return CredentialCheck(False, outcome.reason, kid, failure=outcome.failure, checks=checks)
        diploma = ProgressRepository(uow.session).diploma(diploma_id) if diploma_id else None
        if diploma is not None and diploma.revocation is not None:
            revocation = diploma.revocation
            reason = revocation.statement()
            failed = (*checks, Check("status", False, reason))
            return CredentialCheck(False, reason, kid, revocation, "revoked", failed)
        try:
            listed = _revoked_in_status_list(credential, session=uow.session, issuer=issuer)
        except StatusListError as exc:
            reason = f"the revocation status cannot be checked: {exc}"
            failed = (*checks, Check("status", False, reason))
            return CredentialCheck(False, reason, kid, failure="status_unchecked", checks=failed)
        if listed:
            reason = "revoked: its status list entry is set"
            failed = (*checks, Check("status", False, reason))
            return CredentialCheck(False, reason, kid, failure="revoked", checks=failed)
        passed = (*checks, Check("status", True, "not revoked"))
        return CredentialCheck(True, outcome.reason, kid, checks=passed)


def check_diploma(diploma_id: str, *, uow: UnitOfWork, issuer: Issuer) -> DiplomaCheck | None:
    """The stored diploma checked as presented (its signed credential, as stored); None when unknown."""
    with uow:
        diploma = ProgressRepository(uow.session).diploma(diploma_id)
    if diploma is None:
        return None
    check = check_credential(diploma.credential, uow=uow, issuer=issuer, diploma_id=diploma_id)
    return DiplomaCheck(diploma, check)


def _revoked_in_status_list(credential: dict[str, Any], *, session: Session, issuer: Issuer) -> bool:
    now = utcnow()
    for entry in revocation_entries(credential):
        list_id = issuer.status_list_id(entry.list_url)
        published = (
            published_status_list(list_id, session=session, issuer=issuer, now=now) if list_id else None
        )
        if published is None:
            raise StatusListError(f"{entry.list_url} is not a status list of this issuer")
        if status_bit(published, entry.index):
            return True
    return False
