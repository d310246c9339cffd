"""A bloc certificate as a credential of its own: an RNCP bloc is certified on its own, so each bloc passed
gives an Open Badges 3.0 ``OpenBadgeCredential`` whose achievement is the bloc (achievement type
``Certificate``), secured like the diploma (``eddsa-rdfc-2022``, the issuer's ``did:web``) with an entry in the
same revocation status list. The diploma names the bloc certificates it rests on as ``evidence``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certifia_certification.domain.credential import CONTEXT, iso, issuer_profile, plain_text

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


def bloc_achievement_id(base_url: str, referential_version: str, bloc: str) -> str:
    return f"{base_url}/achievements/referential-{referential_version}/blocs/{bloc}"


def bloc_certificate_credential(
    facts: BlocFacts,
    *,
    issuer_id: str,
    base_url: str,
    credential_status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The unsigned bloc certificate (``issuer_id``: the issuer's DID)."""
    name = f"Bloc {facts.bloc}: {facts.bloc_title}"
    subject: dict[str, Any] = {
        "id": f"urn:certifia:candidate:{facts.candidate_id}",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": bloc_achievement_id(base_url, facts.referential_version, facts.bloc),
            "type": ["Achievement"],
            "achievementType": BLOC_ACHIEVEMENT_TYPE,
            "humanCode": f"BC{facts.bloc}",
            "name": name,
            "description": f"Bloc {facts.bloc} of {facts.certification_title}, certified on its own.",
            "criteria": {"narrative": "Every competency of the bloc validated."},
        },
    }
    if facts.holder:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": plain_text(facts.holder),
            }
        ]
    credential: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"urn:uuid:{facts.certificate_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(issuer_id),
        "validFrom": iso(facts.issued_at),
        "name": name,
        "credentialSubject": subject,
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
