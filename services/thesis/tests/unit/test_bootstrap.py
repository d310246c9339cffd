"""bootstrap() over the fake unit of work (STYLE.md: bootstrap takes the unit of work; tests pass a fake):
the context it wires makes no database and starts no worker, and its ``uow()`` is the fake."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from certifia_shared import event_types as ev
from certifia_shared.testing import enrolled_event
from certifia_thesis.bootstrap import bootstrap
from certifia_thesis.config import Settings
from certifia_thesis.service_layer import handlers
from certifia_thesis.service_layer.events import HANDLERS

from .fakes import FakeThesisUnitOfWork


def test_bootstrap_over_the_fake_unit_of_work_runs_a_use_case_without_a_database(tmp_path: Path) -> None:
    database = tmp_path / "thesis.db"
    fake = FakeThesisUnitOfWork()
    settings = Settings(database_url=f"sqlite:///{database}", deposits_dir=str(tmp_path / "deposits"))
    ctx = bootstrap(settings, uow_factory=lambda: fake)
    assert ctx.uow() is fake and ctx.db_engine is None

    with ctx.uow() as uow:  # candidate.enrolled, as the consumer applies it
        HANDLERS[ev.CANDIDATE_ENROLLED](enrolled_event("cand-1"), uow)
        uow.commit()
    cmd = handlers.RegisterMission(
        candidate_id="cand-1",
        company="Acme",
        title="ML engineer",
        tutor="Grace Hopper",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
        fte=1.0,
    )
    mission, created = handlers.register_mission(cmd, uow=ctx.uow())
    assert created and fake.missions.get(mission.id) == mission
    [event] = fake.events(ev.MISSION_REGISTERED)
    assert event.subject == "cand-1" and event.data["mission_id"] == mission.id

    running = set(threading.enumerate())
    ctx.runtime.start()  # no relay and no consumer over a fake
    assert set(threading.enumerate()) == running and not database.exists()
    ctx.runtime.stop()
