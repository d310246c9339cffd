"""Suspending a diploma or a bloc certificate (an officer's decision while an appeal or an investigation runs)
and lifting the suspension: the state in force and its history in one unit of work.

No event is emitted: the bus has no suspension event type yet (a suspension is public through verification
and the suspension status list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from certifia_certification.domain.errors import UnknownBlocCertificate, UnknownDiploma
from certifia_certification.domain.model import BlocCertificate, Diploma
from certifia_certification.domain.suspension import (
    AlreadyRevoked,
    CredentialKind,
    SuspenderRole,
    Suspension,
    SuspensionRecord,
    lift,
    suspend,
)
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class ChangeSuspension:
    kind: CredentialKind
    credential_id: str
    action: Literal["suspend", "lift"]
    reason: str
    by: str
    by_role: SuspenderRole


@dataclass(frozen=True)
class SuspensionState:
    """A credential's suspension after a request: the one in force (None: not suspended), its whole history,
    and whether this request changed anything."""

    candidate_id: str
    suspension: Suspension | None
    history: tuple[SuspensionRecord, ...]
    changed: bool


def held_credential(
    uow: CertificationUnitOfWork, kind: CredentialKind, credential_id: str
) -> Diploma | BlocCertificate:
    """The diploma or bloc certificate, its row locked (``UnknownDiploma``, ``UnknownBlocCertificate``)."""
    found: Diploma | BlocCertificate | None
    if kind == "diploma":
        found = uow.progress.diploma(credential_id, lock=True)
        if found is None:
            raise UnknownDiploma(credential_id)
    else:
        found = uow.progress.certificate(credential_id, lock=True)
        if found is None:
            raise UnknownBlocCertificate(credential_id)
    return found


def change_suspension(cmd: ChangeSuspension, *, uow: CertificationUnitOfWork) -> SuspensionState:
    """Suspend (idempotent: a suspended credential keeps the suspension in force) or lift (idempotent: lifting
    when not suspended changes nothing). A revoked credential is not suspended (``AlreadyRevoked``). The row
    is locked (PostgreSQL) and each update applies only to the state it was read in (any database), so two
    officers at once record one change."""
    with uow:
        suspensions = uow.suspensions
        held = held_credential(uow, cmd.kind, cmd.credential_id)
        at = utcnow().replace(microsecond=0)
        current, record = held.suspension, None
        if cmd.action == "suspend":
            if held.revocation is not None:
                raise AlreadyRevoked(cmd.kind, cmd.credential_id, held.revocation)
            after, record = suspend(current, reason=cmd.reason, by=cmd.by, by_role=cmd.by_role, at=at)
            applied = record is None or suspensions.suspend(cmd.kind, cmd.credential_id, after)
        else:
            record, after = lift(current, reason=cmd.reason, by=cmd.by, by_role=cmd.by_role, at=at), None
            applied = record is None or (
                current is not None and suspensions.lift(cmd.kind, cmd.credential_id, current)
            )
        if record is not None and applied:
            suspensions.record(cmd.kind, cmd.credential_id, record)
            uow.commit()
        elif not applied:  # changed by someone else since we read it: theirs stands
            uow.rollback()
            after = held_credential(uow, cmd.kind, cmd.credential_id).suspension
        history = tuple(suspensions.history(cmd.kind, cmd.credential_id))
        return SuspensionState(held.candidate_id, after, history, record is not None and applied)
