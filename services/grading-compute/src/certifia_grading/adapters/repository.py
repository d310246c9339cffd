"""Grading jobs. Never commits: the unit of work does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, func, insert, select, text, update
from sqlalchemy.orm import Session

from certifia_grading.adapters.orm import candidates, jobs
from certifia_shared.db import insert_ignoring_conflict

CLAIM_LOCK = 0x6772_6164  # pg_advisory_xact_lock key of the grading-job claim ("grad")


def _next_fair_job(max_in_flight: int) -> ScalarSelect[str]:
    """The submission id a fair claim takes next (see :meth:`JobRepository.claim_next`)."""
    queued, running, history = jobs.alias("queued"), jobs.alias("running"), jobs.alias("history")
    in_flight = (
        select(func.count())
        .select_from(running)
        .where(running.c.candidate_id == queued.c.candidate_id, running.c.status == "running")
        .scalar_subquery()
    )
    last_claim = (
        select(func.max(history.c.started_at))
        .where(history.c.candidate_id == queued.c.candidate_id)
        .scalar_subquery()
    )
    return (
        select(queued.c.submission_id)
        .where(queued.c.status == "queued", in_flight < max_in_flight)
        .order_by(last_claim.asc().nulls_first(), queued.c.requested_at, queued.c.submission_id)
        .limit(1)
        .scalar_subquery()
    )


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, submission_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(jobs).where(jobs.c.submission_id == submission_id)).first()
        return dict(row._mapping) if row else None

    def add(self, **values: Any) -> None:
        self.session.execute(insert(jobs).values(status="queued", attempts=0, **values))

    def claim_next(self, now: datetime, *, max_in_flight: int = 1) -> dict[str, Any] | None:
        """Mark the next job running, fairly: round-robin across candidates (the candidate whose last
        claim is oldest goes first, one never claimed before anyone), their oldest job first, skipping a
        candidate who already has ``max_in_flight`` jobs running. None when nothing may be claimed.

        One UPDATE ... RETURNING whose subquery picks the job, so the choice and the claim are one
        statement: SQLite runs it under its write lock; on PostgreSQL, claims take a transaction-level
        advisory lock first, so two workers never both see a candidate under the cap (the lock is
        released by the unit of work's commit)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
        claimed = self.session.execute(
            update(jobs)
            .where(jobs.c.submission_id == _next_fair_job(max_in_flight), jobs.c.status == "queued")
            .values(status="running", started_at=now, attempts=jobs.c.attempts + 1)
            .returning(jobs.c.submission_id)
        ).first()
        return None if claimed is None else self.get(claimed[0])

    def queue_snapshot(self) -> tuple[list[tuple[str, str]], dict[str, datetime | None]]:
        """The queued jobs in claim order within each candidate ((candidate, submission) pairs), and each
        queued candidate's last claim (None: never claimed)."""
        queued = self.session.execute(
            select(jobs.c.candidate_id, jobs.c.submission_id)
            .where(jobs.c.status == "queued")
            .order_by(jobs.c.requested_at, jobs.c.submission_id)
        ).all()
        last = self.session.execute(
            select(jobs.c.candidate_id, func.max(jobs.c.started_at))
            .where(jobs.c.candidate_id.in_({c for c, _ in queued}))
            .group_by(jobs.c.candidate_id)
        ).all()
        return [(c, s) for c, s in queued], {c: at for c, at in last}

    def _counted_jobs(self, candidate_id: str, evaluation_id: str) -> list[tuple[datetime, str]]:
        """(requested_at, submission_id) of the candidate's jobs for the evaluation that count as graded
        attempts: all but those that failed for the infrastructure (grading.failed ``cause``)."""
        rows = self.session.execute(
            select(jobs.c.requested_at, jobs.c.submission_id, jobs.c.status, jobs.c.result).where(
                jobs.c.candidate_id == candidate_id, jobs.c.evaluation_id == evaluation_id
            )
        ).all()
        return [
            (at, sid)
            for at, sid, status, result in rows
            if not (
                status == "failed" and isinstance(result, dict) and result.get("cause") == "infrastructure"
            )
        ]

    def attempt_number(self, job: dict[str, Any]) -> int:
        """Which graded attempt of its candidate at its evaluation ``job`` is (1 for the first requested;
        jobs that failed for the infrastructure do not count)."""
        mine = (job["requested_at"], job["submission_id"])
        counted = self._counted_jobs(job["candidate_id"], job["evaluation_id"])
        return sum(1 for key in counted if key < mine) + 1

    def attempts_of(self, candidate_id: str, evaluation_id: str) -> int:
        """How many submissions of this candidate for this evaluation count as graded attempts (asked to be
        graded, less those that failed for the infrastructure)."""
        return len(self._counted_jobs(candidate_id, evaluation_id))

    def requeue(self, submission_id: str, reason: str) -> None:
        self.session.execute(
            update(jobs).where(jobs.c.submission_id == submission_id).values(status="queued", reason=reason)
        )

    def finish(
        self,
        submission_id: str,
        *,
        status: str,
        result: dict[str, Any] | None,
        reason: str | None,
        at: datetime,
    ) -> None:
        self.session.execute(
            update(jobs)
            .where(jobs.c.submission_id == submission_id)
            .values(status=status, result=result, reason=reason, finished_at=at)
        )

    def running(self) -> list[dict[str, Any]]:
        ids = self.session.scalars(select(jobs.c.submission_id).where(jobs.c.status == "running")).all()
        return [job for i in ids if (job := self.get(i)) is not None]

    def recover_interrupted(self) -> int:
        """Jobs left running by a crash go back to the queue (grading is deterministic, so rerunning is safe)."""
        result = self.session.execute(update(jobs).where(jobs.c.status == "running").values(status="queued"))
        return int(result.rowcount)  # type: ignore[attr-defined]


class CandidateRepository:
    """What grading-compute keeps of each candidate: the tenant, and the extra-time factor in force."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def known(self, candidate_id: str) -> bool:
        row = self.session.execute(
            select(candidates.c.candidate_id).where(candidates.c.candidate_id == candidate_id)
        ).first()
        return row is not None

    def add(self, candidate_id: str, *, lms_client: str, enrolled_at: datetime) -> None:
        """Record an enrolled candidate and its tenant; a twin recorded concurrently wins (nothing is written)."""
        insert_ignoring_conflict(
            self.session,
            candidates,
            {"candidate_id": candidate_id, "lms_client": lms_client, "enrolled_at": enrolled_at},
        )

    def time_factor(self, candidate_id: str) -> float:
        factor = self.session.scalar(
            select(candidates.c.extra_time_factor).where(candidates.c.candidate_id == candidate_id)
        )
        return float(factor) if factor else 1.0

    def set_accommodation(
        self, candidate_id: str, *, accommodation_id: str, factor: float, at: datetime
    ) -> None:
        self.session.execute(
            update(candidates)
            .where(candidates.c.candidate_id == candidate_id)
            .values(extra_time_factor=factor, accommodation_id=accommodation_id, accommodation_at=at)
        )

    def accommodation_at(self, candidate_id: str) -> datetime | None:
        at: datetime | None = self.session.scalar(
            select(candidates.c.accommodation_at).where(candidates.c.candidate_id == candidate_id)
        )
        return at
