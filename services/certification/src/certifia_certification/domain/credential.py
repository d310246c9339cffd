"""The diploma as a signed credential: a W3C Verifiable Credential shaped as an Open Badges 3.0
``OpenBadgeCredential``.

The proof is deliberately modest, and documented as such: the signature is Ed25519 over the canonical JSON
(keys sorted, no spaces, UTF-8) of the credential *without* its ``proof``; ``proofValue`` is that signature
in base64url. It is a ``DataIntegrityProof`` with this project's own ``cryptosuite`` name, not the W3C
``eddsa-jcs-2022`` or ``eddsa-rdfc-2022`` suites (no proof-options hashing, no multibase).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.signing import SigningKey, b64url, b64url_decode

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "certifia-eddsa-sortedjson-2025"
ISSUER_NAME = "certifia"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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


def issuer_profile(base_url: str) -> dict[str, Any]:
    return {"id": base_url, "type": ["Profile"], "name": ISSUER_NAME}


def diploma_credential(
    facts: DiplomaFacts, *, base_url: str, credential_status: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The unsigned credential (``credential_status``: its revocation status list entry)."""
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"urn:uuid:{facts.diploma_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(base_url),
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
                    "identityHash": f"{facts.given_name} {facts.family_name}",
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
    return credential


def sign(
    credential: dict[str, Any], key: SigningKey, *, verification_method: str, created: datetime
) -> dict[str, Any]:
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": iso(created),
        "proofPurpose": "assertionMethod",
        "verificationMethod": verification_method,
        "proofValue": b64url(key.sign(canonical_json(unsigned))),
    }
    return {**unsigned, "proof": proof}


Failure = Literal[
    "no_proof", "unsupported_proof", "unknown_key", "bad_signature", "revoked", "status_unchecked"
]
"""Why a credential is not valid, as a code (``reason`` says it in English for the JSON answers)."""


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    kid: str | None = None
    failure: Failure | None = None


def verify(credential: dict[str, Any], resolve: Callable[[str], Ed25519PublicKey | None]) -> Verification:
    """Check the proof. ``resolve`` maps a key id (the verification method's fragment) to a public key."""
    proof = credential.get("proof")
    if not isinstance(proof, dict):
        return Verification(False, "the credential has no proof", failure="no_proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return Verification(False, "unsupported proof type or cryptosuite", failure="unsupported_proof")
    method = str(proof.get("verificationMethod", ""))
    kid = method.rpartition("#")[2] or None
    public_key = resolve(kid) if kid else None
    if public_key is None:
        return Verification(False, "the signing key is unknown to this issuer", kid, "unknown_key")
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    try:
        public_key.verify(b64url_decode(str(proof.get("proofValue", ""))), canonical_json(unsigned))
    except (InvalidSignature, ValueError):
        return Verification(False, "the signature does not match the credential", kid, "bad_signature")
    return Verification(True, "the signature is valid", kid)


@dataclass(frozen=True)
class CredentialCheck:
    """The whole check of a credential (signature, then revocation): what every public view of a diploma
    reports, the JSON verification, the verification page and the PDF alike."""

    valid: bool
    reason: str
    kid: str | None
    revocation: Revocation | None = None
    failure: Failure | None = None


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
