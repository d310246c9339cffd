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
from datetime import datetime
from functools import partial

from certifia_certification.domain.bloc_credential import (
    BlocFacts,
    bloc_certificate_credential,
    bloc_evidence,
)
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
from certifia_certification.service_layer.issuance import CredentialIssuance
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.envelope import CloudEvent, event_time, utcnow

log = logging.getLogger(__name__)


def allocate_status(
    uow: CertificationUnitOfWork, issuance: CredentialIssuance, *, now: datetime
) -> tuple[StatusEntry, StatusEntry, list[dict[str, str]]]:
    """A new credential's entries in a revocation and a suspension status list, and its ``credentialStatus``
    (a list of the two, as the Bitstring Status List spec allows: a verifier checks each)."""
    lists = uow.status_lists
    revocation, suspension = lists.allocate(now=now), lists.allocate(now=now, purpose=SUSPENSION)
    credential_status = [
        status_entry(issuance.status_list_url(revocation.list_id), revocation.index),
        status_entry(issuance.status_list_url(suspension.list_id), suspension.index, SUSPENSION),
    ]
    return revocation, suspension, credential_status


def new_salt() -> str:
    """A salt for one credential's hashed email (OB 3.0 ``IdentityObject.salt``): 128 random bits, hex."""
    return secrets.token_hex(16)


Change = Callable[[CandidateProgress, CertificationUnitOfWork], object]


def _apply(
    event: CloudEvent, uow: CertificationUnitOfWork, issuance: CredentialIssuance, change: Change
) -> None:
    now = utcnow()
    progress = uow.progress.lock(str(event.data["candidate_id"]), now=now)
    change(progress, uow)
    uow.progress.save(progress, now=now)
    settle(progress, uow=uow, issuance=issuance, now=now)


def on_candidate_enrolled(
    event: CloudEvent, uow: CertificationUnitOfWork, *, issuance: CredentialIssuance
) -> None:
    d = event.data
    enrolment = Enrolment(
        d["given_name"], d["family_name"], d["email"], d["path"], event_time(d["enrolled_at"])
    )

    def change(progress: CandidateProgress, uow: CertificationUnitOfWork) -> None:
        progress.record_enrolment(enrolment)
        uow.progress.set_tenant(
            progress.candidate_id, d["lms_client"]
        )  # who may see them: certifia_shared.tenancy

    _apply(event, uow, issuance, change)


def on_option_chosen(
    event: CloudEvent, uow: CertificationUnitOfWork, *, issuance: CredentialIssuance
) -> None:
    d = event.data

    def change(progress: CandidateProgress, _uow: CertificationUnitOfWork) -> None:
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
        progress.record_option(d["option"], event_time(d["chosen_at"]))

    _apply(event, uow, issuance, change)


def on_bloc_passed(event: CloudEvent, uow: CertificationUnitOfWork, *, issuance: CredentialIssuance) -> None:
    d = event.data
    bloc_pass = BlocPass(
        bloc=d["bloc"],
        via=d["via"],
        passed_at=event_time(d["passed_at"]),
        referential_version=d["referential_version"],
        competencies=tuple(d["competencies"]),
        earned_at=event_time(d["earned_at"]) if d.get("earned_at") else None,
    )

    def change(progress: CandidateProgress, uow: CertificationUnitOfWork) -> None:
        if progress.record_bloc_pass(bloc_pass):
            uow.progress.add_bloc_pass(progress.candidate_id, bloc_pass)

    _apply(event, uow, issuance, change)


def on_thesis_defended(
    event: CloudEvent, uow: CertificationUnitOfWork, *, issuance: CredentialIssuance
) -> None:
    d = event.data
    defence = Defence(d["defence_id"], d["mission_id"], d["outcome"], event_time(d["defended_at"]))
    _apply(event, uow, issuance, lambda p, _uow: p.record_defence(defence))


def on_candidate_withdrawn(
    event: CloudEvent, uow: CertificationUnitOfWork, *, issuance: CredentialIssuance
) -> None:
    at = event_time(event.data["withdrawn_at"])
    _apply(event, uow, issuance, lambda p, _uow: p.record_withdrawal(at))


def settle(
    progress: CandidateProgress, *, uow: CertificationUnitOfWork, issuance: CredentialIssuance, now: datetime
) -> None:
    """Issue what the candidate's progress now earns: missing bloc certificates, then the diploma."""
    rule = issuance.referential.rule
    for bloc in progress.blocs_without_certificate(bloc_order(rule)):
        certificate = issue_bloc_certificate(progress, bloc, uow=uow, issuance=issuance, now=now)
        uow.progress.add_certificate(certificate)
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
        issue_diploma(progress, uow=uow, issuance=issuance, now=now)


def issue_bloc_certificate(
    progress: CandidateProgress,
    bloc: str,
    *,
    uow: CertificationUnitOfWork,
    issuance: CredentialIssuance,
    now: datetime,
) -> BlocCertificate:
    """The bloc certificate, signed like the diploma, with its entry in the same revocation status lists."""
    ref, enrolment = issuance.referential, progress.enrolment
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
    entry, suspension_entry, status = allocate_status(uow, issuance, now=now)
    credential = sign(
        bloc_certificate_credential(
            facts,
            issuer_id=issuance.did,
            base_url=issuance.base_url,
            credential_status=status,
            data=issuance.data,
        ),
        issuance.keys.active(),
        verification_method=issuance.verification_method(),
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
    progress: CandidateProgress, *, uow: CertificationUnitOfWork, issuance: CredentialIssuance, now: datetime
) -> Diploma:
    """Sign and record the diploma (the unique constraint on candidate_id makes a second one fail), with its
    revocation status list entry allocated in the same transaction."""
    enrolment = progress.enrolment
    assert enrolment is not None, "the rule requires the enrolment"
    ref = issuance.referential
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
    entry, suspension_entry, credential_status = allocate_status(uow, issuance, now=now)
    credential = sign(
        diploma_credential(
            facts,
            issuer_id=issuance.did,
            base_url=issuance.base_url,
            credential_status=credential_status,
            evidence=[
                bloc_evidence(c.certificate_id, b)
                for b in result.blocs
                if (c := progress.certificates.get(b)) is not None
            ],
            data=issuance.data,
        ),
        issuance.keys.active(),
        verification_method=issuance.verification_method(),
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
    uow.progress.add_diploma(diploma)
    progress.diploma = diploma
    uow.emit(
        ev.DIPLOMA_ISSUED, subject=progress.candidate_id, data=_diploma_payload(diploma, progress, issuance)
    )
    return diploma


def _diploma_payload(
    diploma: Diploma, progress: CandidateProgress, issuance: CredentialIssuance
) -> dict[str, object]:
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
        "verification_url": issuance.verification_url(diploma.diploma_id),
    }
    if diploma.option is not None:
        data["option"] = diploma.option
    return data


def event_handlers(issuance: CredentialIssuance) -> dict[str, Handler[CertificationUnitOfWork]]:
    return {
        ev.CANDIDATE_ENROLLED: partial(on_candidate_enrolled, issuance=issuance),
        ev.OPTION_CHOSEN: partial(on_option_chosen, issuance=issuance),
        ev.CANDIDATE_WITHDRAWN: partial(on_candidate_withdrawn, issuance=issuance),
        ev.BLOC_PASSED: partial(on_bloc_passed, issuance=issuance),
        ev.THESIS_DEFENDED: partial(on_thesis_defended, issuance=issuance),
    }
