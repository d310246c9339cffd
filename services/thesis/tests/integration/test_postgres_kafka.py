"""The thesis service on the real PostgreSQL and the real Kafka broker.

* concurrent twin requests: one mission and one event; one passed outcome of the scheduled defence, the
  others 409; concurrent deposits: consecutive versions, one event each;
* the whole loop: candidate.enrolled published on certifia.enrolment is applied by the service's
  consumer, and the mission.registered it then emits comes out of the outbox relay on certifia.thesis.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, from_kafka
from certifia_shared.testing import (
    auth,
    enrolled_event,
    fresh_pg_url,
    kafka_bootstrap,
    kafka_settings,
    publish,
    read_topic,
    wait_for,
)
from certifia_thesis.adapters.orm import defences, missions
from certifia_thesis.bootstrap import bootstrap, create_application
from certifia_thesis.config import Settings
from certifia_thesis.domain.model import ThesisAlreadyPassed
from certifia_thesis.domain.schedule import JuryMember
from certifia_thesis.service_layer import deposit, handlers, outcome, schedule
from certifia_thesis.service_layer.events import candidate_enrolled

pytestmark = pytest.mark.integration


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": fresh_pg_url("thesis"),
        "run_background_workers": False,
        **overrides,
    }
    return Settings(**values)


def _count(ctx: Any, table: Any, *where: Any) -> int:
    with ctx.sessions() as s:
        return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


@pytest.fixture
def ctx() -> Iterator[Any]:
    context = bootstrap(_settings())
    with context.uow() as uow:
        candidate_enrolled(enrolled_event("cand-1"), uow)
        uow.commit()
    yield context
    context.db_engine.dispose()


def test_concurrent_twin_missions_give_one_mission_and_one_event(ctx: Any) -> None:
    cmd = handlers.RegisterMission(
        candidate_id="cand-1",
        company="Acme",
        title=None,
        tutor=None,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 6, 30),
        fte=1.0,
    )

    def register(_: int) -> tuple[str, bool]:
        mission, created = handlers.register_mission(cmd, uow=ctx.uow())
        return mission.id, created

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(register, range(8)))
    assert len({mid for mid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert _count(ctx, missions) == 1 and _count(ctx, ctx.tables.outbox) == 1


def test_concurrent_passed_defences_give_one_pass(ctx: Any) -> None:
    mission, _ = handlers.register_mission(
        handlers.RegisterMission("cand-1", "Acme", None, None, date(2026, 1, 1), date(2026, 6, 30), 1.0),
        uow=ctx.uow(),
    )
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    deposit.deposit_thesis(
        deposit.DepositThesis("cand-1", mission.id, "Ma thèse", "x" * 60, "ab" * 32, 10, None, "cand-1"),
        uow=ctx.uow(),
        now=lambda: t0,
    )
    jury = (JuryMember("Pr A", "president"), JuryMember("Dr A", "member"))
    schedule.schedule_defence(
        schedule.ScheduleDefence("cand-1", t0 + timedelta(days=8), "B204", jury, "officer-1"),
        uow=ctx.uow(),
        reading_days=7,
        now=lambda: t0,
    )

    def defend(i: int) -> str:
        cmd = outcome.RecordDefence(
            candidate_id="cand-1",
            mission_id=mission.id,
            outcome="passed",
            grade=12.0 + i,  # all different: none is a retry of another
            jury=("Dr A",),
            defended_at=None,
            recorded_by="jury-1",
        )
        try:
            outcome.record_defence(cmd, uow=ctx.uow(), now=lambda: t0 + timedelta(days=9))
        except ThesisAlreadyPassed:
            return "409"
        return "201"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(defend, range(8)))
    assert outcomes == ["201"] + ["409"] * 7
    assert _count(ctx, defences) == 1
    assert _count(ctx, ctx.tables.outbox, ctx.tables.outbox.c.type == ev.THESIS_DEFENDED) == 1


def test_concurrent_deposits_get_consecutive_versions(ctx: Any) -> None:
    mission, _ = handlers.register_mission(
        handlers.RegisterMission("cand-1", "Acme", None, None, date(2026, 1, 1), date(2026, 6, 30), 1.0),
        uow=ctx.uow(),
    )

    def deposit_version(i: int) -> int:
        cmd = deposit.DepositThesis(
            "cand-1", mission.id, f"Ma thèse {i}", "x" * 60, f"{i:02x}" * 32, 10, None, "c"
        )
        return deposit.deposit_thesis(cmd, uow=ctx.uow())[0].version

    with ThreadPoolExecutor(6) as pool:
        versions = sorted(pool.map(deposit_version, range(6)))
    assert versions == [1, 2, 3, 4, 5, 6]
    assert _count(ctx, ctx.tables.outbox, ctx.tables.outbox.c.type == ev.THESIS_SUBMITTED) == 6


@pytest.fixture
def running_service() -> Iterator[tuple[TestClient, Any]]:
    app = create_application(
        _settings(run_background_workers=True, **kafka_settings("thesis"), relay_poll_seconds=0.1)
    )
    with TestClient(app) as client:
        yield client, app.state.ctx
    app.state.ctx.db_engine.dispose()


def test_enrolled_in_from_kafka_mission_registered_out_to_kafka(
    running_service: tuple[TestClient, Any],
) -> None:
    client, ctx = running_service
    candidate_id = f"cand-{uuid.uuid4()}"
    enrolled = enrolled_event(candidate_id)
    publish([enrolled])  # as enrolment's relay does

    officer = auth("officer")
    thesis_url = f"/candidates/{candidate_id}/thesis"
    wait_for(
        lambda: client.get(thesis_url, headers=officer).status_code == 200,
        timeout=60,
        what="the thesis consumer to record the enrolled candidate",
    )
    assert _count(ctx, ctx.tables.inbox, ctx.tables.inbox.c.event_id == enrolled.id) == 1

    response = client.post(
        f"/candidates/{candidate_id}/missions",
        headers=officer,
        json={"company": "Acme", "start_date": "2026-01-05", "end_date": "2026-07-04", "fte": 0.8},
    )
    assert response.status_code == 201, response.text
    mission_id = response.json()["id"]

    def published() -> list[tuple[Any, CloudEvent]]:
        found = []
        for rec in read_topic(kafka_bootstrap(), ev.TOPIC_THESIS, timeout=10):
            event = from_kafka(rec.headers, rec.value)
            if event.subject == candidate_id:
                found.append((rec, event))
        return found

    [(record, event)] = wait_for(published, timeout=30, what="mission.registered on certifia.thesis")
    assert event.type == ev.MISSION_REGISTERED and record.key == candidate_id.encode()
    assert event.data["mission_id"] == mission_id and event.data["months_fte"] == 4.8
    assert event.source == "/certifia/thesis"
