"""Read models: what the GET routes show, read through the unit of work (cosmicpython's ``views.py``).

Each opens its own transaction and raises the domain's refusal (``UnknownCandidate``, ``UnknownDiploma``...)
that the error map answers; the routes only add who may see it (tenancy) and shape the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certifia_certification.domain.bloc_credential import bloc_achievement
from certifia_certification.domain.credential import CONTEXT, diploma_achievement
from certifia_certification.domain.errors import (
    NoDiplomaYet,
    UnknownAchievement,
    UnknownBloc,
    UnknownBlocCertificate,
    UnknownCandidate,
    UnknownDiploma,
)
from certifia_certification.domain.model import BlocCertificate, BlocPass, CandidateProgress, Diploma
from certifia_certification.domain.rule import Missing, bloc_order, evaluate
from certifia_certification.domain.signing import jwk
from certifia_certification.domain.suspension import CredentialKind
from certifia_certification.service_layer.issuance import CredentialIssuance
from certifia_certification.service_layer.suspension import SuspensionState, held_credential
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_certification.service_layer.verification import controller_document, published_status_list
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class ThesisView:
    required: bool
    status: str
    """``not_defended``, ``passed`` or ``failed``."""
    defence_id: str | None
    defended_at: datetime | None


@dataclass(frozen=True)
class ProgressView:
    """A candidate's progress as the rule judges it now: what they passed and hold, what is missing."""

    candidate_id: str
    enrolled: bool
    given_name: str | None
    family_name: str | None
    path: str | None
    option: str | None
    blocs_passed: list[str]
    """Codes of the passed blocs, in the referential's order (details in ``blocs``)."""
    blocs: list[BlocPass]
    certificates: list[BlocCertificate]
    """In the referential's order."""
    thesis: ThesisView
    missing: list[Missing]
    diploma_id: str | None


def _progress(uow: CertificationUnitOfWork, candidate_id: str) -> CandidateProgress:
    with uow:
        progress = uow.progress.get(candidate_id)
    if progress is None:
        raise UnknownCandidate(candidate_id)
    return progress


def progress_view(progress: CandidateProgress, issuance: CredentialIssuance) -> ProgressView:
    """The rule's verdict on ``progress``, its passes and certificates in the referential's order."""
    rule = issuance.referential.rule
    result = evaluate(rule, progress)
    order = {b: i for i, b in enumerate(bloc_order(rule))}

    def rank(bloc: str) -> int:
        return order.get(bloc, len(order))

    e, t = progress.enrolment, progress.thesis
    passes = sorted(progress.blocs.values(), key=lambda p: rank(p.bloc))
    return ProgressView(
        candidate_id=progress.candidate_id,
        enrolled=e is not None,
        given_name=e.given_name if e else None,
        family_name=e.family_name if e else None,
        path=e.path if e else None,
        option=progress.option,
        blocs_passed=[p.bloc for p in passes],
        blocs=passes,
        certificates=sorted(progress.certificates.values(), key=lambda c: rank(c.bloc)),
        thesis=ThesisView(
            required=result.thesis_required,
            status=t.outcome if t else "not_defended",
            defence_id=t.defence_id if t else None,
            defended_at=t.defended_at if t else None,
        ),
        missing=list(result.missing),
        diploma_id=progress.diploma.diploma_id if progress.diploma else None,
    )


def candidate_progress(
    candidate_id: str, *, uow: CertificationUnitOfWork, issuance: CredentialIssuance
) -> ProgressView:
    """The candidate's progress (``UnknownCandidate`` when no event about them arrived)."""
    return progress_view(_progress(uow, candidate_id), issuance)


def candidate_diploma(candidate_id: str, *, uow: CertificationUnitOfWork) -> Diploma:
    """The candidate's diploma (``UnknownCandidate``; ``NoDiplomaYet`` when they hold none)."""
    progress = _progress(uow, candidate_id)
    if progress.diploma is None:
        raise NoDiplomaYet(candidate_id)
    return progress.diploma


def diploma(diploma_id: str, *, uow: CertificationUnitOfWork) -> Diploma:
    """The diploma (``UnknownDiploma``)."""
    with uow:
        found = uow.progress.diploma(diploma_id)
    if found is None:
        raise UnknownDiploma(diploma_id)
    return found


def bloc_certificate(certificate_id: str, *, uow: CertificationUnitOfWork) -> BlocCertificate:
    """The bloc certificate (``UnknownBlocCertificate``)."""
    with uow:
        found = uow.progress.certificate(certificate_id)
    if found is None:
        raise UnknownBlocCertificate(certificate_id)
    return found


def did_document(*, uow: CertificationUnitOfWork, issuance: CredentialIssuance) -> dict[str, Any]:
    """The issuer's controller document (``did:web``): every key it ever signed with."""
    with uow:
        return controller_document(uow, issuance)


def jwks(*, uow: CertificationUnitOfWork) -> dict[str, list[dict[str, str]]]:
    """Every public key the issuer ever signed with, as a JWK Set."""
    with uow:
        keys = uow.keys.public_keys()
    return {"keys": [jwk(k) for k in keys.values()]}


def status_list(
    list_id: str, *, uow: CertificationUnitOfWork, issuance: CredentialIssuance
) -> dict[str, Any] | None:
    """The signed status list credential as of now; None for a list this service does not have."""
    with uow:
        return published_status_list(list_id, uow=uow, issuance=issuance, now=utcnow())


def suspension_state(
    kind: CredentialKind, credential_id: str, *, uow: CertificationUnitOfWork
) -> SuspensionState:
    """The credential's suspension in force and its history (``UnknownDiploma``, ``UnknownBlocCertificate``)."""
    with uow:
        held = held_credential(uow, kind, credential_id)
        history = tuple(uow.suspensions.history(kind, credential_id))
        return SuspensionState(held.candidate_id, held.suspension, history, False)


def _current_achievement(achievement_id: str, issuance: CredentialIssuance) -> None:
    current = f"referential-{issuance.referential.version}"
    if achievement_id != current:
        raise UnknownAchievement(achievement_id, current)


def achievement(achievement_id: str, *, issuance: CredentialIssuance) -> dict[str, Any]:
    """The diploma's achievement (OB 3.0 ``Achievement``), as the diplomas embed it; only the current
    referential's (``UnknownAchievement``)."""
    _current_achievement(achievement_id, issuance)
    ref = issuance.referential
    found = diploma_achievement(
        base_url=issuance.base_url,
        title=ref.certification.title,
        criteria=ref.rule.statement,
        referential_version=ref.version,
        data=issuance.data,
    )
    return {"@context": CONTEXT, **found}


def bloc_achievement_of(achievement_id: str, bloc: str, *, issuance: CredentialIssuance) -> dict[str, Any]:
    """A bloc's achievement (``achievementType`` ``Certificate``), as its bloc certificates embed it
    (``UnknownAchievement``, ``UnknownBloc``)."""
    _current_achievement(achievement_id, issuance)
    titles = dict(issuance.data.blocs)
    if bloc not in titles:
        raise UnknownBloc(bloc, tuple(titles))
    ref = issuance.referential
    found = bloc_achievement(
        base_url=issuance.base_url,
        referential_version=ref.version,
        bloc=bloc,
        bloc_title=titles[bloc],
        certification_title=ref.certification.title,
        data=issuance.data,
    )
    return {"@context": CONTEXT, **found}
