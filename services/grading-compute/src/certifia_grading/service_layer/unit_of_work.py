"""grading-compute's unit of work: one transaction, and the repositories that work inside it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from certifia_grading.adapters.repository import CandidateRepository, JobRepository
from certifia_shared.db import UnitOfWork


class GradingUnitOfWork(UnitOfWork):
    """``uow.jobs`` (the grading jobs and the fair queue) and ``uow.candidates`` (tenant and extra time)."""

    jobs: JobRepository
    candidates: CandidateRepository

    def open_repositories(self, session: Session) -> None:
        self.jobs = JobRepository(session)
        self.candidates = CandidateRepository(session)
