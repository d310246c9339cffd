from __future__ import annotations

import base64
import binascii
import re

from pydantic import Field, SecretStr, field_validator

from certifia_certification.domain.achievement import Certifier, Qualification, legal_identifier_problem
from certifia_certification.domain.controller import did_web
from certifia_shared.config import ServiceSettings

ED25519_KEY_BYTES = 32
DEV_LOGO = (
    "data:image/svg+xml;base64,"
    + base64.b64encode(
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="8" '
        b'fill="#182c54"/><path d="M44 22a14 14 0 1 0 0 20" fill="none" stroke="#fff" stroke-width="6"/></svg>'
    ).decode()
)
"""The development logo (a data: URI, so credentials need nothing fetched): set CERTIFIA_CERTIFIER_IMAGE."""
_IMAGE = re.compile(r"(https://\S+|data:image/(png|jpeg|svg\+xml);base64,[A-Za-z0-9+/]+={0,2})")
_RNCP = re.compile(r"(RNCP)?(\d{1,6})", re.IGNORECASE)
_NSF = re.compile(r"\d{3}[a-z]?")


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

    # The certifying body and the certification as credentials state them (domain/achievement.py)
    certifier_name: str = Field(
        default="certifia",
        min_length=1,
        validation_alias="CERTIFIA_CERTIFIER_NAME",
        description="the certifying body's legal name (the issuer's name on every credential and the PDF)",
    )
    certifier_url: str = Field(
        default="",
        validation_alias="CERTIFIA_CERTIFIER_URL",
        description="the certifying body's web site; empty: the public base URL",
    )
    certifier_legal_id: str = Field(
        default="",
        validation_alias="CERTIFIA_CERTIFIER_SIRET",
        description="the certifying body's SIREN (9 digits) or SIRET (14 digits), stated as the issuer's "
        "otherIdentifier (identifierType ext:SIREN / ext:SIRET); empty: not stated",
    )
    certifier_image: str = Field(
        default=DEV_LOGO,
        validation_alias="CERTIFIA_CERTIFIER_IMAGE",
        description="the certifying body's logo: an https URL or a data:image/(png|jpeg|svg+xml);base64 URI; "
        "empty: none",
    )
    diploma_place: str = Field(
        default="Paris",
        validation_alias="CERTIFIA_DIPLOMA_PLACE",
        description="where diplomas are issued (the issuer's addressLocality; the PDF says « fait à »); "
        "empty: not stated",
    )
    rncp_code: str = Field(
        default="",
        validation_alias="CERTIFIA_RNCP_CODE",
        description="the certification's RNCP code (RNCP38616 or 38616); empty: the referential's "
        "certification.rncp_code, and none at all: no RNCP alignment",
    )
    certification_level: int = Field(
        default=7,
        ge=1,
        le=8,
        validation_alias="CERTIFIA_CERTIFICATION_LEVEL",
        description="level in the French cadre national des certifications professionnelles (niveau 7)",
    )
    eqf_level: int = Field(
        default=7, ge=1, le=8, validation_alias="CERTIFIA_EQF_LEVEL", description="European (EQF) level"
    )
    nsf_code: str = Field(
        default="",
        validation_alias="CERTIFIA_NSF_CODE",
        description="the NSF specialty code of the RNCP fiche (e.g. 326); empty: not stated",
    )

    @field_validator("certifier_legal_id", "rncp_code", "nsf_code", "certifier_url", "diploma_place")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()

    @field_validator("certifier_legal_id")
    @classmethod
    def _siren_or_siret(cls, value: str) -> str:
        problem = legal_identifier_problem(value.replace(" ", "")) if value else None
        if problem:
            raise ValueError(f"CERTIFIA_CERTIFIER_SIRET {problem}")
        return value.replace(" ", "")

    @field_validator("certifier_image")
    @classmethod
    def _image(cls, value: str) -> str:
        value = value.strip()
        if value and not _IMAGE.fullmatch(value):
            raise ValueError(
                "CERTIFIA_CERTIFIER_IMAGE must be an https URL or a data:image/(png|jpeg|svg+xml);base64,... URI"
            )
        return value

    @field_validator("rncp_code")
    @classmethod
    def _rncp(cls, value: str) -> str:
        found = _RNCP.fullmatch(value)
        if value and not found:
            raise ValueError("CERTIFIA_RNCP_CODE must be an RNCP code: RNCP followed by digits (RNCP38616)")
        return f"RNCP{found.group(2)}" if found else ""

    @field_validator("nsf_code")
    @classmethod
    def _nsf(cls, value: str) -> str:
        if value and not _NSF.fullmatch(value):
            raise ValueError("CERTIFIA_NSF_CODE must be an NSF code: 3 digits and an optional letter (326n)")
        return value

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

    def certifier(self) -> Certifier:
        """The certifying body as the credentials name it."""
        return Certifier(
            name=self.certifier_name.strip(),
            url=self.certifier_url or self.base_url(),
            legal_identifier=self.certifier_legal_id or None,
            image=self.certifier_image or None,
            place=self.diploma_place or None,
        )

    def qualification(self, referential_rncp_code: str | None = None) -> Qualification:
        """The certification's RNCP code (this setting, else the referential's), levels and NSF code."""
        return Qualification(
            rncp_code=self.rncp_code or referential_rncp_code or None,
            level=self.certification_level,
            eqf_level=self.eqf_level,
            nsf_code=self.nsf_code or None,
        )

    def did(self) -> str:
        """The issuer's DID: ``CERTIFIA_ISSUER_DID``, else the did:web of the public base URL."""
        return self.issuer_did or did_web(self.base_url())
