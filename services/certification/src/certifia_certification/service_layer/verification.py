"""What the public endpoints compute: a credential's check (signature, then revocation) and the signed
revocation status lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from certifia_certification.adapters.keystore import public_keys
from certifia_certification.adapters.repository import ProgressRepository, StatusListRepository
from certifia_certification.domain.credential import CredentialCheck, issuer_profile, sign, verify
from certifia_certification.domain.model import Diploma
from certifia_certification.domain.status_list import (
    Bitstring,
    StatusListError,
    revocation_entries,
    status_bit,
    status_list_credential,
)
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
    unsigned = status_list_credential(
        url=url, issuer=issuer_profile(issuer.base_url), bits=bits, valid_from=now
    )
    key = issuer.keys.active()
    return sign(unsigned, key, verification_method=issuer.verification_method(), created=now)


def check_credential(
    credential: dict[str, Any], *, uow: UnitOfWork, issuer: Issuer, diploma_id: str | None
) -> CredentialCheck:
    """Signature first (a tampered credential fails as such); then revocation, from this service's records
    (every diploma, including those issued before status lists) and from the status list the credential
    names, read back from the list as published."""
    with uow:
        signature = verify(credential, public_keys(uow.session).get)
        if not signature.valid:
            return CredentialCheck(False, signature.reason, signature.kid, failure=signature.failure)
        diploma = ProgressRepository(uow.session).diploma(diploma_id) if diploma_id else None
        if diploma is not None and diploma.revocation is not None:
            revocation = diploma.revocation
            return CredentialCheck(False, revocation.statement(), signature.kid, revocation, "revoked")
        try:
            listed = _revoked_in_status_list(credential, session=uow.session, issuer=issuer)
        except StatusListError as exc:
            reason = f"the revocation status cannot be checked: {exc}"
            return CredentialCheck(False, reason, signature.kid, failure="status_unchecked")
        if listed:
            return CredentialCheck(
                False, "revoked: its status list entry is set", signature.kid, failure="revoked"
            )
        return CredentialCheck(True, signature.reason, signature.kid)


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
