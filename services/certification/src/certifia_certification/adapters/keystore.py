"""Where the diploma signing key comes from, and the public keys that verify credentials.

``CERTIFIA_SIGNING_KEY`` (base64 raw Ed25519 private key) wins; its public half is recorded so that the
JWKS keeps listing it after a rotation. Without it the service generates one key, once, and keeps it in
its own database (slot ``generated``) so it survives restarts and is shared by every replica.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from certifia_certification.adapters.orm import signing_keys
from certifia_certification.domain.signing import (
    SigningKey,
    b64url,
    b64url_decode,
    private_bytes,
    public_bytes,
    public_key_from_x,
)
from certifia_shared.db import insert_ignoring_conflict
from certifia_shared.envelope import utcnow

GENERATED_SLOT = "generated"


class KeyRing:
    """The active signing key (loaded once, before the workers start: ``service_layer.keys.load_signing_key``)
    and the key configured in the settings, if any."""

    def __init__(self, configured: bytes | None) -> None:
        self.configured = configured
        self._active: SigningKey | None = None

    def activate(self, key: SigningKey) -> None:
        self._active = key

    def active(self) -> SigningKey:
        if self._active is None:
            raise RuntimeError("the signing key is not loaded: call load_signing_key() at start-up")
        return self._active


class SigningKeyRepository:
    """The signing keys this service ever used: the public half of each (the controller document lists them)
    and the private half of the generated one. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def generated(self) -> SigningKey | None:
        """The key this service generated for itself (slot ``generated``), if it did."""
        stored = self.session.execute(
            select(signing_keys.c.private_key).where(signing_keys.c.slot == GENERATED_SLOT)
        ).scalar_one_or_none()
        return SigningKey.from_raw(b64url_decode(stored)) if stored else None

    def add_generated(self, key: SigningKey) -> None:
        """Keep the generated key (private half included); a concurrent twin makes the commit a Conflict."""
        self.session.execute(insert(signing_keys).values(**_row(key, origin="generated", private=True)))

    def add_configured(self, key: SigningKey) -> None:
        """Record the public half of the configured key (once: a known key is left as it is)."""
        insert_ignoring_conflict(self.session, signing_keys, _row(key, origin="settings", private=False))

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every key's public half by key id, oldest first."""
        return public_keys(self.session)


def _row(key: SigningKey, *, origin: str, private: bool) -> dict[str, object]:
    return {
        "kid": key.kid,
        "public_key": b64url(public_bytes(key.public_key)),
        "private_key": b64url(private_bytes(key.private_key)) if private else None,
        "origin": origin,
        "slot": GENERATED_SLOT if private else None,
        "created_at": utcnow(),
    }


def public_keys(session: Session) -> dict[str, Ed25519PublicKey]:
    rows = session.execute(
        select(signing_keys.c.kid, signing_keys.c.public_key).order_by(signing_keys.c.created_at)
    )
    return {r.kid: public_key_from_x(r.public_key) for r in rows}
