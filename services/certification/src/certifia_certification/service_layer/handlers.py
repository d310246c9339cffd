"""Certification use cases, one per consumed event.

The consumer opens the unit of work, records the event in the inbox and commits (see
``certifia_shared.consumer``): a handler only changes state and emits. Handlers are also idempotent on
their own (a bloc is certified once, the diploma issued once), so a replay under a new event id is harmless.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from certifia_certification.adapters.keystore import KeyRing
from certifia_certification.adapters.repository import ProgressRepository, StatusListRepository
from certifia_certification.domain.achievement import Certifier, CredentialData, Qualification
from certifia_certification.domain.bloc_credential import (
    BlocFacts,
    bloc_certificate_credential,
    bloc_evidence,
)
from certifia_certification.domain.controller import method_id
from certifia_certification.domain.credential import DiplomaFacts, diploma_credential, iso, sign
from certifia_certification.domain.model import (
    BlocCertificate,
    BlocPass,
    CandidateProgress,
    Defence,
    Diploma,
    Enrolment,
)
from certifia_certification.domain.rule import bloc_order, evaluate
from certifia_certification.domain.status_list import SUSPENSION, StatusEntry, status_entry
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import Referential

STATUS_LISTS_PATH = "status-lists"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issuer:
    """What issuing needs: the rule and title (referential), the signing key, the public address and the
    issuer's DID (whose controller document lists the keys)."""

    referential: Referential
    keys: KeyRing
    base_url: str
    did: str
    data: CredentialData = field(default_factory=CredentialData)
    """What every credential states besides the candidate's facts (``credential_data``)."""

    def verification_url(self, diploma_id: str) -> str:
        return f"{self.base_url}/diplomas/{diploma_id}/verification"

    def verification_page_url(self, diploma_id: str) -> str:
        """The public verification page (HTML, for people), printed on the PDF."""
        return f"{self.base_url}/diplomas/{diploma_id}/verify"

    def pdf_url(self, diploma_id: str) -> str:
        return f"{self.base_url}/diplomas/{diploma_id}/pdf"

    def verification_method(self) -> str:
        """The active key in the issuer's controller document: ``<did>#<key id>``."""
        return method_id(self.did, self.keys.active().kid)

    def status_list_url(self, list_id: str) -> str:
        return f"{self.base_url}/{STATUS_LISTS_PATH}/{list_id}"

    def status_list_id(self, url: str) -> str | None:
        """The list id in a status list URL this service wrote (under whichever base URL it had then: a
        credential whose signature verifies was written by this issuer)."""
        _, found, list_id = url.partition(f"/{STATUS_LISTS_PATH}/")
        return list_id if found and list_id and "/" not in list_id else None


def allocate_status(
    repo: ProgressRepository, issuer: Issuer, *, now: datetime
) -> tuple[StatusEntry, StatusEntry, list[dict[str, str]]]:
    """A new credential's entries in a revocation and a suspension status list, and its ``credentialStatus``
    (a list of the two, as the Bitstring Status List spec allows: a verifier checks each)."""
    lists = StatusListRepository(repo.session)
    revocation, suspension = lists.allocate(now=now), lists.allocate(now=now, purpose=SUSPENSION)
    credential_status = [
        status_entry(issuer.status_list_url(revocation.list_id), revocation.index),
        status_entry(issuer.status_list_url(suspension.list_id), suspension.index, SUSPENSION),
    ]
    return revocation, suspension, credential_status


def credential_data(
    referential: Referential, *, certifier: Certifier, qualification: Qualification
) -> CredentialData:
    """The certifier and qualification (configuration) with the referential's blocs and thesis rule."""
    rule = referential.rule
    return CredentialData(
        certifier=certifier,
        qualification=qualification,
        blocs=tuple((b, referential.bloc(b).title) for b in bloc_order(rule)),
        thesis_required=rule.thesis.required,
    )


def new_salt() -> str:
    """A salt for one credential's hashed email (OB 3.0 ``IdentityObject.salt``): 128 random bits, hex."""
    return secrets.token_hex(16)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


Change = Callable[[CandidateProgress, ProgressRepository], object]


def _apply(event: CloudEvent, uow: UnitOfWork, issuer: Issuer, change: Change) -> None:
    now = utcnow()
    repo = ProgressRepository(uow.session)
    progress = repo.lock(str(event.data["candidate_id"]), now=now)
    change(progress, repo)
    repo.save(progress, now=now)
    settle(progress, repo=repo, uow=uow, issuer=issuer, now=now)


def on_candidate_enrolled(event: CloudEvent, uow: UnitOfWork, *, issuer: Issuer) -> None:
    d = event.data
    enrolment = Enrolment(d["given_name"], d["family_name"], d["email"], d["path"], _at(d["enrolled_at"]))

    def change(progress: CandidateProgress, repo: ProgressRepository) -> None:
        progress.record_enrolment(enrolment)
        repo.set_tenant(progress.candidate_id, d["lms_client"])  # who may see them: certifia_shared.tenancy

    _apply(event, uow, issuer, change)


def on_option_chosen(event: CloudEvent, uow: UnitOfWork, *, issuer: Issuer) -> None:
    d = event.data

    def change(progress: CandidateProgress, _repo: ProgressRepository) -> None:
        if progress.option_locked(d["option"]):
            assert progress.diploma is not None
            log.warning(
                "option %s chosen at %s for candidate %s ignored: their diploma %s in force was awarded on "
                "option %s (enrolment refuses an option change after the diploma)",
                d["option"],
                d["chosen_at"],
                progress.candidate_id,
                progress.diploma.diploma_id,
                progress.diploma.option,
            )
        progress.record_option(d["option"], _at(d["chosen_at"]))

    _apply(event, uow, issuer, change)


def on_bloc_passed(event: CloudEvent, uow: UnitOfWork, *, issuer: Issuer) -> None:
    d = event.data
    bloc_pass = BlocPass(
        bloc=d["bloc"],
        via=d["via"],
        passed_at=_at(d["passed_at"]),
        referential_version=d["referential_version"],
        competencies=tuple(d["competencies"]),
        earned_at=_at(d["earned_at"]) if d.get("earned_at") else None,
    )

    def change(progress: CandidateProgress, repo: ProgressRepository) -> None:
        if progress.record_bloc_pass(bloc_pass):
            repo.add_bloc_pass(progress.candidate_id, bloc_pass)

    _apply(event, uow, issuer, change)


def on_thesis_defended(event: CloudEvent, uow: UnitOfWork, *, issuer: Issuer) -> None:
    d = event.data
    defence = Defence(d["defence_id"], d["mission_id"], d["outcome"], _at(d["defended_at"]))
    _apply(event, uow, issuer, lambda p, _repo: p.record_defence(defence))


def on_candidate_withdrawn(event: CloudEvent, uow: UnitOfWork, *, issuer: Issuer) -> None:
    at = _at(event.data["withdrawn_at"])
    _apply(event, uow, issuer, lambda p, _repo: p.record_withdrawal(at))


def settle(
    progress: CandidateProgress, *, repo: ProgressRepository, uow: UnitOfWork, issuer: Issuer, now: datetime
) -> None:
    """Issue what the candidate's progress now earns: missing bloc certificates, then the diploma."""
    rule = issuer.referential.rule
    for bloc in progress.blocs_without_certificate(bloc_order(rule)):
        certificate = issue_bloc_certificate(progress, bloc, repo=repo, issuer=issuer, now=now)
        repo.add_certificate(certificate)
        progress.certificates[bloc] = certificate
        uow.emit(
            ev.BLOC_CERTIFICATE_ISSUED,
            subject=progress.candidate_id,
            data={
                "certificate_id": certificate.certificate_id,
                "candidate_id": progress.candidate_id,
                "bloc": bloc,
                "issued_at": iso(now),
            },
        )
    if progress.diploma is None and evaluate(rule, progress).satisfied:
        issue_diploma(progress, repo=repo, uow=uow, issuer=issuer, now=now)


def issue_bloc_certificate(
    progress: CandidateProgress, bloc: str, *, repo: ProgressRepository, issuer: Issuer, now: datetime
) -> BlocCertificate:
    """The bloc certificate, signed like the diploma, with its entry in the same revocation status lists."""
    ref, enrolment = issuer.referential, progress.enrolment
    certificate_id = str(uuid.uuid4())
    facts = BlocFacts(
        certificate_id=certificate_id,
        candidate_id=progress.candidate_id,
        holder=f"{enrolment.given_name} {enrolment.family_name}" if enrolment else None,
        bloc=bloc,
        bloc_title=ref.bloc(bloc).title,
        certification_title=ref.certification.title,
        referential_version=ref.version,
        issued_at=now,
        email=enrolment.email if enrolment else None,
        salt=new_salt(),
    )
    entry, suspension_entry, status = allocate_status(repo, issuer, now=now)
    credential = sign(
        bloc_certificate_credential(
            facts,
            issuer_id=issuer.did,
            base_url=issuer.base_url,
            credential_status=status,
            data=issuer.data,
        ),
        issuer.keys.active(),
        verification_method=issuer.verification_method(),
        created=now,
    )
    return BlocCertificate(
        certificate_id,
        progress.candidate_id,
        bloc,
        now,
        credential,
        entry,
        suspension_status=suspension_entry,
    )


def issue_diploma(
    progress: CandidateProgress, *, repo: ProgressRepository, uow: UnitOfWork, issuer: Issuer, now: datetime
) -> Diploma:
    """Sign and record the diploma (the unique constraint on candidate_id makes a second one fail), with its
    revocation status list entry allocated in the same transaction."""
    enrolment = progress.enrolment
    assert enrolment is not None, "the rule requires the enrolment"
    ref = issuer.referential
    result = evaluate(ref.rule, progress)
    diploma_id = str(uuid.uuid4())
    facts = DiplomaFacts(
        diploma_id=diploma_id,
        candidate_id=progress.candidate_id,
        given_name=enrolment.given_name,
        family_name=enrolment.family_name,
        title=ref.certification.title,
        criteria=ref.rule.statement,
        referential_version=ref.version,
        blocs=result.blocs,
        issued_at=now,
        email=enrolment.email,
        salt=new_salt(),
        thesis=result.thesis_required and progress.thesis is not None,
    )
    entry, suspension_entry, credential_status = allocate_status(repo, issuer, now=now)
    credential = sign(
        diploma_credential(
            facts,
            issuer_id=issuer.did,
            base_url=issuer.base_url,
            credential_status=credential_status,
            evidence=[
                bloc_evidence(c.certificate_id, b)
                for b in result.blocs
                if (c := progress.certificates.get(b)) is not None
            ],
            data=issuer.data,
        ),
        issuer.keys.active(),
        verification_method=issuer.verification_method(),
        created=now,
    )
    thesis_id = progress.thesis.defence_id if result.thesis_required and progress.thesis else None
    diploma = Diploma(
        diploma_id=diploma_id,
        candidate_id=progress.candidate_id,
        path=enrolment.path,
        option=progress.option,
        blocs=result.blocs,
        thesis_defence_id=thesis_id,
        issued_at=now,
        credential=credential,
        status=entry,
        suspension_status=suspension_entry,
    )
    repo.add_diploma(diploma)
    progress.diploma = diploma
    uow.emit(
        ev.DIPLOMA_ISSUED, subject=progress.candidate_id, data=_diploma_payload(diploma, progress, issuer)
    )
    return diploma


def _diploma_payload(diploma: Diploma, progress: CandidateProgress, issuer: Issuer) -> dict[str, object]:
    assert progress.enrolment is not None
    data: dict[str, object] = {
        "diploma_id": diploma.diploma_id,
        "candidate_id": diploma.candidate_id,
        "given_name": progress.enrolment.given_name,
        "family_name": progress.enrolment.family_name,
        "path": diploma.path,
        "blocs": list(diploma.blocs),
        "thesis_defence_id": diploma.thesis_defence_id,
        "issued_at": iso(diploma.issued_at),
        "verification_url": issuer.verification_url(diploma.diploma_id),
    }
    if diploma.option is not None:
        data["option"] = diploma.option
    return data


def event_handlers(issuer: Issuer) -> dict[str, Handler]:
    return {
        ev.CANDIDATE_ENROLLED: partial(on_candidate_enrolled, issuer=issuer),
        ev.OPTION_CHOSEN: partial(on_option_chosen, issuer=issuer),
        ev.CANDIDATE_WITHDRAWN: partial(on_candidate_withdrawn, issuer=issuer),
        ev.BLOC_PASSED: partial(on_bloc_passed, issuer=issuer),
        ev.THESIS_DEFENDED: partial(on_thesis_defended, issuer=issuer),
    }
