"""build_context over a fake unit of work: no engine, no migration, no worker started; ``uow()`` is the fake
and the consumer it builds (never started) applies the handlers in it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.exc import UnboundExecutionError

from certifia_shared import event_types as ev
from certifia_shared.config import ServiceSettings
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent
from certifia_shared.fakes import FakeRepository, FakeUnitOfWork
from certifia_shared.messaging import messaging_tables
from certifia_shared.service import build_context
from certifia_shared.testing import enrolled_event


class FakeNames(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, str] = {}


class NamesUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/certifia/thesis")
        self.names = FakeNames()


def remember(event: CloudEvent, uow: NamesUnitOfWork) -> None:
    uow.names.rows[event.data["candidate_id"]] = event.data["given_name"]


def test_a_context_over_a_fake_has_no_database_and_starts_nothing(tmp_path: Path) -> None:
    database = tmp_path / "thesis.db"
    settings = ServiceSettings(
        service_name="thesis", database_url=f"sqlite:///{database}", oidc_issuer="http://127.0.0.1:1/realm"
    )
    fake = NamesUnitOfWork()
    ctx = build_context(
        settings,
        database_name="thesis",
        tables=messaging_tables(MetaData()),
        migrations_dir=tmp_path / "no-migrations",
        unit_of_work=UnitOfWork,
        handlers=lambda: {ev.CANDIDATE_ENROLLED: remember},
        uow_factory=lambda: fake,  # type: ignore[arg-type, return-value]
    )
    assert ctx.uow() is fake and ctx.db_engine is None and ctx.runtime.engine is None
    with ctx.sessions() as session, pytest.raises(UnboundExecutionError):
        session.execute(text("SELECT 1"))  # bound to no database

    assert ctx.runtime.consumer is not None
    with ctx.uow() as uow:
        ctx.runtime.consumer.handlers[ev.CANDIDATE_ENROLLED](enrolled_event("cand-1", given_name="Ada"), uow)
        uow.commit()
    assert fake.names.rows == {"cand-1": "Ada"} and fake.committed == 1

    running = set(threading.enumerate())
    ctx.runtime.start()
    assert set(threading.enumerate()) == running and not database.exists()
    ctx.runtime.stop()
    assert ctx.runtime.readiness() == {"database": "none: wired over a fake unit of work"}
