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

from certifia_certification.domain.contexts import CREDENTIALS_V2, OPEN_BADGES_V3
from certifia_certification.domain.data_integrity import ProofFailure, add_proof, verify_proof
from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.signing import SigningKey

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


def issuer_profile(issuer_id: str) -> dict[str, Any]:
    """The issuer as OB 3.0 describes it: its id is its DID (the controller of its signing keys)."""
    return {"id": issuer_id, "type": ["Profile"], "name": ISSUER_NAME}


def diploma_credential(
    facts: DiplomaFacts,
    *,
    issuer_id: str,
    base_url: str,
    credential_status: dict[str, Any] | None = None,
    evidence: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The unsigned credential (``issuer_id``: the issuer's DID; ``credential_status``: its revocation status
    list entry; ``evidence``: the bloc certificates it rests on)."""
    holder = plain_text(f"{facts.given_name} {facts.family_name}")
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"urn:uuid:{facts.diploma_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(issuer_id),
        "validFrom": iso(facts.issued_at),
        "name": facts.title,
        "credentialSubject": {
            "id": f"urn:certifia:candidate:{facts.candidate_id}",
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": holder,
                }
            ],
            "achievement": {
                "id": f"{base_url}/achievements/referential-{facts.referential_version}",
                "type": ["Achievement"],
                "achievementType": "Diploma",
                "name": facts.title,
                "description": f"{facts.title}: blocs {', '.join(facts.blocs)} validated.",
                "criteria": {"narrative": facts.criteria},
            },
        },
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
    """The achievement's alignment on the RNCP framework (code and title), when the credential has one."""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _rncp(achievement: dict[str, Any]) -> str | None:
    alignments = achievement.get("alignment")
    for a in alignments if isinstance(alignments, list) else []:
        a = _dict(a)
        if "RNCP" in str(a.get("targetFramework", "")).upper():
            parts = [p for p in (_text(a.get("targetCode")), _text(a.get("targetName"))) if p]
            return " — ".join(parts) or None
    return None


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
    )
