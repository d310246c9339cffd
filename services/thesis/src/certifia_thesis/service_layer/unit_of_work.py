"""The thesis unit of work: one transaction, and the repositories that read and write in it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from certifia_shared.db import UnitOfWork
from certifia_thesis.adapters.repository import (
    AppealRepository,
    CandidateRepository,
    DefenceRepository,
    DepositRepository,
    MissionRepository,
    ScheduleRepository,
)


class ThesisUnitOfWork(UnitOfWork):
    """``uow.candidates``, ``uow.missions``, ``uow.deposits``, ``uow.schedules``, ``uow.defences`` and
    ``uow.appeals``, each on this transaction's session (opened again on every enter, cosmicpython's
    ``self.batches = ...``)."""

    candidates: CandidateRepository
    missions: MissionRepository
    deposits: DepositRepository
    schedules: ScheduleRepository
    defences: DefenceRepository
    appeals: AppealRepository

    def open_repositories(self, session: Session) -> None:
        self.candidates = CandidateRepository(session)
        self.missions = MissionRepository(session)
        self.deposits = DepositRepository(session)
        self.schedules = ScheduleRepository(session)
        self.defences = DefenceRepository(session)
        self.appeals = AppealRepository(session)
