"""The enrolment service as an in-process app (no Kafka: background workers off), on SQLite or PostgreSQL.

``app`` runs every test that uses it on SQLite; the PostgreSQL variant (``fresh_pg_url("enrolment")``) is
marked ``integration`` and runs with ``-m integration`` (``make test-integration``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_enrolment.bootstrap import create_application
from certifia_enrolment.config import Settings
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import WebhookReceiver, fresh_pg_url, outbox_events


@dataclass
class Enrolment:
    client: TestClient
    ctx: Any  # certifia_shared.service.ServiceContext

    def outbox(self, type: str | None = None) -> list[CloudEvent]:
        return outbox_events(self.ctx, type)


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        run_background_workers=False,
    )


def _database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'enrolment.db'}"
    return fresh_pg_url("enrolment")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Enrolment]:
    application = create_application(settings_for(_database_url(request.param, tmp_path)))
    with TestClient(application) as client:
        yield Enrolment(client, application.state.ctx)
    application.state.ctx.db_engine.dispose()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """An LMS webhook endpoint on 127.0.0.1 (``.statuses``: the answers to script, then 204)."""
    r = WebhookReceiver()
    yield r
    r.close()
