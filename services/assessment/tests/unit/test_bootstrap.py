"""bootstrap() over the fake unit of work (STYLE.md: bootstrap takes the unit of work; tests pass a fake):
the context it wires makes no database and starts no worker, and its ``uow()`` is the fake."""

from __future__ import annotations

import threading
from pathlib import Path

from certifia_assessment.bootstrap import bootstrap
from certifia_assessment.config import Settings
from certifia_assessment.service_layer.decisions import DecideCriterion, decide_criterion
from certifia_shared import event_types as ev

from .fakes import FakeAssessmentUnitOfWork, enrol


def test_bootstrap_over_the_fake_unit_of_work_runs_a_use_case_without_a_database(tmp_path: Path) -> None:
    database = tmp_path / "assessment.db"
    fake = FakeAssessmentUnitOfWork()
    settings = Settings(database_url=f"sqlite:///{database}", artifacts_dir=str(tmp_path / "artifacts"))
    ctx = bootstrap(settings, uow_factory=lambda: fake)
    assert ctx.uow() is fake and ctx.db_engine is None

    enrol(ctx.uow(), "cand-1")
    cmd = DecideCriterion(
        candidate_id="cand-1",
        criterion_id="1.A1.C1.E1",
        outcome="validated",
        comment="",
        decided_by="jury-1",
        decided_by_role="jury",
    )
    decision, created = decide_criterion(cmd, uow=ctx.uow(), referential=ctx.referential)
    assert created and fake.decisions.decision(decision.id) == decision
    [event] = fake.events(ev.CRITERION_VALIDATED)
    assert event.subject == "cand-1" and event.data["decision_id"] == decision.id

    running = set(threading.enumerate())
    ctx.runtime.start()  # no relay and no consumer over a fake
    assert set(threading.enumerate()) == running and not database.exists()
    ctx.runtime.stop()
