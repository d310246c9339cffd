"""bootstrap() over the fake unit of work (STYLE.md: bootstrap takes the unit of work; tests pass a fake):
the context it wires makes no database and starts no worker, and its ``uow()`` is the fake."""

from __future__ import annotations

import threading
from pathlib import Path

from certifia_enrolment.bootstrap import bootstrap
from certifia_enrolment.config import Settings
from certifia_enrolment.service_layer import handlers
from certifia_shared import event_types as ev

from .fakes import FakeEnrolmentUnitOfWork


def test_bootstrap_over_the_fake_unit_of_work_runs_a_use_case_without_a_database(tmp_path: Path) -> None:
    database = tmp_path / "enrolment.db"
    fake = FakeEnrolmentUnitOfWork()
    ctx = bootstrap(Settings(database_url=f"sqlite:///{database}"), uow_factory=lambda: fake)
    assert ctx.uow() is fake and ctx.db_engine is None

    cmd = handlers.EnrolCandidate(
        lms_client="moodle",
        external_id="42",
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.org",
        path="formation",
        cohort=None,
    )
    candidate, created = handlers.enrol_candidate(cmd, uow=ctx.uow())
    assert created and fake.candidates.get(candidate.id) == candidate
    [event] = fake.events(ev.CANDIDATE_ENROLLED)
    assert event.subject == candidate.id and event.source == "/certifia/enrolment"

    running = set(threading.enumerate())
    ctx.runtime.start()  # no relay, consumer or webhook sender over a fake
    assert set(threading.enumerate()) == running and not database.exists()
    ctx.runtime.stop()
