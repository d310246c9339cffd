"""Revoking a diploma or a bloc certificate (a certification officer's decision): state and event in one unit
of work.

Revoking a diploma leaves the candidate's bloc certificates valid unless the officer includes them: an RNCP
bloc is certified on its own (a candidate may hold bloc certificates without ever earning the diploma), so a
diploma revoked for a reason that does not touch the blocs (e.g. a thesis found plagiarised) leaves the blocs
the candidate passed certified. Where the reason taints the blocs too (fraud in the assessments), the officer
asks for ``include_bloc_certificates`` and each bloc certificate is revoked with its own event."""

from __future__ import annotations

from dataclasses import dataclass, replace

from certifia_certification.domain.credential import iso
from certifia_certification.domain.errors import UnknownBlocCertificate, UnknownDiploma
from certifia_certification.domain.model import BlocCertificate, Diploma
from certifia_certification.domain.revocation import Revocation, RevokerRole, revoke
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class RevokeDiploma:
    diploma_id: str
    reason: str
    revoked_by: str
    revoked_by_role: RevokerRole
    include_bloc_certificates: bool = False
    """Revoke the candidate's bloc certificates too (each not yet revoked, with the same reason)."""


@dataclass(frozen=True)
class RevokeBlocCertificate:
    certificate_id: str
    reason: str
    revoked_by: str
    revoked_by_role: RevokerRole


@dataclass(frozen=True)
class DiplomaRevoked:
    """What revoking a diploma did: the diploma (with the revocation in force), whether this call revoked it,
    and the bloc certificates this call revoked with it."""

    diploma: Diploma
    new: bool
    bloc_certificates: tuple[BlocCertificate, ...] = ()


def revoke_diploma(cmd: RevokeDiploma, *, uow: CertificationUnitOfWork) -> tuple[Diploma, bool]:
    """Revoke the diploma; returns it and whether this call revoked it (``revoke_diploma_and_blocs``)."""
    result = revoke_diploma_and_blocs(cmd, uow=uow)
    return result.diploma, result.new


def revoke_diploma_and_blocs(cmd: RevokeDiploma, *, uow: CertificationUnitOfWork) -> DiplomaRevoked:
    """Revoke the diploma and, with ``include_bloc_certificates``, the candidate's bloc certificates.

    Idempotent: a revoked diploma keeps its first revocation and nothing is emitted again. The diploma row
    is locked (PostgreSQL) and the update only applies to a diploma not yet revoked (any database), so two
    officers revoking at once record one revocation and one ``diploma.revoked``. Asking again with
    ``include_bloc_certificates`` revokes the bloc certificates not yet revoked (the diploma's first
    revocation stands).
    """
    with uow:
        diploma = uow.progress.diploma(cmd.diploma_id, lock=True)
        if diploma is None:
            raise UnknownDiploma(cmd.diploma_id)
        result = _revoke_diploma(cmd, diploma, uow=uow)
        blocs: tuple[BlocCertificate, ...] = ()
        if cmd.include_bloc_certificates:
            assert result.diploma.revocation is not None
            blocs = _revoke_blocs(result.diploma, uow=uow, like=cmd)
        if result.new or blocs:
            uow.commit()
        return DiplomaRevoked(result.diploma, result.new, blocs)


def _revoke_diploma(cmd: RevokeDiploma, diploma: Diploma, *, uow: CertificationUnitOfWork) -> DiplomaRevoked:
    revocation, new = revoke(
        diploma.revocation,
        reason=cmd.reason,
        revoked_by=cmd.revoked_by,
        revoked_by_role=cmd.revoked_by_role,
        at=utcnow().replace(microsecond=0),  # as the event states it
    )
    if not new:
        return DiplomaRevoked(diploma, False)
    if not uow.progress.record_revocation(diploma.diploma_id, revocation):
        uow.rollback()  # revoked by someone else since we read it: theirs stands
        current = uow.progress.diploma(cmd.diploma_id)
        assert current is not None and current.revocation is not None
        return DiplomaRevoked(current, False)
    uow.emit(ev.DIPLOMA_REVOKED, subject=diploma.candidate_id, data=_payload(diploma, revocation))
    return DiplomaRevoked(replace(diploma, revocation=revocation), True)


def _revoke_blocs(
    diploma: Diploma, *, uow: CertificationUnitOfWork, like: RevokeDiploma
) -> tuple[BlocCertificate, ...]:
    """Revoke the candidate's bloc certificates not yet revoked, each with its ``bloc_certificate.revoked``
    (naming the diploma), at the moment and for the reason of this request."""
    revoked = []
    for certificate in uow.progress.certificates_of(diploma.candidate_id, lock=True):
        done = _revoke_certificate(
            certificate,
            RevokeBlocCertificate(
                certificate.certificate_id, like.reason, like.revoked_by, like.revoked_by_role
            ),
            uow=uow,
            diploma_id=diploma.diploma_id,
        )
        if done is not None:
            revoked.append(done)
    return tuple(revoked)


def _revoke_certificate(
    certificate: BlocCertificate,
    cmd: RevokeBlocCertificate,
    *,
    uow: CertificationUnitOfWork,
    diploma_id: str | None = None,
) -> BlocCertificate | None:
    """The certificate revoked by this call, with its event emitted; None when it already was."""
    revocation, new = revoke(
        certificate.revocation,
        reason=cmd.reason,
        revoked_by=cmd.revoked_by,
        revoked_by_role=cmd.revoked_by_role,
        at=utcnow().replace(microsecond=0),
    )
    if not new or not uow.progress.record_certificate_revocation(certificate.certificate_id, revocation):
        return None
    data = _certificate_payload(certificate, revocation)
    if diploma_id is not None:
        data["diploma_id"] = diploma_id
    uow.emit(ev.BLOC_CERTIFICATE_REVOKED, subject=certificate.candidate_id, data=data)
    return replace(certificate, revocation=revocation)


def revoke_bloc_certificate(
    cmd: RevokeBlocCertificate, *, uow: CertificationUnitOfWork
) -> tuple[BlocCertificate, bool]:
    """Revoke one bloc certificate; returns it (with the revocation in force) and whether this call revoked
    it. Idempotent and race-safe as a diploma's revocation: one revocation, one ``bloc_certificate.revoked``.
    """
    with uow:
        certificate = uow.progress.certificate(cmd.certificate_id, lock=True)
        if certificate is None:
            raise UnknownBlocCertificate(cmd.certificate_id)
        revoked = _revoke_certificate(certificate, cmd, uow=uow)
        if revoked is None:
            uow.rollback()
            current = uow.progress.certificate(cmd.certificate_id)
            assert current is not None and current.revocation is not None
            return current, False
        uow.commit()
        return revoked, True


def _certificate_payload(certificate: BlocCertificate, revocation: Revocation) -> dict[str, object]:
    return {
        "certificate_id": certificate.certificate_id,
        "candidate_id": certificate.candidate_id,
        "bloc": certificate.bloc,
        "reason": revocation.reason,
        "revoked_at": iso(revocation.revoked_at),
        "revoked_by": revocation.revoked_by,
        "revoked_by_role": revocation.revoked_by_role,
    }


def _payload(diploma: Diploma, revocation: Revocation) -> dict[str, object]:
    return {
        "diploma_id": diploma.diploma_id,
        "candidate_id": diploma.candidate_id,
        "reason": revocation.reason,
        "revoked_at": iso(revocation.revoked_at),
        "revoked_by": revocation.revoked_by,
        "revoked_by_role": revocation.revoked_by_role,
    }
