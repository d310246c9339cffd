"""In-memory stand-ins for grading-compute's unit of work and repositories (same methods and return types
as adapters/repository.py), so that handler tests run without a database."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from certifia_shared.fakes import FakeRepository, FakeUnitOfWork

NEVER = datetime.min.replace(tzinfo=UTC)


class FakeJobRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def get(self, submission_id: str) -> dict[str, Any] | None:
        row = self.rows.get(submission_id)
        return copy.deepcopy(row) if row is not None else None

    def add(self, **values: Any) -> None:
        if values["submission_id"] in self.rows:
            raise AssertionError(f"duplicate job {values['submission_id']} (the real table refuses it)")
        row = {"result": None, "reason": None, "started_at": None, "finished_at": None}
        self.rows[values["submission_id"]] = {**row, "status": "queued", "attempts": 0, **values}

    def _last_claim(self, candidate_id: str) -> datetime | None:
        starts = [r["started_at"] for r in self.rows.values() if r["candidate_id"] == candidate_id]
        claimed = [at for at in starts if at is not None]
        return max(claimed) if claimed else None

    def claim_next(self, now: datetime, *, max_in_flight: int = 1) -> dict[str, Any] | None:
        def in_flight(candidate_id: str) -> int:
            return sum(
                1
                for r in self.rows.values()
                if r["candidate_id"] == candidate_id and r["status"] == "running"
            )

        eligible = [
            r
            for r in self.rows.values()
            if r["status"] == "queued" and in_flight(r["candidate_id"]) < max_in_flight
        ]
        if not eligible:
            return None

        def order(row: dict[str, Any]) -> tuple[bool, datetime, datetime, str]:
            last = self._last_claim(row["candidate_id"])
            return (last is not None, last or NEVER, row["requested_at"], row["submission_id"])

        chosen = min(eligible, key=order)
        chosen.update(status="running", started_at=now, attempts=chosen["attempts"] + 1)
        return self.get(chosen["submission_id"])

    def queue_snapshot(self) -> tuple[list[tuple[str, str]], dict[str, datetime | None]]:
        queued = sorted(
            (r for r in self.rows.values() if r["status"] == "queued"),
            key=lambda r: (r["requested_at"], r["submission_id"]),
        )
        pairs = [(r["candidate_id"], r["submission_id"]) for r in queued]
        return pairs, {c: self._last_claim(c) for c, _ in pairs}

    def _counted_jobs(self, candidate_id: str, evaluation_id: str) -> list[tuple[datetime, str]]:
        return [
            (r["requested_at"], r["submission_id"])
            for r in self.rows.values()
            if r["candidate_id"] == candidate_id
            and r["evaluation_id"] == evaluation_id
            and not (
                r["status"] == "failed"
                and isinstance(r["result"], dict)
                and r["result"].get("cause") == "infrastructure"
            )
        ]

    def attempt_number(self, job: dict[str, Any]) -> int:
        mine = (job["requested_at"], job["submission_id"])
        return (
            sum(1 for key in self._counted_jobs(job["candidate_id"], job["evaluation_id"]) if key < mine) + 1
        )

    def attempts_of(self, candidate_id: str, evaluation_id: str) -> int:
        return len(self._counted_jobs(candidate_id, evaluation_id))

    def requeue(self, submission_id: str, reason: str) -> None:
        self.rows[submission_id].update(status="queued", reason=reason)

    def finish(
        self,
        submission_id: str,
        *,
        status: str,
        result: dict[str, Any] | None,
        reason: str | None,
        at: datetime,
    ) -> None:
        self.rows[submission_id].update(
            status=status, result=copy.deepcopy(result), reason=reason, finished_at=at
        )

    def running(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for r in self.rows.values() if r["status"] == "running"]

    def recover_interrupted(self) -> int:
        running = [r for r in self.rows.values() if r["status"] == "running"]
        for row in running:
            row["status"] = "queued"
        return len(running)


class FakeCandidateRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def known(self, candidate_id: str) -> bool:
        return candidate_id in self.rows

    def add(self, candidate_id: str, *, lms_client: str, enrolled_at: datetime) -> None:
        self.rows.setdefault(
            candidate_id,
            {
                "candidate_id": candidate_id,
                "lms_client": lms_client,
                "enrolled_at": enrolled_at,
                "extra_time_factor": None,
                "accommodation_id": None,
                "accommodation_at": None,
            },
        )

    def time_factor(self, candidate_id: str) -> float:
        row = self.rows.get(candidate_id)
        factor = row["extra_time_factor"] if row else None
        return float(factor) if factor else 1.0

    def set_accommodation(
        self, candidate_id: str, *, accommodation_id: str, factor: float, at: datetime
    ) -> None:
        if candidate_id in self.rows:  # an UPDATE of no row changes nothing
            self.rows[candidate_id].update(
                extra_time_factor=factor, accommodation_id=accommodation_id, accommodation_at=at
            )

    def accommodation_at(self, candidate_id: str) -> datetime | None:
        row = self.rows.get(candidate_id)
        return row["accommodation_at"] if row else None


class FakeGradingUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/certifia/grading-compute")
        self.jobs = FakeJobRepository()
        self.candidates = FakeCandidateRepository()
