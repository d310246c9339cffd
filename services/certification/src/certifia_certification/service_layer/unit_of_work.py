"""The certification's unit of work: one transaction, and the repositories that read and write in it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from certifia_certification.adapters.keystore import SigningKeyRepository
from certifia_certification.adapters.repository import ProgressRepository, StatusListRepository
from certifia_certification.adapters.suspensions import SuspensionRepository
from certifia_shared.db import UnitOfWork


class CertificationUnitOfWork(UnitOfWork):
    """``uow.progress`` (candidates' progress, bloc certificates, diplomas), ``uow.status_lists``,
    ``uow.suspensions`` (the suspension in force and its history) and ``uow.keys`` (the signing keys)."""

    progress: ProgressRepository
    status_lists: StatusListRepository
    suspensions: SuspensionRepository
    keys: SigningKeyRepository

    def open_repositories(self, session: Session) -> None:
        self.progress = ProgressRepository(session)
        self.status_lists = StatusListRepository(session)
        self.suspensions = SuspensionRepository(session)
        self.keys = SigningKeyRepository(session)
