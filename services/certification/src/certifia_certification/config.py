from __future__ import annotations

import base64
import binascii

from pydantic import Field, SecretStr, field_validator

from certifia_certification.domain.controller import did_web
from certifia_shared.config import ServiceSettings

ED25519_KEY_BYTES = 32


class Settings(ServiceSettings):
    service_name: str = "certification"
    port: int = 8005
    signing_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="CERTIFIA_SIGNING_KEY",
        description="base64 of the raw 32-byte Ed25519 private key; empty: one is generated and kept in "
        "the service's database",
    )

    issuer_did: str = Field(
        default="",
        validation_alias="CERTIFIA_ISSUER_DID",
        description="the issuer's did:web (its controller document: GET /.well-known/did.json); empty: "
        "derived from the public base URL, e.g. did:web:certifia.example or did:web:127.0.0.1%3A8005",
    )

    @field_validator("issuer_did")
    @classmethod
    def _did_is_did_web(cls, value: str) -> str:
        value = value.strip()
        if value and not (value.startswith("did:web:") and len(value) > len("did:web:")):
            raise ValueError("CERTIFIA_ISSUER_DID must be a did:web (did:web:<host>[%3A<port>][:<path>...])")
        return value

    @field_validator("signing_key")
    @classmethod
    def _key_is_ed25519(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not raw:
            return value
        try:
            decoded = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("CERTIFIA_SIGNING_KEY must be base64 (standard alphabet)") from None
        if len(decoded) != ED25519_KEY_BYTES:
            raise ValueError(
                f"CERTIFIA_SIGNING_KEY must decode to {ED25519_KEY_BYTES} bytes (a raw Ed25519 private key), "
                f"got {len(decoded)}"
            )
        return value

    def signing_key_bytes(self) -> bytes | None:
        raw = self.signing_key.get_secret_value().strip()
        return base64.b64decode(raw) if raw else None

    def base_url(self) -> str:
        """Where employers reach this service (verification links)."""
        return (self.public_base_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    def did(self) -> str:
        """The issuer's DID: ``CERTIFIA_ISSUER_DID``, else the did:web of the public base URL."""
        return self.issuer_did or did_web(self.base_url())
