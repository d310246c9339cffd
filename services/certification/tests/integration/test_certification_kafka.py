"""Against the real PostgreSQL test database and the real Kafka broker (scripts/with-test-kafka.sh)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from certifia_certification.adapters.orm import bloc_certificates, diplomas
from certifia_certification.bootstrap import Wiring, bootstrap, create_application
from certifia_shared import event_types as ev
from certifia_shared import testing
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent, from_kafka
from certifia_shared.kafka import ensure_topics, make_producer
from certifia_shared.testing import auth, fresh_pg_url, kafka_bootstrap, wait_for

pytestmark = pytest.mark.integration


def publish(bootstrap_servers: str, events: list[CloudEvent]) -> None:
    """As another service's relay does: validated, key = candidate id, CloudEvents in headers."""
    producer = make_producer(bootstrap_servers, "certification-tests")
    try:
        for e in events:
            spec = contract(e.type)
            spec.validate(e.data)
            producer.send(
                spec.topic, key=e.subject.encode(), value=e.kafka_value(), headers=e.kafka_headers()
            ).get(timeout=30)
    finally:
        producer.close(timeout=10)


def read_topic(bootstrap_servers: str, topic: str) -> list[CloudEvent]:
    """Everything on ``topic`` now, from the beginning, as CloudEvents."""
    return [from_kafka(r.headers, r.value) for r in testing.read_topic(bootstrap_servers, topic)]


def of(events: list[CloudEvent], type: str, candidate_id: str) -> list[CloudEvent]:
    return [e for e in events if e.type == type and e.subject == candidate_id]


def db_count(wiring: Wiring, table: Any, candidate_id: str) -> int:
    with wiring.ctx.uow() as uow:
        q = select(func.count()).select_from(table).where(table.c.candidate_id == candidate_id)
        return int(uow.session.execute(q).scalar_one())


def unpublished(wiring: Wiring) -> int:
    outbox = wiring.ctx.tables.outbox
    with wiring.ctx.uow() as uow:
        q = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int(uow.session.execute(q).scalar_one())


def test_full_candidate_through_kafka_gets_exactly_one_diploma(
    make_events: Any, settings_for: Callable[..., Any]
) -> None:
    servers = kafka_bootstrap()
    ensure_topics(servers)
    candidate = make_events()
    full = candidate.full_candidate()
    enrolment, assessment_and_thesis = full[:2], full[2:]
    publish(servers, assessment_and_thesis + enrolment)  # blocs and thesis before the enrolment
    settings = settings_for(
        fresh_pg_url("certification"),
        kafka_bootstrap_servers=servers,
        run_background_workers=True,
        relay_poll_seconds=0.1,
    )
    with TestClient(create_application(settings)) as client:
        app: Any = client.app
        wiring = Wiring(app.state.ctx, app.state.issuer)
        consumer = wiring.ctx.runtime.consumer
        assert consumer is not None
        cid = candidate.candidate_id

        issued = wait_for(
            lambda: of(read_topic(servers, ev.TOPIC_CERTIFICATION), ev.DIPLOMA_ISSUED, cid),
            timeout=90,
            interval=1.0,
            what="diploma.issued on certifia.certification",
        )
        assert len(issued) == 1
        wait_for(lambda: consumer.state.processed >= len(full), what="the first delivery applied")

        before = consumer.state.processed
        publish(servers, full)  # the SAME events (same ids) again
        wait_for(
            lambda: consumer.state.processed >= before + len(full), timeout=60, what="the replay consumed"
        )
        wait_for(lambda: unpublished(wiring) == 0, what="the outbox relayed")
        on_topic = read_topic(servers, ev.TOPIC_CERTIFICATION)
        assert len(of(on_topic, ev.DIPLOMA_ISSUED, cid)) == 1
        certificates = of(on_topic, ev.BLOC_CERTIFICATE_ISSUED, cid)
        assert sorted(e.data["bloc"] for e in certificates) == ["1", "2", "3", "4", "5B"]
        assert db_count(wiring, diplomas, cid) == 1
        assert db_count(wiring, bloc_certificates, cid) == 5
        assert consumer.state.dead_lettered == 0

        diploma = issued[0].data
        progress = client.get(
            f"/candidates/{cid}/progress", headers=auth("candidate", candidate_id=cid)
        ).json()
        assert progress["diploma_id"] == diploma["diploma_id"] and progress["missing"] == []
        assert progress["thesis"]["status"] == "passed" and progress["option"] == "5B"
        assert diploma["verification_url"].endswith(f"/diplomas/{diploma['diploma_id']}/verification")
        check = client.get(f"/diplomas/{diploma['diploma_id']}/verification").json()
        assert check["valid"] is True and check["holder"] == "Ada Lovelace"
        assert check["title"] == "Ingénieur en Intelligence Artificielle (MS)"

        # an officer revokes it: diploma.revoked reaches the topic once, verification says so
        url = f"/diplomas/{diploma['diploma_id']}/revocation"
        officer = auth("officer", subject="officer-1")
        for _ in range(2):  # the second call changes nothing
            assert client.post(url, json={"reason": "fraude"}, headers=officer).status_code == 200
        wait_for(lambda: unpublished(wiring) == 0, what="the revocation relayed")
        revoked = of(read_topic(servers, ev.TOPIC_CERTIFICATION), ev.DIPLOMA_REVOKED, cid)
        assert len(revoked) == 1 and revoked[0].data["diploma_id"] == diploma["diploma_id"]
        contract(ev.DIPLOMA_REVOKED).validate(revoked[0].data)
        check = client.get(f"/diplomas/{diploma['diploma_id']}/verification").json()
        assert check["valid"] is False and check["reason"].endswith(": fraude")


def test_concurrent_handlers_on_postgresql_issue_one_diploma(
    make_events: Any, settings_for: Callable[..., Any]
) -> None:
    """Two workers apply one candidate's events at once, in opposite orders: one diploma, one certificate
    per bloc (the candidate row lock serialises them; the unique constraints are the last line)."""
    wiring = bootstrap(settings_for(fresh_pg_url("certification")))
    assert wiring.ctx.runtime.consumer is not None
    handlers = wiring.ctx.runtime.consumer.handlers
    candidate = make_events()
    full = candidate.full_candidate()
    errors: list[BaseException] = []

    def worker(events: list[CloudEvent]) -> None:
        for event in events:
            for _attempt in range(5):  # as the consumer retries a failed record
                try:
                    with wiring.ctx.uow() as uow:
                        handlers[event.type](event, uow)
                        uow.commit()
                    break
                except (IntegrityError, OperationalError) as exc:
                    errors.append(exc)
            else:
                raise AssertionError(f"{event.type} never applied")

    threads = [threading.Thread(target=worker, args=(order,)) for order in (full, list(reversed(full)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    cid = candidate.candidate_id
    assert db_count(wiring, diplomas, cid) == 1
    assert db_count(wiring, bloc_certificates, cid) == 5
    outbox = wiring.ctx.tables.outbox
    with wiring.ctx.uow() as uow:
        types = list(uow.session.execute(select(outbox.c.type).where(outbox.c.key == cid)).scalars())
    assert types.count(ev.DIPLOMA_ISSUED) == 1 and types.count(ev.BLOC_CERTIFICATE_ISSUED) == 5
    wiring.ctx.engine.dispose()
