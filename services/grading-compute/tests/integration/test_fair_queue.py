"""The fair grading queue (issue 12, item 4), on SQLite through the real repository and workers.

Measured before: ten submissions at once made an honest one wait 89 s (oldest job first, one worker),
and a submission that sleeps to its wall limit held a worker while the same candidate's next one took
the other. Now claims go round-robin across candidates (the candidate whose last claim is oldest first)
with a cap on one candidate's jobs in flight; the grading status shows the queue position and the
attempts used and left, and shows candidates a rounded report (the position rule alone:
tests/unit/test_queue_position.py)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_grading.bootstrap import GradingContext, bootstrap, create_application
from certifia_grading.config import Settings
from certifia_grading.domain import CriterionVerdict, GradingOutcome
from certifia_grading.domain.queue import queue_position
from certifia_grading.service_layer.events import event_handlers
from certifia_grading.service_layer.jobs import GradingWorker
from certifia_shared.testing import auth, enrolled_event

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DIGEST = "b" * 64
CLOCK = itertools.count()  # requested_at: one second after the job queued before


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'grading.db'}", run_background_workers=False, **overrides
    )


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[GradingContext]:
    context = bootstrap(settings(tmp_path))
    yield context
    context.db_engine.dispose()


def queue(
    ctx: GradingContext, candidate: str, n: int = 1, *, start: int = 0, evaluation: str = "2.EV1"
) -> list[str]:
    """``n`` jobs of ``candidate``, requested one second apart after every job queued before them."""
    ids = []
    with ctx.uow() as uow:
        repo = uow.jobs
        for i in range(start, start + n):
            submission_id = f"{candidate}-{i}"
            repo.add(
                submission_id=submission_id,
                candidate_id=candidate,
                evaluation_id=evaluation,
                pack_id="b2_data_cleaning",
                criteria=["2.A1.C1.E1"],
                artifact={"url": "http://127.0.0.1:1/x", "sha256": DIGEST, "size_bytes": 3},
                trace_headers={},
                requested_at=T0 + timedelta(seconds=next(CLOCK)),
            )
            ids.append(submission_id)
        uow.commit()
    return ids


def claim(ctx: GradingContext, *, cap: int = 1, at: datetime | None = None) -> str | None:
    with ctx.uow() as uow:
        job = uow.jobs.claim_next(at or datetime.now(UTC), max_in_flight=cap)
        uow.commit()
    return None if job is None else str(job["submission_id"])


def outcome(value: float = 0.84996) -> GradingOutcome:
    verdict = CriterionVerdict(
        "2.A1.C1.E1",
        "rejected",
        "accuracy",
        value,
        0.85,
        ">=",
        f"Rejeté — Précision. Mesures : accuracy = {value:.4g} (attendu >= 0.85 ; non atteint : trop faible).",
    )
    metrics = {"accuracy": value, "tn": 41.0, "fp": 9.0, "fn": 13.0, "tp": 87.0}
    return GradingOutcome("b2_data_cleaning", "1.0.0", 7, DIGEST, (verdict,), metrics, 1.5)


def test_one_job_of_b_queued_after_ten_of_a_is_claimed_second_not_eleventh(ctx: GradingContext) -> None:
    queue(ctx, "cand-a", 10)
    [honest] = queue(ctx, "cand-b")
    order: list[str] = []

    def grade(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        return outcome()

    worker = GradingWorker(
        uow_factory=ctx.uow,
        fetch=lambda artifact: b"zip",
        grade=grade,
        idle_seconds=0,
    )
    original = worker._process

    def recording(job: dict[str, Any]) -> None:
        order.append(job["submission_id"])
        original(job)

    worker._process = recording  # type: ignore[method-assign]
    while worker.run_once():
        pass
    assert order.index(honest) == 1, order
    assert len(order) == 11


def test_a_candidate_at_the_in_flight_cap_is_skipped(ctx: GradingContext) -> None:
    queue(ctx, "cand-a", 3)
    queue(ctx, "cand-b", 1)
    assert claim(ctx) == "cand-a-0"  # A now has one job running: at the cap of 1
    assert claim(ctx) == "cand-b-0"  # not A's second, though it was requested first
    assert claim(ctx) is None  # both at the cap: nothing may be claimed until one finishes
    with ctx.uow() as uow:
        uow.jobs.finish("cand-a-0", status="completed", result={}, reason=None, at=T0)
        uow.commit()
    assert claim(ctx) == "cand-a-1"
    assert claim(ctx, cap=2) == "cand-a-2"  # a cap of 2 lets a second one of A run beside it


def test_concurrent_claims_never_put_a_candidate_over_the_cap(ctx: GradingContext) -> None:
    queue(ctx, "cand-a", 8)
    barrier = threading.Barrier(6)
    claimed: list[str | None] = []
    errors: list[BaseException] = []

    def racer() -> None:
        barrier.wait()
        try:
            claimed.append(claim(ctx, cap=2))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert sorted(c for c in claimed if c) == ["cand-a-0", "cand-a-1"]
    with ctx.uow() as uow:
        assert len(uow.jobs.running()) == 2


def test_a_submission_sleeping_to_its_wall_limit_holds_one_worker_and_the_other_serves_everyone_else(
    ctx: GradingContext,
) -> None:
    """Two workers, cap 1: the sleeper's next submission waits for its own first one, not the worker."""
    sleepers = queue(ctx, "cand-sleeper", 3)
    [honest] = queue(ctx, "cand-honest")
    release = threading.Event()
    done: dict[str, float] = {}

    def grade(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        return outcome()

    def fetch(artifact: dict[str, Any]) -> bytes:
        return b"zip"

    class Recording(GradingWorker):
        def _process(self, job: dict[str, Any]) -> None:
            if job["candidate_id"] == "cand-sleeper":
                release.wait(10)  # the candidate's code sleeps until its wall limit
            super()._process(job)
            done[job["submission_id"]] = 1.0

    stop = threading.Event()
    workers = [
        threading.Thread(
            target=Recording(uow_factory=ctx.uow, fetch=fetch, grade=grade, idle_seconds=0.01).run,
            args=(stop,),
        )
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while honest not in done and datetime.now(UTC) < deadline:
            threading.Event().wait(0.02)
        assert honest in done, "the honest submission waited behind the sleeper's"
        assert not any(s in done for s in sleepers)
        with ctx.uow() as uow:
            running = [j["submission_id"] for j in uow.jobs.running()]
        assert running == [sleepers[0]]  # one worker held, the sleeper's others still queued
    finally:
        release.set()
        stop.set()
        for w in workers:
            w.join(10)


def test_a_job_beyond_the_attempt_limit_fails_without_being_graded(ctx: GradingContext) -> None:
    """Defensive: assessment refuses the submission first; one that got here anyway is not graded."""
    queue(ctx, "cand-a", 3)
    queue(ctx, "cand-a", 1, start=3, evaluation="2.EV2")
    graded: list[str] = []

    def grade(pack: str, archive: bytes, **_: Any) -> GradingOutcome:
        graded.append(pack)
        return outcome()

    worker = GradingWorker(
        uow_factory=ctx.uow,
        fetch=lambda artifact: b"zip",
        grade=grade,
        idle_seconds=0,
        max_attempts_per_evaluation=2,
    )
    while worker.run_once():
        pass
    assert len(graded) == 3  # the first two of 2.EV1 and the one of 2.EV2
    with ctx.uow() as uow:
        third = uow.jobs.get("cand-a-2")
    assert third is not None and third["status"] == "failed"
    assert "beyond the limit of 2 graded attempts" in third["reason"]


def test_the_position_shown_is_the_order_the_workers_claim_in(ctx: GradingContext) -> None:
    queue(ctx, "cand-a", 4)
    queue(ctx, "cand-b", 2)
    queue(ctx, "cand-c", 1)
    with ctx.uow() as uow:
        queued, last = uow.jobs.queue_snapshot()
    predicted = sorted((s for _, s in queued), key=lambda s: queue_position(queued, last, s) or 0)
    claimed = []
    for i in range(7):
        submission = claim(ctx, cap=7, at=T0 + timedelta(minutes=i))
        assert submission is not None
        claimed.append(submission)
    assert (
        claimed
        == predicted
        == ["cand-a-0", "cand-b-0", "cand-c-0", "cand-a-1", "cand-b-1", "cand-a-2", "cand-a-3"]
    )


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, GradingContext]]:
    """The grading-compute app on SQLite (3 attempts per evaluation), cand-a and cand-b enrolled by lms-a."""
    app = create_application(settings(tmp_path, grading_max_attempts_per_evaluation=3))
    ctx: GradingContext = app.state.ctx
    handlers = event_handlers()
    with TestClient(app) as client:
        for event in (
            enrolled_event("cand-a", lms_client="lms-a"),
            enrolled_event("cand-b", lms_client="lms-a"),
        ):
            with ctx.uow() as uow:
                handlers[event.type](event, uow)
                uow.commit()
        yield client, ctx
    ctx.db_engine.dispose()


OWN = auth("candidate", candidate_id="cand-a")


def test_the_grading_status_shows_the_queue_position_and_the_attempts_used_and_left(
    app_client: tuple[TestClient, GradingContext],
) -> None:
    client, ctx = app_client
    queue(ctx, "cand-a", 2)
    queue(ctx, "cand-b", 1)
    status = client.get("/submissions/cand-a-1/grading", headers=OWN).json()
    assert status["status"] == "queued"
    assert status["queue_position"] == 3  # a0, then b0 (round-robin), then a1
    assert status["submission_attempts"] == {"used": 2, "limit": 3, "left": 1}
    assert claim(ctx) == "cand-a-0"
    running = client.get("/submissions/cand-a-0/grading", headers=OWN).json()
    assert running["status"] == "running" and running["queue_position"] is None
    assert client.get("/submissions/cand-a-1/grading", headers=OWN).json()["queue_position"] == 2


def test_a_candidate_reads_a_rounded_report_and_the_jury_the_exact_one(
    app_client: tuple[TestClient, GradingContext],
) -> None:
    """Measured before: metrics came back to 6 decimals with exact confusion counts, a free label oracle."""
    client, ctx = app_client
    queue(ctx, "cand-a", 1)
    worker = GradingWorker(
        uow_factory=ctx.uow, fetch=lambda a: b"zip", grade=lambda p, a, **_: outcome(), idle_seconds=0
    )
    assert worker.run_once()
    candidate = client.get("/submissions/cand-a-0/grading", headers=OWN).json()
    jury = client.get("/submissions/cand-a-0/grading", headers=auth("jury")).json()
    lms = client.get("/submissions/cand-a-0/grading", headers=auth("lms", client_id="lms-a")).json()
    assert candidate["status"] == "completed"
    [criterion] = candidate["report"]["criteria"]
    # 0.84996 against >= 0.85: two decimals, rounded down (never "0.85", which would read as a pass)
    assert criterion["value"] == 0.84 and criterion["verdict"] == "rejected"
    assert "accuracy = 0.84 (attendu >= 0.85" in criterion["explanation"]
    assert "metrics" not in candidate["report"] and "dataset_seed" not in candidate["report"]
    assert lms["report"] == candidate["report"]  # an LMS shows its candidates what they may see
    assert jury["report"]["metrics"]["tp"] == 87.0 and jury["report"]["criteria"][0]["value"] == 0.84996
