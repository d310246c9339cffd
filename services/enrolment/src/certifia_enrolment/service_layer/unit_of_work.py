"""Enrolment's unit of work: one transaction, and the repositories that read and write inside it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from certifia_enrolment.adapters.accommodation_repository import AccommodationRepository
from certifia_enrolment.adapters.repository import CandidateRepository, DiplomaRepository
from certifia_enrolment.adapters.webhook_repository import WebhookRepository
from certifia_shared.db import UnitOfWork


class EnrolmentUnitOfWork(UnitOfWork):
    """``uow.candidates``, ``uow.diplomas``, ``uow.accommodations`` and ``uow.webhooks``, opened on every
    ``with uow:`` over that transaction's session (cosmicpython's ``self.batches = ...``)."""

    candidates: CandidateRepository
    diplomas: DiplomaRepository
    accommodations: AccommodationRepository
    webhooks: WebhookRepository

    def open_repositories(self, session: Session) -> None:
        self.candidates = CandidateRepository(session)
        self.diplomas = DiplomaRepository(session)
        self.accommodations = AccommodationRepository(session)
        self.webhooks = WebhookRepository(session)
