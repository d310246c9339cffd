"""The diploma as a signed credential: a W3C Verifiable Credential 2.0 shaped as an Open Badges 3.0
``OpenBadgeCredential``, secured with a W3C Data Integrity proof of the ``eddsa-rdfc-2022`` cryptosuite
(``domain/data_integrity.py``) whose verification method is a key of the issuer's ``did:web`` controller
document (``domain/controller.py``): verifiable by any standard verifier, offline, with the bundled contexts.

Credentials signed before, with this project's own ``certifia-eddsa-sortedjson-2025`` suite (no proof
options signed, no controller document), are no longer accepted: none was issued in production; such a
credential verifies as ``unsupported_proof`` and its holder asks for it to be issued again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certifia_certification.domain.achievement import (
    CNCP_FRAMEWORK,
    CREDENTIAL_SCHEMA,
    EQF_FRAMEWORK,
    CredentialData,
    alignments,
    holder_identifiers,
    issuer_profile,
    result_descriptions,
    results,
)
from certifia_certification.domain.contexts import CREDENTIALS_V2, OPEN_BADGES_V3
from certifia_certification.domain.data_integrity import ProofFailure, add_proof, verify_proof
from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.signing import SigningKey
from certifia_certification.domain.suspension import Suspension

CONTEXT = [CREDENTIALS_V2, OPEN_BADGES_V3]
ISSUER_NAME = "certifia"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def plain_text(value: str) -> str:
    """A name as a credential states it: control characters (never part of a name) become spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())


@dataclass(frozen=True)
class DiplomaFacts:
    diploma_id: str
    candidate_id: str
    given_name: str
    family_name: str
    title: str
    criteria: str
    referential_version: str
    blocs: tuple[str, ...]
    issued_at: datetime
    email: str | None = None
    """The holder's email (candidate.enrolled): hashed with ``salt`` into the credential, never in clear."""
    salt: str | None = None
    """A random salt of this credential's own (the issuer draws it)."""
    thesis: bool = False
    """The professional thesis was required of the holder and defended with success."""


def achievement_id(base_url: str, referential_version: str) -> str:
    return f"{base_url}/achievements/referential-{referential_version}"


def diploma_achievement(
    *, base_url: str, title: str, criteria: str, referential_version: str, data: CredentialData
) -> dict[str, Any]:
    """The diploma's achievement, the same for every holder (``GET /achievements/{id}`` serves it): the
    certification, aligned to its RNCP fiche and levels, with the results it is awarded on."""
    ident = achievement_id(base_url, referential_version)
    achievement: dict[str, Any] = {
        "id": ident,
        "type": ["Achievement"],
        "achievementType": "Diploma",
        "name": title,
        "description": f"{title}: every bloc the rule requires validated.",
        "criteria": {"narrative": criteria},
    }
    if found := alignments(title, data.qualification):
        achievement["alignment"] = found
    if described := result_descriptions(ident, data):
        achievement["resultDescription"] = described
    return achievement


def diploma_credential(
    facts: DiplomaFacts,
    *,
    issuer_id: str,
    base_url: str,
    credential_status: dict[str, Any] | list[dict[str, Any]] | None = None,
    evidence: list[dict[str, Any]] | None = None,
    data: CredentialData | None = None,
) -> dict[str, Any]:
    """The unsigned credential (``issuer_id``: the issuer's DID; ``credential_status``: its revocation status
    list entry; ``evidence``: the bloc certificates it rests on; ``data``: the certifier, the qualification
    and the referential's blocs, see ``domain/achievement.py``)."""
    data = data or CredentialData()
    holder = plain_text(f"{facts.given_name} {facts.family_name}")
    achievement = diploma_achievement(
        base_url=base_url,
        title=facts.title,
        criteria=facts.criteria,
        referential_version=facts.referential_version,
        data=data,
    )
    subject: dict[str, Any] = {
        "id": f"urn:certifia:candidate:{facts.candidate_id}",
        "type": ["AchievementSubject"],
        "identifier": holder_identifiers(holder, facts.email, facts.salt),
        "achievement": achievement,
    }
    if done := results(achievement["id"], data, blocs=facts.blocs, thesis=facts.thesis):
        subject["result"] = done
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"urn:uuid:{facts.diploma_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(issuer_id, data.certifier),
        "validFrom": iso(facts.issued_at),
        "name": facts.title,
        "credentialSubject": subject,
        "credentialSchema": [dict(CREDENTIAL_SCHEMA)],
    }
    if credential_status is not None:
        credential["credentialStatus"] = credential_status
    if evidence:
        credential["evidence"] = evidence
    return credential


def sign(
    credential: dict[str, Any], key: SigningKey, *, verification_method: str, created: datetime
) -> dict[str, Any]:
    """The credential with its ``eddsa-rdfc-2022`` proof (``verification_method``: ``<issuer DID>#<key id>``)."""
    return add_proof(credential, key, verification_method=verification_method, created=created)


Failure = Literal[
    "not_accepted",
    "unknown_issuer",
    "no_proof",
    "unsupported_proof",
    "unknown_key",
    "bad_signature",
    "not_yet_valid",
    "expired",
    "revoked",
    "suspended",
    "status_unchecked",
]
"""Why a credential is not valid, as a code (``reason`` says it in English for the JSON answers)."""


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    kid: str | None = None
    failure: ProofFailure | None = None


def key_id(verification_method: str | None) -> str | None:
    """The key id: the fragment of the verification method (``<did>#<key id>``)."""
    return (verification_method or "").rpartition("#")[2] or None


def verify(credential: dict[str, Any], resolve: Callable[[str], Ed25519PublicKey | None]) -> Verification:
    """Check the proof alone. ``resolve`` maps a verification method id (``<did>#<key id>``) to its public key
    when the issuer's controller document lists it for ``assertionMethod``."""
    result = verify_proof(credential, resolve)
    return Verification(result.valid, result.reason, key_id(result.verification_method), result.failure)


@dataclass(frozen=True)
class Check:
    """One check a verification ran: its name (``credential type``, ``issuer``, ``proof``, ``validity
    period``, ``status``), whether it passed, and why."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class CredentialCheck:
    """The whole check of a credential (signature, then revocation): what every public view of a diploma
    reports, the JSON verification, the verification page and the PDF alike."""

    valid: bool
    reason: str
    kid: str | None
    revocation: Revocation | None = None
    failure: Failure | None = None
    checks: tuple[Check, ...] = field(default=())
    """Every check run, in order; the last one failed when the credential is not valid."""
    suspension: Suspension | None = None
    """The suspension in force (from the records) when the credential is suspended."""


def holder_name(credential: dict[str, Any]) -> str | None:
    subject = _dict(credential.get("credentialSubject"))
    identifiers = subject.get("identifier")
    for ident in identifiers if isinstance(identifiers, list) else []:
        if isinstance(ident, dict) and ident.get("identityType") == "name" and not ident.get("hashed"):
            return str(ident.get("identityHash"))
    return None


@dataclass(frozen=True)
class CredentialSummary:
    """What a credential states about itself (trustworthy only once its check is valid)."""

    holder: str | None
    title: str | None
    valid_from: str | None
    issuer_name: str | None
    issuer_id: str | None
    rncp: str | None
    """The achievement's RNCP code (its alignment on the RNCP framework), when the credential has one."""
    level: str | None = None
    """Its level in the French national framework (``7``), when aligned to it."""
    eqf_level: str | None = None
    """Its EQF level (``7``), when aligned to it."""
    place: str | None = None
    """Where it was issued: the issuer's address locality (``Paris``)."""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _aligned(achievement: dict[str, Any], framework: Callable[[str], bool]) -> str | None:
    """The code (else the name) of the achievement's first alignment on a framework."""
    alignments = achievement.get("alignment")
    for a in alignments if isinstance(alignments, list) else []:
        a = _dict(a)
        if framework(str(a.get("targetFramework", ""))):
            return _text(a.get("targetCode")) or _text(a.get("targetName"))
    return None


def _rncp(achievement: dict[str, Any]) -> str | None:
    return _aligned(achievement, lambda f: "RNCP" in f.upper())


def summary(credential: dict[str, Any]) -> CredentialSummary:
    """Holder, title, issue date, issuer and RNCP alignment as the credential states them; a field that is
    missing or malformed (a forged or foreign credential) is None."""
    subject = _dict(credential.get("credentialSubject"))
    achievement = _dict(subject.get("achievement"))
    issuer = _dict(credential.get("issuer"))
    return CredentialSummary(
        holder=holder_name(credential),
        title=_text(achievement.get("name")),
        valid_from=_text(credential.get("validFrom")),
        issuer_name=_text(issuer.get("name")),
        issuer_id=_text(issuer.get("id")),
        rncp=_rncp(achievement),
        level=_aligned(achievement, lambda f: f == CNCP_FRAMEWORK),
        eqf_level=_aligned(achievement, lambda f: f == EQF_FRAMEWORK),
        place=_text(_dict(issuer.get("address")).get("addressLocality")),
    )
