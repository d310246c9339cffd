"""What a presented credential must be before its status is worth reading: one of this issuer's kinds of
credential, issued by this issuer (its DID), with a valid ``eddsa-rdfc-2022`` proof by a key of the issuer's
controller document, within its validity period. Plain Python, no I/O: the status check (records and
status lists) is the service layer's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certifia_certification.domain.contexts import CREDENTIALS_V2
from certifia_certification.domain.credential import Check, Failure, verify


@dataclass(frozen=True)
class AcceptedKind:
    """A kind of credential this issuer issues and verifies: a credential type and, for Open Badges, the
    achievement types it may carry."""

    credential_type: str
    achievement_types: tuple[str, ...]


ACCEPTED: tuple[AcceptedKind, ...] = (AcceptedKind("OpenBadgeCredential", ("Diploma", "Certificate")),)
"""What ``POST /credentials/verify`` accepts: the diploma and the bloc certificates (``Certificate``)."""


@dataclass(frozen=True)
class Outcome:
    """The checks run so far; ``failure`` and ``reason`` say why the last one failed (None: all passed)."""

    checks: tuple[Check, ...]
    failure: Failure | None
    reason: str
    kid: str | None = None


def _types(value: Any) -> list[str]:
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def _kind_problem(credential: dict[str, Any]) -> str | None:
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != CREDENTIALS_V2:
        return f"the credential's first @context is not {CREDENTIALS_V2}"
    types = _types(credential.get("type"))
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    achievement_type = achievement.get("achievementType") if isinstance(achievement, dict) else None
    for kind in ACCEPTED:
        is_kind = "VerifiableCredential" in types and kind.credential_type in types
        if is_kind and achievement_type in kind.achievement_types:
            return None
    accepted = ", ".join(f"{k.credential_type} ({'/'.join(k.achievement_types)})" for k in ACCEPTED)
    return f"not a credential of a kind this issuer issues ({accepted}): type {types}"


def _issuer_id(credential: dict[str, Any]) -> Any:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _period_problem(credential: dict[str, Any], now: datetime) -> tuple[Failure, str] | None:
    valid_from = _moment(credential.get("validFrom"))
    if valid_from is None:
        return "not_yet_valid", "validFrom is missing or not a dateTime with a time zone"
    if valid_from > now:
        return "not_yet_valid", f"not valid before {credential['validFrom']}"
    if "validUntil" in credential:
        valid_until = _moment(credential.get("validUntil"))
        if valid_until is None:
            return "expired", "validUntil is not a dateTime with a time zone"
        if valid_until <= now:
            return "expired", f"expired on {credential['validUntil']}"
    return None


def check_issued_credential(
    credential: dict[str, Any],
    *,
    issuer_did: str,
    resolve: Callable[[str], Ed25519PublicKey | None],
    now: datetime,
) -> Outcome:
    """Kind, issuer, proof and validity period, in this order, stopping at the first that fails (what a
    credential states is not worth checking further once its kind, issuer or proof fails)."""
    checks: list[Check] = []

    def failed(name: str, failure: Failure, reason: str, kid: str | None = None) -> Outcome:
        checks.append(Check(name, False, reason))
        return Outcome(tuple(checks), failure, reason, kid)

    kind = _kind_problem(credential)
    if kind:
        return failed("credential type", "not_accepted", kind)
    checks.append(Check("credential type", True, "an accepted kind of credential"))
    if _issuer_id(credential) != issuer_did:
        return failed("issuer", "unknown_issuer", f"the issuer is not {issuer_did}")
    checks.append(Check("issuer", True, f"issued by {issuer_did}"))
    proof = verify(credential, resolve)
    if not proof.valid:
        assert proof.failure is not None
        return failed("proof", proof.failure, proof.reason, proof.kid)
    checks.append(Check("proof", True, proof.reason))
    period = _period_problem(credential, now)
    if period:
        return failed("validity period", period[0], period[1], proof.kid)
    checks.append(Check("validity period", True, "within its validity period"))
    return Outcome(tuple(checks), None, proof.reason, proof.kid)
