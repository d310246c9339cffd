"""What the verification page and the PDF say about a diploma, in French, for an employer. Plain Python, no
I/O: built from the diploma's credential and the one check the JSON verification computes
(``CredentialCheck``); rendering (HTML, PDF) happens at the edges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from certifia_certification.domain.credential import CredentialCheck, CredentialSummary, Failure

Status = Literal["authentic", "revoked", "suspended", "invalid"]

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
UNKNOWN = "non indiqué"

AUTHENTIC = "Diplôme authentique"
AUTHENTIC_DETAIL = (
    "La signature électronique (Ed25519) de l'émetteur est valide, le contenu n'a pas été modifié "
    "et le diplôme n'a pas été révoqué."
)
FAILURES: dict[Failure, tuple[str, str]] = {
    "not_accepted": (
        "Document non reconnu : ce n'est pas un diplôme de cet émetteur",
        "Le document présenté n'est pas un diplôme que cet émetteur délivre.",
    ),
    "unknown_issuer": (
        "Diplôme non authentique : émetteur inconnu",
        "Le diplôme ne désigne pas cet émetteur comme son émetteur.",
    ),
    "not_yet_valid": (
        "Diplôme non valide : période de validité non commencée",
        "La date de début de validité du diplôme est absente, illisible ou pas encore atteinte.",
    ),
    "expired": (
        "Diplôme non valide : expiré",
        "La date de fin de validité du diplôme est dépassée.",
    ),
    "bad_signature": (
        "Diplôme non authentique : la signature ne correspond pas au contenu",
        "Le diplôme a été modifié après sa signature par l'émetteur.",
    ),
    "unknown_key": (
        "Diplôme non authentique : clé de signature inconnue",
        "Le diplôme n'a pas été signé par une clé de cet émetteur.",
    ),
    "no_proof": (
        "Diplôme non authentique : aucune signature",
        "Le diplôme ne porte pas la signature de l'émetteur.",
    ),
    "unsupported_proof": (
        "Diplôme non vérifiable : type de signature non pris en charge",
        "La signature du diplôme n'est pas d'un type que cet émetteur utilise.",
    ),
    "status_unchecked": (
        "Diplôme non vérifiable : statut de révocation indisponible",
        "La liste de statut de révocation que désigne le diplôme ne peut pas être lue.",
    ),
    "revoked": (
        "Diplôme révoqué",
        "La liste de statut de révocation de l'émetteur indique que ce diplôme est révoqué.",
    ),
    "suspended": (
        "Diplôme suspendu",
        "La liste de statut de suspension de l'émetteur indique que ce diplôme est suspendu.",
    ),
}
SUSPENDED_DETAIL = (
    "L'émetteur a suspendu ce diplôme le temps d'un examen (recours, enquête) : il n'atteste pas la "
    "certification tant que la suspension n'est pas levée."
)

FAILED = ("Diplôme non authentique", "La vérification du diplôme a échoué.")


def french_date(day: date) -> str:
    """``1er juillet 2026``, ``29 novembre 2026``."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def french_timestamp(value: str | None) -> str:
    """An ISO 8601 timestamp as a French date (UTC day); text that is not one is shown as it is."""
    if not value:
        return UNKNOWN
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return french_date((moment.astimezone(UTC) if moment.tzinfo else moment).date())


@dataclass(frozen=True)
class DiplomaView:
    diploma_id: str
    holder: str
    title: str
    rncp: str | None
    issued_on: str
    issuer: str
    issuer_url: str | None
    key_id: str | None
    verification_url: str
    status: Status
    verdict: str
    """``Diplôme authentique``, ``Diplôme révoqué le <date> : <motif>``, or why it is not authentic."""
    detail: str
    revoked_on: str | None = None
    revocation_reason: str | None = None
    level: str | None = None
    """``niveau 7`` (French national framework), when the credential states it."""
    eqf_level: str | None = None
    """``niveau 7 du cadre européen (EQF)``, when the credential states it."""
    place: str | None = None
    """Where it was issued (``Paris``), when the credential states it."""

    @property
    def authentic(self) -> bool:
        return self.status == "authentic"

    @property
    def signed_by_issuer(self) -> bool:
        """Whether what the diploma states is the issuer's (its signature holds; it may be revoked since)."""
        return self.status != "invalid"

    @property
    def stamp(self) -> str | None:
        """What the PDF is stamped with when the diploma is not (or no longer) valid."""
        return {"revoked": "RÉVOQUÉ", "suspended": "SUSPENDU", "invalid": "NON AUTHENTIQUE"}.get(self.status)


def _verdict(check: CredentialCheck) -> tuple[Status, str, str, str | None]:
    """Status, verdict, detail and the revocation day."""
    if check.valid:
        return "authentic", AUTHENTIC, AUTHENTIC_DETAIL, None
    if check.revocation is not None:
        day = french_date(check.revocation.revoked_at.astimezone(UTC).date())
        detail = "L'émetteur a révoqué ce diplôme : il n'atteste plus la certification."
        return "revoked", f"Diplôme révoqué le {day} : {check.revocation.reason}", detail, day
    if check.suspension is not None:
        day = french_date(check.suspension.suspended_at.astimezone(UTC).date())
        return (
            "suspended",
            f"Diplôme suspendu depuis le {day} : {check.suspension.reason}",
            SUSPENDED_DETAIL,
            None,
        )
    verdict, detail = FAILURES[check.failure] if check.failure else FAILED
    kept: dict[Failure | None, Status] = {"revoked": "revoked", "suspended": "suspended"}
    return kept.get(check.failure, "invalid"), verdict, detail, None


def diploma_view(
    diploma_id: str, summary: CredentialSummary, check: CredentialCheck, *, verification_url: str
) -> DiplomaView:
    """The diploma as the page and the PDF present it: what its credential states, and the check's verdict."""
    status, verdict, detail, revoked_on = _verdict(check)
    return DiplomaView(
        diploma_id=diploma_id,
        holder=summary.holder or UNKNOWN,
        title=summary.title or UNKNOWN,
        rncp=summary.rncp,
        issued_on=french_timestamp(summary.valid_from),
        issuer=summary.issuer_name or UNKNOWN,
        issuer_url=summary.issuer_id,
        key_id=check.kid,
        verification_url=verification_url,
        status=status,
        verdict=verdict,
        detail=detail,
        revoked_on=revoked_on,
        revocation_reason=check.revocation.reason if check.revocation else None,
        level=f"niveau {summary.level}" if summary.level else None,
        eqf_level=f"niveau {summary.eqf_level} du cadre européen des certifications (EQF)"
        if summary.eqf_level
        else None,
        place=summary.place,
    )
