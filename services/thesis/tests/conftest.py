"""The thesis service as an in-process app (no Kafka: background workers off), on SQLite or PostgreSQL.

``app`` runs every test that uses it on SQLite; the PostgreSQL variant (``fresh_pg_url("thesis")``) is
marked ``integration`` and runs with ``-m integration``. Candidates are made known through the same
handler the Kafka consumer calls for candidate.enrolled. The service's clock is ``Thesis.now`` (set it to
move time, e.g. past a scheduled defence); deposited files go to the test's temporary folder.

These fixtures serve ``tests/integration``; ``tests/unit`` runs the use cases over ``unit/fakes.py``
(no database) and needs none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import auth, enrolled_event, fresh_pg_url, outbox_events
from certifia_thesis.bootstrap import create_application
from certifia_thesis.config import Settings
from certifia_thesis.service_layer.events import candidate_enrolled

OFFICER = auth("officer", subject="officer-1")
JURY = auth("jury", subject="jury-1")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
JURY_PANEL = [
    {"name": "Pr Durand", "role": "president"},
    {"name": "Dr Martin", "role": "member"},
    {"name": "M. Petit", "role": "company_tutor"},
]
ABSTRACT = "Une thèse professionnelle sur la détection d'anomalies dans des séries temporelles industrielles."


def pdf(text: str = "thesis") -> bytes:
    """A small PDF (what matters here: it starts with %PDF-)."""
    return b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n"


@dataclass
class Thesis:
    client: TestClient
    ctx: Any  # certifia_thesis.bootstrap.ThesisContext
    now: datetime = field(default=T0)

    def later(self, **delta: float) -> datetime:
        """Move the service's clock forward."""
        self.now = self.now + timedelta(**delta)
        return self.now

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

    def deposit(
        self,
        mission_id: str,
        candidate_id: str = "cand-1",
        headers: dict[str, str] = OFFICER,
        file: bytes | None = None,
        **form: Any,
    ) -> Any:
        data = {"title": "Détection d'anomalies", "abstract": ABSTRACT, "mission_id": mission_id, **form}
        files = {"file": ("these.pdf", pdf() if file is None else file, "application/pdf")}
        return self.client.post(
            f"/candidates/{candidate_id}/thesis/deposit", data=data, files=files, headers=headers
        )

    def schedule(self, candidate_id: str = "cand-1", headers: dict[str, str] = OFFICER, **body: Any) -> Any:
        payload = {
            "scheduled_at": (self.now + timedelta(days=8)).isoformat(),
            "location": "Salle B204",
            "jury": JURY_PANEL,
            **body,
        }
        return self.client.post(f"/candidates/{candidate_id}/defence/schedule", json=payload, headers=headers)

    def scheduled_and_held(self, candidate_id: str = "cand-1") -> str:
        """A registered mission, a deposit, a defence scheduled and its time come: the mission id."""
        mission_id: str = self.mission(candidate_id).json()["id"]
        assert self.deposit(mission_id, candidate_id).status_code == 201
        response = self.schedule(candidate_id)
        assert response.status_code == 201, response.text
        self.later(days=8, hours=2)
        return mission_id

    def thesis(self, candidate_id: str = "cand-1", headers: dict[str, str] = OFFICER) -> Any:
        return self.client.get(f"/candidates/{candidate_id}/thesis", headers=headers)

    def outbox(self, type: str | None = None) -> list[CloudEvent]:
        return outbox_events(self.ctx, type)

    def count(self, table: Table) -> int:
        with self.ctx.sessions() as session:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def settings_for(url: str, deposits: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=url,
        deposits_dir=str(deposits),
        max_thesis_bytes=1024,  # small, so the 413 is cheap to test
        run_background_workers=False,
        **overrides,
    )


def _database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'thesis.db'}"
    return fresh_pg_url("thesis")


def _thesis(client: TestClient, application: Any) -> Thesis:
    thesis = Thesis(client, application.state.ctx)
    application.state.clock = lambda: thesis.now
    return thesis


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Thesis]:
    application = create_application(settings_for(_database_url(request.param, tmp_path), tmp_path / "files"))
    with TestClient(application) as client:
        yield _thesis(client, application)
    application.state.ctx.db_engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Thesis]:
    application = create_application(settings_for(f"sqlite:///{tmp_path / 'thesis.db'}", tmp_path / "files"))
    with TestClient(application) as client:
        yield _thesis(client, application)
    application.state.ctx.db_engine.dispose()


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Thesis]]:
    """Builds apps on SQLite with other settings, e.g. ``make_app(defence_max_attempts=3)``."""
    stack = ExitStack()

    def make(**overrides: Any) -> Thesis:
        folder = tmp_path / f"app-{len(stack._exit_callbacks)}"
        application = create_application(
            settings_for(f"sqlite:///{folder}.db", folder / "files", **overrides)
        )
        stack.callback(application.state.ctx.db_engine.dispose)
        client = stack.enter_context(TestClient(application))
        return _thesis(client, application)

    with stack:
        yield make


@pytest.fixture
def make_enrolled() -> Any:
    """A candidate.enrolled event for a candidate id (what the enrolment service publishes)."""
    return enrolled_event
