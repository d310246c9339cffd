"""LMS webhooks on SQLite and (``-m integration``) PostgreSQL: the REST API, the fan-out of consumed
events into deliveries, and the delivery worker POSTing to a real endpoint on 127.0.0.1.

The consumer loop itself (Kafka → fan-out) is in integration/test_webhooks_kafka.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from standardwebhooks import Webhook

from certifia_enrolment.adapters.orm import webhook_deliveries as deliveries
from certifia_enrolment.bootstrap import create_application, delivery_worker
from certifia_enrolment.config import Settings
from certifia_enrolment.domain.webhooks import WEBHOOK_EVENTS
from certifia_enrolment.service_layer.webhooks import DeliveryWorker, event_handlers, fan_out
from certifia_shared import event_types as ev
from certifia_shared.bus import bus
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.tenancy_matrix import Matrix, assert_holds
from certifia_shared.testing import auth, fresh_pg_url

LMS = auth("lms", subject="moodle-client", client_id="moodle")
OTHER_LMS = auth("lms", subject="canvas-client", client_id="canvas")
OFFICER = auth("officer")
CANDIDATE = auth("candidate", candidate_id="c-1")
PUBLIC_URL = "https://lms.example.org/certifia/hooks"


@dataclass
class Hooks:
    client: TestClient
    ctx: Any
    settings: Settings

    def worker(self) -> DeliveryWorker:
        return delivery_worker(self.ctx)

    def subscribe(self, url: str, headers: dict[str, str] = LMS, **body: Any) -> dict[str, Any]:
        response = self.client.post("/webhooks", json={"url": url, **body}, headers=headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def enrol(self, external_id: str, headers: dict[str, str] = LMS) -> dict[str, Any]:
        body = {"external_id": external_id, "given_name": "Ada", "family_name": "Lovelace", "email": "a@b.fr"}
        response = self.client.post("/candidates", json=body, headers=headers)
        assert response.status_code == 201, response.text
        candidate: dict[str, Any] = response.json()
        return candidate

    def consume(self, event: CloudEvent) -> None:
        """What the consumer does with a record: the handler inside one unit of work, then commit."""
        with self.ctx.uow() as uow:
            fan_out(event, uow)
            uow.commit()

    def deliveries(
        self, subscription_id: str, headers: dict[str, str] = LMS, **params: Any
    ) -> list[dict[str, Any]]:
        response = self.client.get(f"/webhooks/{subscription_id}/deliveries", headers=headers, params=params)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return rows


def _settings(url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "run_background_workers": False,
    }
    return Settings(**{**values, **extra})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return (
        f"sqlite:///{tmp_path / 'enrolment.db'}" if request.param == "sqlite" else fresh_pg_url("enrolment")
    )


def _hooks(settings: Settings) -> Iterator[Hooks]:
    application = create_application(settings)
    with TestClient(application) as client:
        yield Hooks(client, application.state.ctx, settings)
    application.state.ctx.db_engine.dispose()


@pytest.fixture
def hooks(database_url: str) -> Iterator[Hooks]:
    """As deployed: https and public addresses only."""
    yield from _hooks(_settings(database_url))


@pytest.fixture
def local_hooks(database_url: str) -> Iterator[Hooks]:
    """As in the local demo: http to 127.0.0.1 allowed; a short retry schedule (0.2 s, then 0.2 s)."""
    yield from _hooks(
        _settings(
            database_url,
            webhook_allow_http=True,
            webhook_allow_private_addresses=True,
            webhook_retry_seconds=(0.2, 0.2),
            webhook_timeout_seconds=2,
        )
    )


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def _event(type: str, candidate_id: str, **data: Any) -> CloudEvent:
    return CloudEvent(
        type=type,
        source="/certifia/assessment",
        subject=candidate_id,
        data={"candidate_id": candidate_id, **data},
    )


def _drain(hooks: Hooks, worker: DeliveryWorker, until: float = 5.0) -> None:
    """Run the worker until no delivery is pending (waiting out retry delays), at most ``until`` seconds."""
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        if not worker.deliver_due():
            with hooks.ctx.sessions() as session:
                pending = session.execute(
                    select(func.count()).where(deliveries.c.status == "pending")
                ).scalar_one()
            if not pending:
                return
            time.sleep(0.05)
    raise AssertionError(f"deliveries still pending after {until}s")


# -- the REST API -----------------------------------------------------------------------------------
def test_an_lms_subscribes_and_sees_the_secret_once(hooks: Hooks) -> None:
    created = hooks.subscribe(PUBLIC_URL, events=["bloc.passed", "diploma.issued"], description="grades")
    assert created["secret"].startswith("whsec_") and created["lms_client"] == "moodle"
    assert created["events"] == ["bloc.passed", "diploma.issued"] and created["active"] is True
    listed = hooks.client.get("/webhooks", headers=LMS).json()
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]
    one = hooks.client.get(f"/webhooks/{created['id']}", headers=LMS).json()
    assert "secret" not in one and one["url"] == PUBLIC_URL
    catalogue = hooks.client.get("/webhooks/events", headers=LMS).json()
    assert "diploma.issued" in catalogue and "grading.requested" not in catalogue


def test_an_lms_sees_only_its_own_subscriptions_and_staff_see_all(hooks: Hooks) -> None:
    mine = hooks.subscribe(PUBLIC_URL)
    theirs = hooks.subscribe("https://canvas.example.org/hooks", headers=OTHER_LMS)
    assert [s["id"] for s in hooks.client.get("/webhooks", headers=OTHER_LMS).json()] == [theirs["id"]]
    for path in (f"/webhooks/{mine['id']}", f"/webhooks/{mine['id']}/deliveries"):
        assert (
            _problem(hooks.client.get(path, headers=OTHER_LMS), 404)["errors"][0]["field"]
            == "subscription_id"
        )
    _problem(hooks.client.delete(f"/webhooks/{mine['id']}", headers=OTHER_LMS), 404)
    _problem(hooks.client.post(f"/webhooks/{mine['id']}/secret", headers=OTHER_LMS), 404)
    assert {s["id"] for s in hooks.client.get("/webhooks", headers=OFFICER).json()} == {
        mine["id"],
        theirs["id"],
    }
    _problem(hooks.client.get("/webhooks", headers=CANDIDATE), 403)
    _problem(hooks.client.post("/webhooks", json={"url": PUBLIC_URL}, headers=OFFICER), 403)
    _problem(hooks.client.get("/webhooks"), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://lms.example.org/hooks"}, "url"),
        ({"url": "https://127.0.0.1:8080/hooks"}, "url"),
        ({"url": "https://192.168.1.20/hooks"}, "url"),
        ({"url": "https://lms.example.org:99999/hooks"}, "url"),
        ({"url": "https://[::1/hooks"}, "url"),
        ({"url": PUBLIC_URL, "events": ["bloc.passed", "no.such.event"]}, "events"),
        ({"url": PUBLIC_URL, "secret": "mine"}, "secret"),
        ({"events": ["bloc.passed"]}, "url"),
    ],
)
def test_a_bad_subscription_is_refused_with_the_field_and_nothing_is_stored(
    hooks: Hooks, body: dict[str, Any], field: str
) -> None:
    problem = _problem(hooks.client.post("/webhooks", json=body, headers=LMS), 422)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert hooks.client.get("/webhooks", headers=LMS).json() == []


def test_rotating_the_secret_keeps_the_old_one_for_a_grace_period(hooks: Hooks) -> None:
    created = hooks.subscribe(PUBLIC_URL)
    rotated = hooks.client.post(f"/webhooks/{created['id']}/secret", headers=LMS)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] not in (created["secret"], None)
    assert rotated.json()["previous_secret_valid_until"] is not None


def test_a_deleted_subscription_stops_and_cannot_be_rotated(hooks: Hooks) -> None:
    created = hooks.subscribe(PUBLIC_URL)
    assert hooks.client.delete(f"/webhooks/{created['id']}", headers=LMS).status_code == 204
    assert hooks.client.get(f"/webhooks/{created['id']}", headers=LMS).json()["active"] is False
    _problem(hooks.client.post(f"/webhooks/{created['id']}/secret", headers=LMS), 409)


# -- fan-out and delivery ---------------------------------------------------------------------------
def test_an_event_reaches_the_candidates_lms_signed_once_even_when_consumed_twice(
    local_hooks: Hooks, receiver: Any
) -> None:
    sub = local_hooks.subscribe(receiver.url)
    other = local_hooks.subscribe(receiver.url + "/canvas", headers=OTHER_LMS)
    only_diplomas = local_hooks.subscribe(receiver.url + "/diplomas", events=["diploma.issued"])
    candidate = local_hooks.enrol("moodle-7")
    event = _event(ev.BLOC_PASSED, candidate["id"], bloc="2")
    local_hooks.consume(event)
    local_hooks.consume(event)  # a redelivery of the same event
    assert [d["event"] for d in local_hooks.deliveries(sub["id"])] == ["bloc.passed"]
    assert local_hooks.deliveries(other["id"], headers=OTHER_LMS) == []
    assert local_hooks.deliveries(only_diplomas["id"]) == []

    _drain(local_hooks, local_hooks.worker())
    [(headers, body)] = receiver.received
    message = Webhook(sub["secret"]).verify(body, headers)
    assert message["type"] == "bloc.passed" and message["event_id"] == event.id
    assert message["candidate"] == {"id": candidate["id"], "external_id": "moodle-7"}
    assert message["data"]["bloc"] == "2"
    [delivery] = local_hooks.deliveries(sub["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert headers["webhook-id"] == delivery["id"] and headers["user-agent"].startswith("certifia-webhooks")


def test_a_polls_fan_outs_read_the_subscriptions_once_and_skip_what_no_one_wants(
    local_hooks: Hooks, receiver: Any
) -> None:
    """The cohort bench (issue 15): enrolment's consumer was the slowest group (lag 19,305 at N=500), two
    queries per event, a candidate and its LMS's subscriptions, even for the ~120 criterion.validated of a
    candidate that no subscription wants. A poll's records share one unit of work: one read of the
    subscriptions for all of them, and the candidate read only for an event someone follows."""
    from sqlalchemy import event as sa_event

    sub = local_hooks.subscribe(receiver.url, events=["bloc.passed", "diploma.issued"])
    candidate = local_hooks.enrol("moodle-9")
    events = [_event(ev.CRITERION_VALIDATED, candidate["id"], criterion_id=f"1.A1.C{i}") for i in range(50)]
    events.append(_event(ev.BLOC_PASSED, candidate["id"], bloc="1"))
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = local_hooks.ctx.db_engine
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        with local_hooks.ctx.uow() as uow:  # as the consumer applies a poll's records together
            for e in events:
                fan_out(e, uow)
            uow.commit()
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    assert sum("FROM webhook_subscriptions" in st for st in statements) == 1
    assert sum("FROM candidates" in st for st in statements) == 1  # for bloc.passed only
    assert [d["event"] for d in local_hooks.deliveries(sub["id"])] == ["bloc.passed"]


def test_an_event_about_a_candidate_enrolled_elsewhere_is_not_sent(local_hooks: Hooks, receiver: Any) -> None:
    sub = local_hooks.subscribe(receiver.url)
    local_hooks.consume(_event(ev.BLOC_PASSED, str(uuid.uuid4()), bloc="1"))
    assert local_hooks.deliveries(sub["id"]) == []


def test_a_failing_endpoint_is_retried_with_the_same_webhook_id_until_it_answers(
    local_hooks: Hooks, receiver: Any
) -> None:
    sub = local_hooks.subscribe(receiver.url)
    candidate = local_hooks.enrol("moodle-8")
    receiver.statuses = [500, 302]
    local_hooks.consume(_event(ev.CRITERION_VALIDATED, candidate["id"], criterion="2.A1.C1.E1"))
    worker = local_hooks.worker()
    worker.deliver_due()
    [pending] = local_hooks.deliveries(sub["id"])
    assert pending["status"] == "pending" and pending["attempts"] == 1
    assert pending["last_outcome"].startswith("HTTP 500") and pending["next_attempt_at"]
    _drain(local_hooks, worker)
    ids = {h["webhook-id"] for h, _ in receiver.received}
    assert len(receiver.received) == 3 and ids == {pending["id"]}
    [delivered] = local_hooks.deliveries(sub["id"])
    assert delivered["status"] == "delivered" and delivered["attempts"] == 3


def test_a_delivery_fails_after_the_schedule_and_the_lms_can_retry_it(
    local_hooks: Hooks, receiver: Any
) -> None:
    sub = local_hooks.subscribe(receiver.url)
    candidate = local_hooks.enrol("moodle-9")
    receiver.statuses = [503, 503, 503]
    local_hooks.consume(_event(ev.COMPETENCY_VALIDATED, candidate["id"], competency="2.A1.C1"))
    worker = local_hooks.worker()
    _drain(local_hooks, worker)
    [failed] = local_hooks.deliveries(sub["id"], status="failed")
    assert failed["attempts"] == 3 and failed["next_attempt_at"] is None  # 1 + the 2 scheduled retries
    assert len(receiver.received) == 3

    retried = local_hooks.client.post(f"/webhooks/{sub['id']}/deliveries/{failed['id']}/retry", headers=LMS)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    _drain(local_hooks, worker)
    [delivered] = local_hooks.deliveries(sub["id"])
    assert delivered["status"] == "delivered" and len(receiver.received) == 4
    again = local_hooks.client.post(f"/webhooks/{sub['id']}/deliveries/{failed['id']}/retry", headers=LMS)
    assert again.json()["status"] == "delivered"  # nothing to do
    _drain(local_hooks, worker, until=0.5)
    assert len(receiver.received) == 4


def test_a_worker_that_dies_mid_delivery_leaves_it_to_be_sent_after_its_lease(
    local_hooks: Hooks, receiver: Any
) -> None:
    sub = local_hooks.subscribe(receiver.url)
    candidate = local_hooks.enrol("moodle-10")
    local_hooks.consume(_event(ev.BLOC_PASSED, candidate["id"], bloc="3"))
    crashed = local_hooks.worker()
    [delivery_id] = [d["id"] for d in local_hooks.deliveries(sub["id"])]
    now = utcnow()
    assert crashed._claim(delivery_id, now)  # leased, then the process died before posting
    other = local_hooks.worker()
    assert other.deliver_due() == 0  # the lease holds it
    assert receiver.received == []
    with local_hooks.ctx.sessions() as session:  # time passes: the lease runs out
        session.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(lease_until=now - timedelta(seconds=1))
        )
        session.commit()
    assert other.deliver_due() == 1
    assert [d["status"] for d in local_hooks.deliveries(sub["id"])] == ["delivered"]
    assert len(receiver.received) == 1


def test_pending_deliveries_of_a_deleted_subscription_are_not_sent(local_hooks: Hooks, receiver: Any) -> None:
    sub = local_hooks.subscribe(receiver.url)
    candidate = local_hooks.enrol("moodle-11")
    local_hooks.consume(_event(ev.BLOC_PASSED, candidate["id"], bloc="4"))
    assert local_hooks.client.delete(f"/webhooks/{sub['id']}", headers=LMS).status_code == 204
    _drain(local_hooks, local_hooks.worker(), until=0.5)
    assert receiver.received == []
    [cancelled] = local_hooks.deliveries(sub["id"])
    assert cancelled["status"] == "failed" and "deleted" in cancelled["last_outcome"]
    retry = local_hooks.client.post(f"/webhooks/{sub['id']}/deliveries/{cancelled['id']}/retry", headers=LMS)
    _problem(retry, 409)


def test_the_tenancy_rule_holds_on_every_candidate_scoped_route(hooks: Hooks) -> None:
    """Every route of enrolment that names a candidate or an LMS's resource (certifia_shared.tenancy_matrix):
    another LMS gets what an unknown id gets; a subscription and its deliveries are their LMS's."""
    candidate = hooks.enrol("ext-matrix")
    subscription = hooks.subscribe(PUBLIC_URL)
    hooks.consume(
        CloudEvent(
            type=ev.OPTION_CHOSEN,
            source="/certifia/enrolment",
            subject=candidate["id"],
            data={"candidate_id": candidate["id"], "option": "5A", "chosen_at": "2026-11-29T10:00:00+00:00"},
        )
    )
    [delivery] = hooks.deliveries(subscription["id"])
    matrix = Matrix(
        hooks.client,
        candidate_id=candidate["id"],
        owner_lms="moodle",
        other_lms="canvas",
        resources={"subscription_id": subscription["id"], "delivery_id": delivery["id"]},
    )
    assert_holds(matrix)


def test_every_event_enrolment_handles_in_bus_yaml_reaches_the_lms_webhooks(hooks: Hooks) -> None:
    """Issue 17: the new candidate events (accommodation_granted, verdict.*, vae.decided, defence.cancelled,
    thesis appeals, bloc_certificate.revoked) were listed nowhere in enrolment and reached no LMS. Each type
    bus.yaml says enrolment handles has a handler, and that handler makes a delivery under its public name."""
    handles = sorted(bus().subscriptions["enrolment"].handles)
    handlers = event_handlers()
    assert [t for t in handles if t not in handlers] == []
    assert [t for t in handles if t not in WEBHOOK_EVENTS] == []
    subscription = hooks.subscribe(PUBLIC_URL)  # every event
    candidate = hooks.enrol("ext-every-event")
    for event_type in handles:
        event = _event(
            event_type,
            candidate["id"],
            diploma_id="dip-1",
            option="5A",
            issued_at="2026-12-01T10:00:00+00:00",
            revoked_at="2026-12-02T10:00:00+00:00",
        )
        with hooks.ctx.uow() as uow:
            handlers[event_type](event, uow)
            uow.commit()
    delivered = sorted(d["event"] for d in hooks.deliveries(subscription["id"], limit=500))
    assert delivered == sorted(WEBHOOK_EVENTS[t] for t in handles)
