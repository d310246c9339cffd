"""What the public endpoints compute: a credential's check (kind, issuer, proof against the issuer's
controller document, validity period, then revocation and suspension) and the signed status lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certifia_certification.domain.controller import assertion_keys
from certifia_certification.domain.controller import controller_document as did_document
from certifia_certification.domain.credential import Check, CredentialCheck, Failure, sign
from certifia_certification.domain.model import Diploma
from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.status_list import (
    PURPOSE,
    SUSPENSION,
    Bitstring,
    StatusListError,
    status_bit,
    status_list_credential,
    status_references,
)
from certifia_certification.domain.suspension import Suspension
from certifia_certification.domain.verifier import check_issued_credential
from certifia_certification.service_layer.issuance import CredentialIssuance
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class DiplomaCheck:
    """A stored diploma and its check: the one result its JSON verification, its verification page and its
    PDF all show."""

    diploma: Diploma
    check: CredentialCheck


def published_status_list(
    list_id: str, *, uow: CertificationUnitOfWork, issuance: CredentialIssuance, now: datetime
) -> dict[str, Any] | None:
    """The signed ``BitstringStatusListCredential`` of one list as of ``now`` (revocation: the revoked
    entries; suspension: those suspended now); None for an unknown list. In the open unit of work."""
    lists = uow.status_lists
    size, purpose = lists.size(list_id), lists.purpose(list_id)
    if size is None or purpose is None:
        return None
    bits = Bitstring(size)
    set_ = lists.suspended_indexes if purpose == SUSPENSION else lists.revoked_indexes
    for index in set_(list_id):
        bits.set(index)
    url = issuance.status_list_url(list_id)
    # the issuer as VC 2.0's own context defines it (OB's Profile is not a term there: JSON-LD safe mode)
    unsigned = status_list_credential(
        url=url,
        issuer={"id": issuance.did, "name": issuance.data.certifier.name},
        bits=bits,
        valid_from=now,
        purpose=purpose,
    )
    key = issuance.keys.active()
    return sign(unsigned, key, verification_method=issuance.verification_method(), created=now)


def controller_document(uow: CertificationUnitOfWork, issuance: CredentialIssuance) -> dict[str, Any]:
    """The issuer's DID document: every public key it ever signed with, as Multikeys for assertionMethod. In
    the open unit of work."""
    return did_document(issuance.did, uow.keys.public_keys())


@dataclass(frozen=True)
class _Records:
    """What this service's records say of a credential it issued (a diploma or a bloc certificate)."""

    revocation: Revocation | None = None
    suspension: Suspension | None = None


def _records(uow: CertificationUnitOfWork, credential_id: str | None) -> _Records:
    if not credential_id:
        return _Records()
    held = uow.progress.diploma(credential_id) or uow.progress.certificate(credential_id)
    return _Records(held.revocation, held.suspension) if held is not None else _Records()


def check_credential(
    credential: dict[str, Any],
    *,
    uow: CertificationUnitOfWork,
    issuance: CredentialIssuance,
    diploma_id: str | None,
) -> CredentialCheck:
    """Kind, issuer, proof (a tampered credential fails as such) and validity period first; then its status:
    revocation, then suspension, each from this service's records (every diploma and bloc certificate,
    including those issued before status lists) and from the status lists the credential names, read back
    from the lists as published. ``diploma_id``: the id of the diploma or bloc certificate presented."""
    with uow:
        resolve = assertion_keys(controller_document(uow, issuance)).get
        outcome = check_issued_credential(credential, issuer_did=issuance.did, resolve=resolve, now=utcnow())
        kid, checks = outcome.kid, outcome.checks
        if outcome.failure is not None:
            return CredentialCheck(False, outcome.reason, kid, failure=outcome.failure, checks=checks)

        def failed(reason: str, failure: Failure, **held: Any) -> CredentialCheck:
            done = (*checks, Check("status", False, reason))
            return CredentialCheck(False, reason, kid, failure=failure, checks=done, **held)

        records = _records(uow, diploma_id)
        if records.revocation is not None:
            return failed(records.revocation.statement(), "revoked", revocation=records.revocation)
        try:
            listed = _set_in_status_lists(credential, uow=uow, issuance=issuance)
        except StatusListError as exc:
            return failed(f"the revocation status cannot be checked: {exc}", "status_unchecked")
        if PURPOSE in listed:
            return failed("revoked: its status list entry is set", "revoked")
        if records.suspension is not None:
            return failed(records.suspension.statement(), "suspended", suspension=records.suspension)
        if SUSPENSION in listed:
            return failed("suspended: its suspension status list entry is set", "suspended")
        passed = (*checks, Check("status", True, "not revoked, not suspended"))
        return CredentialCheck(True, outcome.reason, kid, checks=passed)


def presented_id(credential: dict[str, Any]) -> str | None:
    """The id of the diploma or bloc certificate a presented credential says it is (``urn:uuid:<id>``)."""
    return str(credential.get("id", "")).removeprefix("urn:uuid:") or None


def check_diploma(
    diploma_id: str, *, uow: CertificationUnitOfWork, issuance: CredentialIssuance
) -> DiplomaCheck | None:
    """The stored diploma checked as presented (its signed credential, as stored); None when unknown."""
    with uow:
        diploma = uow.progress.diploma(diploma_id)
    if diploma is None:
        return None
    check = check_credential(diploma.credential, uow=uow, issuance=issuance, diploma_id=diploma_id)
    return DiplomaCheck(diploma, check)


def _set_in_status_lists(
    credential: dict[str, Any], *, uow: CertificationUnitOfWork, issuance: CredentialIssuance
) -> set[str]:
    """The purposes (``revocation``, ``suspension``) whose status list entry is set for the credential."""
    now, found = utcnow(), set()
    for entry in status_references(credential):
        list_id = issuance.status_list_id(entry.list_url)
        published = published_status_list(list_id, uow=uow, issuance=issuance, now=now) if list_id else None
        if published is None:
            raise StatusListError(f"{entry.list_url} is not a status list of this issuer")
        if status_bit(published, entry.index, entry.purpose):
            found.add(entry.purpose)
    return found
