"""What every credential says beyond one candidate's facts: the certifying body (from configuration), the
achievement aligned to its RNCP fiche and to the French and European qualification frameworks, the results
it is awarded on, and how the holder is named. Plain Python, no I/O.

Every term used here is defined by the bundled contexts (VC 2.0, OB 3.0.3): JSON-LD safe mode refuses to
sign anything else. Where OB 3.0 has an extensible enumeration (``identifierType``, ``targetType``), values
of our own start with ``ext:`` as OB 3.0 requires.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

OB_ACHIEVEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
CREDENTIAL_SCHEMA: dict[str, str] = {"id": OB_ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "JsonSchema"}
"""OB 3.0's JSON Schema for an ``AchievementCredential``. OB 3.0 names the type
``1EdTechJsonSchemaValidator2019``, which no bundled context defines (JSON-LD safe mode refuses it): VC 2.0's
``JsonSchema`` (a credential schema whose ``id`` is the JSON Schema itself) says the same with a defined term."""

RNCP_FRAMEWORK = "Répertoire national des certifications professionnelles (RNCP)"
CNCP_FRAMEWORK = "Cadre national des certifications professionnelles"
CNCP_URL = "https://www.legifrance.gouv.fr/eli/decret/2019/1/8/MTRD1834949D/jo/texte"
"""Décret n° 2019-14 du 8 janvier 2019 relatif au cadre national des certifications professionnelles."""
EQF_FRAMEWORK = "European Qualifications Framework (EQF)"
EQF_URL = "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32017H0615(01)"
"""Council Recommendation of 22 May 2017 on the European Qualifications Framework for lifelong learning."""
NSF_FRAMEWORK = "Nomenclature des spécialités de formation (NSF)"
THESIS_RESULT = "thesis"
COMPLETED = "Completed"
"""OB 3.0 ``ResultStatusType`` of a bloc validated, a thesis defended with success."""
_DIGITS = re.compile(r"\d+")
LA_POSTE_SIREN = "356000000"
"""The one SIREN whose establishments' SIRETs may not follow the Luhn checksum (their digits then add up to a
multiple of 5)."""


def rncp_fiche_url(rncp_code: str) -> str:
    """The certification's fiche at France Compétences (``RNCP38616`` -> ``.../rncp/38616/``)."""
    return f"https://www.francecompetences.fr/recherche/rncp/{rncp_code.upper().removeprefix('RNCP')}/"


@dataclass(frozen=True)
class Certifier:
    """The certifying body as the credentials name it (``Profile``: legal name, url, SIREN or SIRET, logo,
    the place diplomas are issued at)."""

    name: str = "certifia"
    url: str | None = None
    legal_identifier: str | None = None
    """SIREN (9 digits) or SIRET (14 digits)."""
    image: str | None = None
    """The logo: an https URL or a ``data:image/...;base64,`` URI."""
    place: str | None = None
    """Where diplomas are issued (``Paris``): the issuer's address locality, printed on the PDF."""
    country_code: str = "FR"

    @property
    def legal_identifier_type(self) -> str:
        ident = self.legal_identifier or ""
        return "ext:SIREN" if len(ident) == 9 else "ext:SIRET"


@dataclass(frozen=True)
class Qualification:
    """How the certification sits in the frameworks: its RNCP fiche, its level in the French national
    framework (``niveau 7``), its EQF level, its NSF specialty; each None when not known (then not stated)."""

    rncp_code: str | None = None
    level: int | None = None
    eqf_level: int | None = None
    nsf_code: str | None = None


@dataclass(frozen=True)
class CredentialData:
    """What every credential of this issuer states besides one candidate's facts: the certifier and the
    qualification (configuration), the blocs and whether the rule asks for a thesis (referential)."""

    certifier: Certifier = field(default_factory=Certifier)
    qualification: Qualification = field(default_factory=Qualification)
    blocs: tuple[tuple[str, str], ...] = ()
    """Every bloc of the referential, in its order: (code, title)."""
    thesis_required: bool = False


def issuer_profile(issuer_id: str, certifier: Certifier | None = None) -> dict[str, Any]:
    """The issuer as OB 3.0 describes it (``Profile``): its id is its DID (the controller of its keys)."""
    c = certifier or Certifier()
    profile: dict[str, Any] = {"id": issuer_id, "type": ["Profile"], "name": c.name}
    if c.url:
        profile["url"] = c.url
    if c.image:
        profile["image"] = {"id": c.image, "type": "Image", "caption": f"Logo : {c.name}"}
    if c.legal_identifier:
        profile["otherIdentifier"] = [
            {
                "type": "IdentifierEntry",
                "identifier": c.legal_identifier,
                "identifierType": c.legal_identifier_type,
            }
        ]
    if c.place:
        profile["address"] = {
            "type": ["Address"],
            "addressLocality": c.place,
            "addressCountryCode": c.country_code,
        }
    return profile


def _alignment(name: str, url: str, code: str, framework: str, target_type: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": name,
        "targetUrl": url,
        "targetCode": code,
        "targetFramework": framework,
    }
    if target_type:
        entry["targetType"] = target_type
    return entry


def rncp_alignment(title: str, q: Qualification) -> list[dict[str, Any]]:
    """The certification's RNCP fiche as an OB 3.0 ``Alignment`` (none while its RNCP code is not known)."""
    if not q.rncp_code:
        return []
    return [_alignment(title, rncp_fiche_url(q.rncp_code), q.rncp_code, RNCP_FRAMEWORK, "ceterms:Credential")]


def alignments(title: str, q: Qualification) -> list[dict[str, Any]]:
    """The certification's RNCP fiche, its levels (French framework, EQF) and its NSF specialty, as OB 3.0
    ``Alignment`` entries; what is not known is left out (the NSF entry points at the fiche: none without)."""
    found = rncp_alignment(title, q)
    if q.level is not None:
        name = f"Niveau {q.level}"
        found.append(_alignment(name, CNCP_URL, str(q.level), CNCP_FRAMEWORK, "ext:CNCPLevel"))
    if q.eqf_level is not None:
        name = f"EQF level {q.eqf_level}"
        found.append(_alignment(name, EQF_URL, str(q.eqf_level), EQF_FRAMEWORK, "ext:EQFLevel"))
    if q.nsf_code and q.rncp_code:
        name = f"NSF {q.nsf_code}"
        found.append(_alignment(name, rncp_fiche_url(q.rncp_code), q.nsf_code, NSF_FRAMEWORK, None))
    return found


def result_id(achievement_id: str, what: str) -> str:
    """A result description's id: ``<achievement id>#bloc-<code>`` or ``<achievement id>#thesis``."""
    return f"{achievement_id}#{what}"


def result_descriptions(achievement_id: str, data: CredentialData) -> list[dict[str, Any]]:
    """What the diploma is awarded on, the same for every holder (OB 3.0 ``ResultDescription``): each bloc,
    and the thesis when the rule asks for one; each result is a status (``Completed``)."""
    described = [
        {
            "id": result_id(achievement_id, f"bloc-{code}"),
            "type": ["ResultDescription"],
            "name": f"Bloc {code}: {title}",
            "resultType": "Status",
        }
        for code, title in data.blocs
    ]
    if data.thesis_required:
        described.append(
            {
                "id": result_id(achievement_id, THESIS_RESULT),
                "type": ["ResultDescription"],
                "name": "Professional thesis, defended orally",
                "resultType": "Status",
            }
        )
    return described


def results(
    achievement_id: str, data: CredentialData, *, blocs: tuple[str, ...], thesis: bool
) -> list[dict[str, Any]]:
    """The holder's results (OB 3.0 ``Result``): the blocs the diploma is awarded on and, when it was
    required of them, the thesis defended; each names its ``resultDescription`` on the achievement."""
    known = {code for code, _ in data.blocs}
    done = [f"bloc-{b}" for b in blocs if b in known]
    if thesis and data.thesis_required:
        done.append(THESIS_RESULT)
    return [
        {"type": ["Result"], "resultDescription": result_id(achievement_id, what), "status": COMPLETED}
        for what in done
    ]


def normalised_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str, salt: str) -> str:
    """OB 3.0 ``identityHash`` of an email: ``sha256$`` + hex SHA-256 of the (trimmed, lower-case) address
    followed by the salt."""
    digest = hashlib.sha256((normalised_email(email) + salt).encode()).hexdigest()
    return f"sha256${digest}"


def holder_identifiers(name: str | None, email: str | None, salt: str | None) -> list[dict[str, Any]]:
    """How the credential names its holder (OB 3.0 ``IdentityObject``s): the name in clear (what the
    diploma shows, first), then the email hashed with a salt of this credential's own (whoever knows the
    address can check it is theirs; the credential alone does not give it away)."""
    found: list[dict[str, Any]] = []
    if name:
        found.append(
            {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": name}
        )
    if email and salt:
        found.append(
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": email_hash(email, salt),
                "salt": salt,
            }
        )
    return found


def holds_email(credential: dict[str, Any], email: str) -> bool:
    """Whether ``email`` is the address the credential's hashed ``emailAddress`` identity names."""
    subject = credential.get("credentialSubject")
    identifiers = subject.get("identifier") if isinstance(subject, dict) else None
    for ident in identifiers if isinstance(identifiers, list) else []:
        if not (isinstance(ident, dict) and ident.get("identityType") == "emailAddress"):
            continue
        salt = ident.get("salt")
        if (
            ident.get("hashed")
            and isinstance(salt, str)
            and ident.get("identityHash") == email_hash(email, salt)
        ):
            return True
    return False


def legal_identifier_problem(value: str) -> str | None:
    """Why ``value`` is not a SIREN or SIRET (9 or 14 digits, Luhn checksum); None when it is one."""
    if not (_DIGITS.fullmatch(value) and len(value) in (9, 14)):
        return "must be a SIREN (9 digits) or a SIRET (14 digits)"
    total = 0
    for i, char in enumerate(reversed(value)):
        d = int(char) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    if total % 10 == 0:
        return None
    if len(value) == 14 and value.startswith(LA_POSTE_SIREN) and sum(map(int, value)) % 5 == 0:
        return None  # one of La Poste's establishments
    return "fails its Luhn checksum (a typo?)"
