"""The thesis service as an in-process app (no Kafka: background workers off), on SQLite or PostgreSQL.

``app`` runs every test that uses it on SQLite; the PostgreSQL variant (``fresh_pg_url("thesis")``) is
marked ``integration`` and runs with ``-m integration``. Candidates are made known through the same
handler the Kafka consumer calls for candidate.enrolled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import TEST_SECRET, auth, enrolled_event, fresh_pg_url, outbox_events
from certifia_thesis.bootstrap import create_application
from certifia_thesis.config import Settings
from certifia_thesis.service_layer.events import candidate_enrolled

OFFICER = auth("officer", subject="officer-1")
JURY = auth("jury", subject="jury-1")


@dataclass
class Thesis:
    client: TestClient
    ctx: Any  # certifia_shared.service.ServiceContext

    def enrol(self, candidate_id: str = "cand-1", **kwargs: Any) -> str:
        with self.ctx.uow() as uow:
            candidate_enrolled(enrolled_event(candidate_id, **kwargs), uow)
            uow.commit()
        return candidate_id

    def mission(self, candidate_id: str = "cand-1", headers: dict[str, str] = OFFICER, **body: Any) -> Any:
        payload = {"company": "Acme", "start_date": "2026-01-01", "end_date": "2026-06-30", **body}
        return self.client.post(f"/candidates/{candidate_id}/missions", json=payload, headers=headers)

    def defend(self, mission_id: str, candidate_id: str = "cand-1", **body: Any) -> Any:
        payload = {"mission_id": mission_id, "outcome": "passed", "grade": 14.5, "jury": ["Dr A"], **body}
        return self.client.post(f"/candidates/{candidate_id}/defence", json=payload, headers=JURY)

    def thesis(self, candidate_id: str = "cand-1", headers: dict[str, str] = OFFICER) -> Any:
        return self.client.get(f"/candidates/{candidate_id}/thesis", headers=headers)

    def outbox(self, type: str | None = None) -> list[CloudEvent]:
        return outbox_events(self.ctx, type)

    def count(self, table: Table) -> int:
        with self.ctx.sessions() as session:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def settings_for(url: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=url,
        run_background_workers=False,
        CERTIFIA_AUTH_SECRET=TEST_SECRET.get_secret_value(),
        **overrides,
    )


def _database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'thesis.db'}"
    return fresh_pg_url("thesis")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Thesis]:
    application = create_application(settings_for(_database_url(request.param, tmp_path)))
    with TestClient(application) as client:
        yield Thesis(client, application.state.ctx)
    application.state.ctx.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Thesis]:
    application = create_application(settings_for(f"sqlite:///{tmp_path / 'thesis.db'}"))
    with TestClient(application) as client:
        yield Thesis(client, application.state.ctx)
    application.state.ctx.engine.dispose()


@pytest.fixture
def make_enrolled() -> Any:
    """A candidate.enrolled event for a candidate id (what the enrolment service publishes)."""
    return enrolled_event
