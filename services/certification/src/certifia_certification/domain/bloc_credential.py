"""A bloc certificate as a credential of its own: an RNCP bloc is certified on its own, so each bloc passed
gives an Open Badges 3.0 ``OpenBadgeCredential`` whose achievement is the bloc (achievement type
``Certificate``), secured like the diploma (``eddsa-rdfc-2022``, the issuer's ``did:web``) with an entry in the
same revocation status list. The diploma names the bloc certificates it rests on as ``evidence``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certifia_certification.domain.achievement import (
    CREDENTIAL_SCHEMA,
    CredentialData,
    holder_identifiers,
    issuer_profile,
    rncp_alignment,
)
from certifia_certification.domain.credential import CONTEXT, iso, plain_text

BLOC_ACHIEVEMENT_TYPE = "Certificate"
"""OB 3.0's achievement type for a bloc certificate (the diploma's is ``Diploma``)."""


@dataclass(frozen=True)
class BlocFacts:
    certificate_id: str
    candidate_id: str
    holder: str | None
    """The holder's name (None when the candidate's enrolment is not known yet)."""
    bloc: str
    bloc_title: str
    certification_title: str
    referential_version: str
    issued_at: datetime
    email: str | None = None
    """The holder's email, hashed with ``salt`` into the credential (None: enrolment not known yet)."""
    salt: str | None = None


def bloc_achievement_id(base_url: str, referential_version: str, bloc: str) -> str:
    return f"{base_url}/achievements/referential-{referential_version}/blocs/{bloc}"


def bloc_achievement(
    *,
    base_url: str,
    referential_version: str,
    bloc: str,
    bloc_title: str,
    certification_title: str,
    data: CredentialData,
) -> dict[str, Any]:
    """The bloc as an achievement, the same for every holder (``GET /achievements/{id}/blocs/{bloc}``
    serves it), aligned to the RNCP fiche of the certification it is a bloc of."""
    achievement: dict[str, Any] = {
        "id": bloc_achievement_id(base_url, referential_version, bloc),
        "type": ["Achievement"],
        "achievementType": BLOC_ACHIEVEMENT_TYPE,
        "humanCode": f"BC{bloc}",
        "name": f"Bloc {bloc}: {bloc_title}",
        "description": f"Bloc {bloc} of {certification_title}, certified on its own.",
        "criteria": {"narrative": "Every competency of the bloc validated."},
    }
    if fiche := rncp_alignment(certification_title, data.qualification):
        achievement["alignment"] = fiche
    return achievement


def bloc_certificate_credential(
    facts: BlocFacts,
    *,
    issuer_id: str,
    base_url: str,
    credential_status: dict[str, Any] | list[dict[str, Any]] | None = None,
    data: CredentialData | None = None,
) -> dict[str, Any]:
    """The unsigned bloc certificate (``issuer_id``: the issuer's DID; ``data``: the certifier, and the
    qualification whose RNCP fiche the bloc belongs to)."""
    data = data or CredentialData()
    name = f"Bloc {facts.bloc}: {facts.bloc_title}"
    subject: dict[str, Any] = {
        "id": f"urn:certifia:candidate:{facts.candidate_id}",
        "type": ["AchievementSubject"],
        "achievement": bloc_achievement(
            base_url=base_url,
            referential_version=facts.referential_version,
            bloc=facts.bloc,
            bloc_title=facts.bloc_title,
            certification_title=facts.certification_title,
            data=data,
        ),
    }
    if facts.holder:
        subject["identifier"] = holder_identifiers(plain_text(facts.holder), facts.email, facts.salt)
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"urn:uuid:{facts.certificate_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(issuer_id, data.certifier),
        "validFrom": iso(facts.issued_at),
        "name": name,
        "credentialSubject": subject,
        "credentialSchema": [dict(CREDENTIAL_SCHEMA)],
    }
    if credential_status is not None:
        credential["credentialStatus"] = credential_status
    return credential


def bloc_evidence(certificate_id: str, bloc: str) -> dict[str, Any]:
    """How the diploma names a bloc certificate it rests on (OB 3.0 ``Evidence``)."""
    return {
        "id": f"urn:uuid:{certificate_id}",
        "type": ["Evidence"],
        "name": f"Bloc certificate {bloc}",
        "genre": "Bloc certificate",
    }
