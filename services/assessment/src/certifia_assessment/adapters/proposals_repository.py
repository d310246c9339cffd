"""Proposals and their reviews in the assessment database. Never commits: the unit of work does."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session

from certifia_assessment.adapters.orm import verdict_proposals, verdict_reviews
from certifia_assessment.domain.proposals import Proposal, ProposalStatus, Review


class ProposalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, proposal: Proposal) -> None:
        values = asdict(proposal)
        values.pop("reviews")
        values["review_reasons"] = list(proposal.review_reasons)
        self.session.execute(insert(verdict_proposals).values(**values))

    def get(self, proposal_id: str) -> Proposal | None:
        row = self.session.execute(
            select(verdict_proposals).where(verdict_proposals.c.id == proposal_id)
        ).first()
        return self._with_reviews([_proposal(row)])[0] if row else None

    def find(
        self,
        *,
        status: str | tuple[str, ...] | None = None,
        candidate_id: str | None = None,
        evaluation_id: str | None = None,
        limit: int = 500,
    ) -> list[Proposal]:
        """Oldest first; ``status`` one, or any of several (one query)."""
        query = select(verdict_proposals)
        if isinstance(status, tuple):
            query = query.where(verdict_proposals.c.status.in_(status))
        elif status:
            query = query.where(verdict_proposals.c.status == status)
        if candidate_id:
            query = query.where(verdict_proposals.c.candidate_id == candidate_id)
        if evaluation_id:
            query = query.where(verdict_proposals.c.evaluation_id == evaluation_id)
        query = query.order_by(verdict_proposals.c.proposed_at, verdict_proposals.c.id).limit(limit)
        return self._with_reviews([_proposal(r) for r in self.session.execute(query)])

    def add_review(self, proposal_id: str, review: Review) -> None:
        """IntegrityError (at once or at commit) if this reviewer reviewed the proposal already."""
        self.session.execute(insert(verdict_reviews).values(proposal_id=proposal_id, **asdict(review)))

    def move(
        self,
        proposal_id: str,
        *,
        from_: ProposalStatus,
        to: ProposalStatus,
        decision_id: str | None = None,
        at: datetime | None = None,
    ) -> bool:
        """Change the status if it is still ``from_``; False when a concurrent review moved it first."""
        values: dict[str, Any] = {"status": to}
        if to == "decided":
            values.update(decision_id=decision_id, decided_at=at)
        result = self.session.execute(
            update(verdict_proposals)
            .where(verdict_proposals.c.id == proposal_id, verdict_proposals.c.status == from_)
            .values(**values)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    def _with_reviews(self, proposals: list[Proposal]) -> list[Proposal]:
        if not proposals:
            return proposals
        rows = self.session.execute(
            select(verdict_reviews)
            .where(verdict_reviews.c.proposal_id.in_([p.id for p in proposals]))
            .order_by(verdict_reviews.c.reviewed_at)
        )
        by_proposal: dict[str, list[Review]] = {}
        for row in rows:
            values = dict(row._mapping)
            pid = values.pop("proposal_id")
            by_proposal.setdefault(pid, []).append(Review(**values))
        return [replace(p, reviews=tuple(by_proposal.get(p.id, ()))) for p in proposals]


def _proposal(row: Any) -> Proposal:
    values = dict(row._mapping)
    values["review_reasons"] = tuple(values["review_reasons"] or ())
    return Proposal(**values)
