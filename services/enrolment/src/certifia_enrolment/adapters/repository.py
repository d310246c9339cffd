"""Candidates in the enrolment database. Never commits: the unit of work does."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from certifia_enrolment.adapters.orm import candidate_diplomas, candidates
from certifia_enrolment.domain.model import Candidate, HeldDiploma
from certifia_shared.db import insert_ignoring_conflict


def _to_domain(row: object) -> Candidate:
    return Candidate(**dict(row._mapping))  # type: ignore[attr-defined]  # timestamps: UtcDateTime columns


class CandidateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, candidate_id: str) -> Candidate | None:
        row = self.session.execute(select(candidates).where(candidates.c.id == candidate_id)).first()
        return _to_domain(row) if row else None

    def by_external_id(self, lms_client: str, external_id: str) -> Candidate | None:
        row = self.session.execute(
            select(candidates).where(
                candidates.c.lms_client == lms_client, candidates.c.external_id == external_id
            )
        ).first()
        return _to_domain(row) if row else None

    def add_new(self, candidate: Candidate) -> bool:
        """Insert the candidate unless this LMS enrolled one under the same external id already: False,
        and nothing written, if it did (INSERT ... ON CONFLICT DO NOTHING: on PostgreSQL a concurrent
        twin's INSERT is waited for, then seen). One statement for an enrolment, where reading the key
        first was two (issue 15)."""
        dialect = self.session.get_bind().dialect.name
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(candidates)
        inserted = self.session.execute(
            statement.on_conflict_do_nothing(index_elements=["lms_client", "external_id"]).returning(
                candidates.c.id
            ),
            asdict(candidate),  # parameters of one cached statement
        ).first()
        return inserted is not None  # (the INSERT's rowcount did not say 1 on PostgreSQL: RETURNING does)

    def set_option(self, candidate_id: str, option: str) -> None:
        self.session.execute(update(candidates).where(candidates.c.id == candidate_id).values(option=option))

    def record_withdrawal(self, candidate: Candidate) -> bool:
        """Store the withdrawal unless one is stored already (a concurrent twin); False if it was."""
        result = self.session.execute(
            update(candidates)
            .where(candidates.c.id == candidate.id, candidates.c.withdrawn_at.is_(None))
            .values(
                withdrawn_at=candidate.withdrawn_at,
                withdrawal_reason=candidate.withdrawal_reason,
                withdrawn_by_role=candidate.withdrawn_by_role,
                withdrawn_by=candidate.withdrawn_by,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def list(self, *, lms_client: str | None, limit: int, offset: int) -> list[Candidate]:
        query = (
            select(candidates).order_by(candidates.c.enrolled_at, candidates.c.id).limit(limit).offset(offset)
        )
        if lms_client is not None:
            query = query.where(candidates.c.lms_client == lms_client)
        return [_to_domain(r) for r in self.session.execute(query)]


class DiplomaRepository:
    """The diplomas candidates hold (from certification's events); one row per diploma, kept on revocation."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def in_force(self, candidate_id: str) -> HeldDiploma | None:
        """The diploma the candidate holds (issued, not revoked), or None."""
        row = self.session.execute(
            select(candidate_diplomas.c.diploma_id, candidate_diplomas.c.option)
            .where(
                candidate_diplomas.c.candidate_id == candidate_id, candidate_diplomas.c.revoked_at.is_(None)
            )
            .order_by(candidate_diplomas.c.issued_at.desc())
        ).first()
        return HeldDiploma(id=row[0], option=row[1]) if row else None

    def record_issued(
        self, *, diploma_id: str, candidate_id: str, option: str | None, issued_at: datetime
    ) -> None:
        """Once per diploma: a replay, or an issue arriving after its revocation, changes nothing."""
        insert_ignoring_conflict(
            self.session,
            candidate_diplomas,
            {
                "diploma_id": diploma_id,
                "candidate_id": candidate_id,
                "option": option,
                "issued_at": issued_at,
                "revoked_at": None,
            },
        )

    def record_revoked(self, *, diploma_id: str, candidate_id: str, revoked_at: datetime) -> None:
        """The diploma no longer holds; a revocation seen before its issue is kept, so the issue stays void."""
        insert_ignoring_conflict(
            self.session,
            candidate_diplomas,
            {
                "diploma_id": diploma_id,
                "candidate_id": candidate_id,
                "option": None,
                "issued_at": None,
                "revoked_at": revoked_at,
            },
        )
        self.session.execute(
            update(candidate_diplomas)
            .where(candidate_diplomas.c.diploma_id == diploma_id, candidate_diplomas.c.revoked_at.is_(None))
            .values(revoked_at=revoked_at)
        )
