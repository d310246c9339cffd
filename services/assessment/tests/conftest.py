"""The assessment service as an in-process app (no Kafka: background workers off), on SQLite or PostgreSQL.

``client`` runs every test that uses it on SQLite; its PostgreSQL variant (``fresh_pg_url("assessment")``)
is marked ``integration`` and runs with ``-m integration``. Candidates are made known through the same
handler the Kafka consumer calls for candidate.enrolled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from certifia_assessment.adapters.orm import messaging
from certifia_assessment.bootstrap import create_application
from certifia_assessment.config import Settings
from certifia_assessment.service_layer.events import on_candidate_enrolled
from certifia_shared.service import ServiceContext
from certifia_shared.testing import enrolled_event, fresh_pg_url


def make_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        run_background_workers=False,
        artifacts_dir=str(tmp_path / "artifacts"),
        public_base_url="http://assessment.test",
    )


def _database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'assessment.db'}"
    return fresh_pg_url("assessment")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    app = create_application(make_settings(_database_url(request.param, tmp_path), tmp_path))
    with TestClient(app) as c:
        yield c
    app.state.ctx.db_engine.dispose()


def ctx_of(client: TestClient) -> ServiceContext:
    ctx: ServiceContext = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def enrol_candidate(client: TestClient, candidate_id: str, path: str = "formation") -> None:
    """Apply a candidate.enrolled event the way the consumer does (one unit of work)."""
    event = enrolled_event(candidate_id, path=path)
    with ctx_of(client).uow() as uow:
        on_candidate_enrolled(event, uow)
        uow.commit()


def emitted_types(client: TestClient) -> list[str]:
    with ctx_of(client).uow() as uow:
        return list(uow.session.scalars(select(messaging.outbox.c.type).order_by(messaging.outbox.c.seq)))


@pytest.fixture
def enrol(client: TestClient) -> Callable[..., None]:
    return lambda candidate_id, path="formation": enrol_candidate(client, candidate_id, path)


@pytest.fixture
def outbox(client: TestClient) -> Callable[[], list[str]]:
    return lambda: emitted_types(client)


@pytest.fixture
def ctx(client: TestClient) -> ServiceContext:
    """The client's service context (engine, units of work, outbox tables)."""
    return ctx_of(client)
