from __future__ import annotations

import base64
import binascii

from pydantic import Field, SecretStr, field_validator

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
