"""The assessment unit of work: one transaction, and the repositories that read and write in it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from certifia_assessment.adapters.governance_repository import GovernanceRepository
from certifia_assessment.adapters.proposals_repository import ProposalRepository
from certifia_assessment.adapters.repository import (
    AppealRepository,
    CandidateRepository,
    DecisionRepository,
    SubmissionRepository,
)
from certifia_shared.db import UnitOfWork


class AssessmentUnitOfWork(UnitOfWork):
    """``uow.candidates``, ``uow.decisions`` (with the criterion, competency and bloc validations),
    ``uow.submissions``, ``uow.appeals``, ``uow.governance`` (VAE rulings, accommodations, thesis audit
    entries) and ``uow.proposals``, each on this transaction's session (opened again on every enter)."""

    candidates: CandidateRepository
    decisions: DecisionRepository
    submissions: SubmissionRepository
    appeals: AppealRepository
    governance: GovernanceRepository
    proposals: ProposalRepository

    def open_repositories(self, session: Session) -> None:
        self.candidates = CandidateRepository(session)
        self.decisions = DecisionRepository(session)
        self.submissions = SubmissionRepository(session)
        self.appeals = AppealRepository(session)
        self.governance = GovernanceRepository(session)
        self.proposals = ProposalRepository(session)
