"""LMS webhooks through the real pipeline: REST → outbox → Kafka → enrolment's consumer → signed POST to
an endpoint on 127.0.0.1; and an event another service publishes, delivered once though Kafka
redelivers it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from certifia_enrolment.bootstrap import create_application
from certifia_enrolment.config import Settings
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import auth, fresh_pg_url, kafka_settings, publish, wait_for

pytestmark = pytest.mark.integration
LMS = auth("lms", subject="moodle-client", client_id="moodle")


@pytest.fixture
def service() -> Iterator[tuple[TestClient, Any]]:
    settings = Settings(
        database_url=fresh_pg_url("enrolment"),
        **kafka_settings("enrolment"),
        relay_poll_seconds=0.1,
        webhook_poll_seconds=0.1,
        webhook_allow_http=True,
        webhook_allow_private_addresses=True,
    )
    app = create_application(settings)
    with TestClient(app) as client:
        yield client, app.state.ctx
    app.state.ctx.db_engine.dispose()


def _publish(event: CloudEvent, topic: str) -> None:
    publish([event], topic=topic)  # as the topic's owner (assessment here) publishes it


def test_lms_webhooks_follow_the_candidate_through_kafka(
    service: tuple[TestClient, Any], receiver: Any
) -> None:
    client, _ctx = service
    ready = wait_for(
        lambda: client.get("/readyz").status_code == 200 and client.get("/readyz").json(), what="ready"
    )
    assert set(ready["checks"]) == {
        "database",
        "outbox_relay",
        "consumer",
        "consumer_group",
        "webhook_sender",
    }
    assert ready["checks"]["consumer_group"]["membership"] == "ok"
    assert set(ready["checks"]["consumer_group"]["lag"]) == {
        ev.TOPIC_ENROLMENT,
        ev.TOPIC_ASSESSMENT,
        ev.TOPIC_GRADING,
        ev.TOPIC_THESIS,
        ev.TOPIC_CERTIFICATION,
    }
    created = client.post("/webhooks", json={"url": receiver.url}, headers=LMS)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    external_id = f"moodle-{uuid.uuid4().hex[:8]}"
    body = {"external_id": external_id, "given_name": "Ada", "family_name": "Lovelace", "email": "a@b.fr"}
    candidate_id = client.post("/candidates", json=body, headers=LMS).json()["id"]

    def types_for_candidate() -> list[str]:
        return [m["type"] for m in receiver.messages() if m["candidate"]["id"] == candidate_id]

    wait_for(
        lambda: types_for_candidate() == ["candidate.enrolled"], timeout=60, what="candidate.enrolled webhook"
    )

    # assessment publishes bloc.passed; Kafka delivers it twice (a producer retry, a rebalance)
    data = {
        "candidate_id": candidate_id,
        "bloc": "2",
        "competencies": ["2.A1.C1"],
        "via": "assessment",
        "passed_at": "2026-11-29T10:00:00+00:00",
        "referential_version": "1.0.0",
    }
    contract(ev.BLOC_PASSED).validate(data)
    bloc_passed = CloudEvent(
        type=ev.BLOC_PASSED, source="/certifia/assessment", subject=candidate_id, data=data
    )
    _publish(bloc_passed, ev.TOPIC_ASSESSMENT)
    _publish(bloc_passed, ev.TOPIC_ASSESSMENT)
    wait_for(lambda: "bloc.passed" in types_for_candidate(), timeout=60, what="bloc.passed webhook")

    # the inbox saw the twin: still one delivery once everything is consumed
    marker = CloudEvent(
        type=ev.BLOC_PASSED, source="/certifia/assessment", subject=candidate_id, data={**data, "bloc": "3"}
    )
    _publish(marker, ev.TOPIC_ASSESSMENT)  # after the twin on the same partition (same key)
    wait_for(lambda: len(types_for_candidate()) == 3, timeout=60, what="the marker's webhook")
    assert types_for_candidate() == ["candidate.enrolled", "bloc.passed", "bloc.passed"]
    assert [m["data"]["bloc"] for m in receiver.messages() if m["type"] == "bloc.passed"] == ["2", "3"]
    for headers, raw in receiver.received:
        message = Webhook(secret).verify(raw, headers)
        assert message["candidate"]["external_id"] == external_id
        assert headers["traceparent"]  # the trace goes on into the LMS
