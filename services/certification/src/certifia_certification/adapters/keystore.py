"""Where the diploma signing key comes from, and the public keys that verify credentials.

``CERTIFIA_SIGNING_KEY`` (base64 raw Ed25519 private key) wins; its public half is recorded so that the
JWKS keeps listing it after a rotation. Without it the service generates one key, once, and keeps it in
its own database (slot ``generated``) so it survives restarts and is shared by every replica.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
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
    """The active signing key (loaded once, before the workers start) and the known public keys."""

    def __init__(self, configured: bytes | None) -> None:
        self._configured = configured
        self._active: SigningKey | None = None

    def load(self, sessions: Callable[[], Session]) -> SigningKey:
        with sessions() as session:
            key = self._configured_key(session) if self._configured else self._generated_key(session)
        self._active = key
        return key

    def active(self) -> SigningKey:
        if self._active is None:
            raise RuntimeError("the signing key is not loaded: call KeyRing.load() at start-up")
        return self._active

    def _configured_key(self, session: Session) -> SigningKey:
        assert self._configured is not None
        key = SigningKey.from_raw(self._configured)
        insert_ignoring_conflict(session, signing_keys, _row(key, origin="settings", private=False))
        session.commit()
        return key

    def _generated_key(self, session: Session) -> SigningKey:
        for _ in range(2):
            stored = session.execute(
                select(signing_keys.c.private_key).where(signing_keys.c.slot == GENERATED_SLOT)
            ).scalar_one_or_none()
            if stored:
                return SigningKey.from_raw(b64url_decode(stored))
            key = SigningKey.generate()
            session.execute(insert(signing_keys).values(**_row(key, origin="generated", private=True)))
            try:
                session.commit()
            except IntegrityError:  # another replica generated it first: use theirs
                session.rollback()
                continue
            return key
        raise RuntimeError("could not store or read the generated signing key")


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
