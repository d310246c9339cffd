"""Grading jobs. Never commits: the unit of work does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from certifia_grading.adapters.orm import jobs


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, submission_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(jobs).where(jobs.c.submission_id == submission_id)).first()
        return dict(row._mapping) if row else None

    def add(self, **values: Any) -> None:
        self.session.execute(insert(jobs).values(status="queued", attempts=0, **values))

    def claim_next(self, now: datetime) -> dict[str, Any] | None:
        """Mark the oldest queued job running; None when there is none (or another worker took it)."""
        submission_id = self.session.scalar(
            select(jobs.c.submission_id)
            .where(jobs.c.status == "queued")
            .order_by(jobs.c.requested_at)
            .limit(1)
        )
        if submission_id is None:
            return None
        claimed = self.session.execute(
            update(jobs)
            .where(jobs.c.submission_id == submission_id, jobs.c.status == "queued")
            .values(status="running", started_at=now, attempts=jobs.c.attempts + 1)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return self.get(submission_id)

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
