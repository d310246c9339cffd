"""bootstrap() over the fake unit of work (STYLE.md: bootstrap takes the unit of work; tests pass a fake):
the context it wires makes no database and starts no worker (no grading worker is even built), and its
``uow()`` is the fake."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from certifia_grading.bootstrap import bootstrap
from certifia_grading.config import Settings
from certifia_grading.domain import CriterionVerdict, GradingOutcome
from certifia_grading.service_layer.events import event_handlers
from certifia_grading.service_layer.jobs import GradingWorker
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent

from .fakes import FakeGradingUnitOfWork

DIGEST = "a" * 64


def test_bootstrap_over_the_fake_unit_of_work_runs_a_use_case_without_a_database(tmp_path: Path) -> None:
    database = tmp_path / "grading.db"
    fake = FakeGradingUnitOfWork()
    ctx = bootstrap(Settings(database_url=f"sqlite:///{database}"), uow_factory=lambda: fake)
    assert ctx.uow() is fake and ctx.db_engine is None

    requested = CloudEvent(
        type=ev.GRADING_REQUESTED,
        source="/certifia/assessment",
        subject="cand-1",
        data={
            "submission_id": "sub-1",
            "candidate_id": "cand-1",
            "evaluation_id": "2.EV1",
            "pack_id": "b2_data_cleaning",
            "criteria": ["2.A1.C1.E1"],
            "artifact": {"url": "http://127.0.0.1:1/x", "sha256": DIGEST, "size_bytes": 3},
            "requested_at": "2026-11-25T08:00:00+00:00",
        },
    )
    with ctx.uow() as uow:  # as the consumer applies it
        event_handlers()[requested.type](requested, uow)
        uow.commit()
    verdict = CriterionVerdict("2.A1.C1.E1", "validated", "mae", 0.01, 0.1, "<=", "erreur faible")

    def grade(pack_id: str, archive: bytes, **_: Any) -> GradingOutcome:
        return GradingOutcome(pack_id, "1.0.0", 7, DIGEST, (verdict,), {"mae": 0.01}, 1.5, None)

    worker = GradingWorker(
        uow_factory=ctx.uow_factory, fetch=lambda artifact: b"zip", grade=grade, idle_seconds=0
    )
    assert worker.run_once() is True
    job = fake.jobs.get("sub-1")
    assert job is not None and job["status"] == "completed"
    assert [e.type for e in fake.events()] == [ev.GRADING_COMPLETED_V2, ev.GRADING_COMPLETED]

    running = set(threading.enumerate())
    ctx.runtime.start()  # no relay, consumer or grading worker over a fake
    assert set(threading.enumerate()) == running and not database.exists()
    ctx.runtime.stop()


def test_grading_compute_serves_from_one_process_whatever_web_workers_says() -> None:
    """Its grader (Ray, the sandboxes, Triton) is per process: it scales with GRADING_WORKERS and Ray."""
    assert Settings().web_workers == 1
    with pytest.raises(ValidationError, match="web_workers"):
        Settings(web_workers=2)
