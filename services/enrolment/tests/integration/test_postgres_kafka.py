"""Enrolment on the real PostgreSQL (and Kafka): concurrent twins, and the outbox relayed to the topic.

The API scenarios themselves run on PostgreSQL too: test_api.py's ``app`` fixture has an ``integration``
variant.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from sqlalchemy import func, select

from certifia_enrolment.adapters.orm import candidates
from certifia_enrolment.bootstrap import bootstrap, create_application
from certifia_enrolment.config import Settings
from certifia_enrolment.service_layer import handlers
from certifia_shared import event_types as ev
from certifia_shared.envelope import from_kafka
from certifia_shared.testing import (
    auth,
    fresh_pg_url,
    kafka_bootstrap,
    kafka_security,
    kafka_settings,
    wait_for,
)

pytestmark = pytest.mark.integration


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": fresh_pg_url("enrolment"),
        "run_background_workers": False,
    }
    return Settings(**{**values, **overrides})


def test_concurrent_twin_enrolments_give_one_candidate() -> None:
    ctx = bootstrap(_settings())
    cmd = handlers.EnrolCandidate(
        lms_client="moodle",
        external_id="race-1",
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.org",
        path="formation",
        cohort=None,
    )
    start = threading.Barrier(8)

    def enrol(_: int) -> tuple[str, bool]:
        start.wait()
        candidate, created = handlers.enrol_candidate(cmd, uow=ctx.uow())
        return candidate.id, created

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(enrol, range(8)))
        assert len({cid for cid, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        with ctx.sessions() as s:
            assert s.execute(select(func.count()).select_from(candidates)).scalar_one() == 1
            assert s.execute(select(func.count()).select_from(ctx.tables.outbox)).scalar_one() == 1
    finally:
        ctx.db_engine.dispose()


@pytest.fixture
def running_service() -> Iterator[tuple[TestClient, Any]]:
    app = create_application(
        _settings(run_background_workers=True, **kafka_settings("enrolment"), relay_poll_seconds=0.1)
    )
    with TestClient(app) as client:
        yield client, app.state.ctx
    app.state.ctx.db_engine.dispose()


def test_enrolment_events_reach_the_topic_through_the_relay(running_service: tuple[TestClient, Any]) -> None:
    client, ctx = running_service
    external_id = f"kafka-{uuid.uuid4()}"
    body = {"external_id": external_id, "given_name": "Ada", "family_name": "Lovelace", "email": "a@b.org"}
    response = client.post("/candidates", json=body, headers=auth("lms", client_id="moodle"))
    assert response.status_code == 201, response.text
    cid = response.json()["id"]
    assert client.put(
        f"/candidates/{cid}/option", json={"option": "5A"}, headers=auth("lms", client_id="moodle")
    )

    outbox = ctx.tables.outbox

    def all_sent() -> bool:
        with ctx.sessions() as s:
            return (
                s.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                ).scalar_one()
                == 0
            )

    wait_for(all_sent, timeout=30, what="the relay to mark the outbox sent")
    consumer = KafkaConsumer(
        "certifia.enrolment",
        bootstrap_servers=kafka_bootstrap(),
        group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
        **kafka_security("admin").client_kwargs(),
    )
    seen: list[Any] = []
    try:

        def both_arrived() -> bool:
            for batch in consumer.poll(timeout_ms=500).values():
                for rec in batch:
                    event = from_kafka(rec.headers, rec.value)
                    if event.subject == cid:
                        seen.append((rec, event))
            return len(seen) >= 2

        wait_for(both_arrived, timeout=30, what="candidate.enrolled and option_chosen on certifia.enrolment")
    finally:
        consumer.close()
    (rec1, enrolled), (rec2, chosen) = seen[:2]
    assert (enrolled.type, chosen.type) == (ev.CANDIDATE_ENROLLED, ev.OPTION_CHOSEN)
    assert rec1.key == rec2.key == cid.encode() and rec1.partition == rec2.partition
    assert enrolled.data["external_id"] == external_id and chosen.data["option"] == "5A"
    assert json.loads(rec1.value)["candidate_id"] == cid
