"""Revoking a diploma (a certification officer's decision): state and event in one unit of work."""

from __future__ import annotations

from dataclasses import dataclass, replace

from certifia_certification.adapters.repository import ProgressRepository
from certifia_certification.domain.credential import iso
from certifia_certification.domain.model import Diploma
from certifia_certification.domain.revocation import Revocation, RevokerRole, revoke
from certifia_shared import event_types as ev
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class RevokeDiploma:
    diploma_id: str
    reason: str
    revoked_by: str
    revoked_by_role: RevokerRole


class UnknownDiploma(LookupError):
    def __init__(self, diploma_id: str) -> None:
        super().__init__(diploma_id)
        self.diploma_id = diploma_id


def revoke_diploma(cmd: RevokeDiploma, *, uow: UnitOfWork) -> tuple[Diploma, bool]:
    """Revoke the diploma; returns it and whether this call revoked it.

    Idempotent: a revoked diploma keeps its first revocation and nothing is emitted again. The diploma row
    is locked (PostgreSQL) and the update only applies to a diploma not yet revoked (any database), so two
    officers revoking at once record one revocation and one ``diploma.revoked``.
    """
    with uow:
        repo = ProgressRepository(uow.session)
        diploma = repo.diploma(cmd.diploma_id, lock=True)
        if diploma is None:
            raise UnknownDiploma(cmd.diploma_id)
        revocation, new = revoke(
            diploma.revocation,
            reason=cmd.reason,
            revoked_by=cmd.revoked_by,
            revoked_by_role=cmd.revoked_by_role,
            at=utcnow().replace(microsecond=0),  # as the event states it
        )
        if not new:
            return diploma, False
        if not repo.record_revocation(diploma.diploma_id, revocation):
            uow.rollback()  # revoked by someone else since we read it: theirs stands
            current = repo.diploma(cmd.diploma_id)
            assert current is not None and current.revocation is not None
            return current, False
        uow.emit(ev.DIPLOMA_REVOKED, subject=diploma.candidate_id, data=_payload(diploma, revocation))
        uow.commit()
        return replace(diploma, revocation=revocation), True


def _payload(diploma: Diploma, revocation: Revocation) -> dict[str, object]:
    return {
        "diploma_id": diploma.diploma_id,
        "candidate_id": diploma.candidate_id,
        "reason": revocation.reason,
        "revoked_at": iso(revocation.revoked_at),
        "revoked_by": revocation.revoked_by,
        "revoked_by_role": revocation.revoked_by_role,
    }
