"""The consumer's per-record logic and the outbox relay, with fake Kafka clients (SQLite, no broker).

The same behaviour against the real broker and PostgreSQL is in test_messaging_integration.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from certifia_shared import event_types as ev
from certifia_shared.consumer import EventConsumer
from certifia_shared.envelope import CloudEvent, headers_dict
from certifia_shared.relay import OutboxRelay

TOPIC = "certifia.enrolment"


def option_payload(candidate: str = "c-1", option: str = "5A") -> dict[str, Any]:
    return {"candidate_id": candidate, "option": option, "chosen_at": "2025-03-04T10:15:00+00:00"}


class FakeFuture:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> None:
        if self.error:
            raise self.error


class FakeProducer:
    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_on = fail_on or set()

    def send(self, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> FakeFuture:
        index = len(self.sent)
        self.sent.append({"topic": topic, "key": key, "value": value, "headers": headers_dict(headers)})
        return FakeFuture(RuntimeError("broker said no") if index in self.fail_on else None)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


def record(event: CloudEvent | None, offset: int = 0, *, value: bytes | None = None) -> ConsumerRecord:
    headers = event.kafka_headers() if event else [("junk", b"1")]
    body = value if value is not None else (event.kafka_value() if event else b"{}")
    return ConsumerRecord(TOPIC, 0, -1, offset, 0, 0, b"c-1", body, headers, None, 3, len(body), -1)


def option_event(**kwargs: Any) -> CloudEvent:
    return CloudEvent(
        type=ev.OPTION_CHOSEN, source="/certifia/enrolment", subject="c-1", data=option_payload(**kwargs)
    )


def _count(service: Any, table: Any) -> int:
    with service.sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("certifia_shared.consumer.time.sleep", lambda _s: None)


def make_consumer(service: Any, handler: Any, producer: FakeProducer, max_attempts: int = 3) -> EventConsumer:
    return EventConsumer(
        service="test",
        group_id="certifia.test",
        topics=[TOPIC],
        handlers={ev.OPTION_CHOSEN: handler},
        uow_factory=service.uow,
        tables=service.tables,
        consumer_factory=lambda: None,  # type: ignore[arg-type, return-value]
        producer_factory=lambda: producer,  # type: ignore[arg-type, return-value]
        max_attempts=max_attempts,
    )


def effect_handler(service: Any, calls: list[str]) -> Any:
    def handler(event: CloudEvent, uow: Any) -> None:
        calls.append(event.id)
        uow.session.execute(insert(service.effects).values(event_id=event.id, candidate_id=event.subject))

    return handler


# -- consumer ------------------------------------------------------------------------------------------
def test_an_event_is_applied_once_even_when_delivered_twice(sqlite_service: Any) -> None:
    calls: list[str] = []
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, calls), producer)
    event = option_event()
    consumer.process(record(event, 0))
    consumer.process(record(event, 1))  # redelivered (or published twice by the relay)
    assert calls == [event.id]
    assert _count(sqlite_service, sqlite_service.effects) == 1
    with sqlite_service.sessions() as s:
        inbox = s.execute(select(sqlite_service.tables.inbox)).one()
    assert (inbox.consumer, inbox.event_id, inbox.topic, inbox.offset) == (
        "certifia.test",
        event.id,
        TOPIC,
        0,
    )
    assert producer.sent == []


def test_a_failing_handler_is_retried_then_dead_lettered(sqlite_service: Any, no_sleep: None) -> None:
    calls: list[str] = []

    def handler(event: CloudEvent, uow: Any) -> None:
        effect_handler(sqlite_service, calls)(event, uow)  # writes, then fails: the write is rolled back
        raise ValueError("cannot apply this one")

    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, handler, producer, max_attempts=3)
    event = option_event()
    consumer.process(record(event, 5))
    assert len(calls) == 3
    assert _count(sqlite_service, sqlite_service.effects) == 0
    assert _count(sqlite_service, sqlite_service.tables.inbox) == 0
    [dead] = producer.sent
    assert dead["topic"] == f"{TOPIC}.dlq" and dead["key"] == b"c-1" and dead["value"] == event.kafka_value()
    h = dead["headers"]
    assert h["dlq_reason"] == "ValueError: cannot apply this one"
    assert (h["dlq_original_topic"], h["dlq_original_partition"], h["dlq_original_offset"]) == (
        TOPIC,
        "0",
        "5",
    )
    assert h["dlq_attempts"] == "3" and h["dlq_consumer_group"] == "certifia.test"
    assert h["ce_id"] == event.id  # the original headers travel along
    assert consumer.state.dead_lettered == 1


def test_a_contract_violation_is_dead_lettered_without_retries(sqlite_service: Any) -> None:
    calls: list[str] = []
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, calls), producer)
    bad = CloudEvent(type=ev.OPTION_CHOSEN, source="/x", subject="c-1", data=option_payload(option="5C"))
    consumer.process(record(bad))
    assert calls == []
    [dead] = producer.sent
    assert dead["headers"]["dlq_attempts"] == "1"
    assert dead["headers"]["dlq_reason"].startswith("contract violation:")
    assert "option" in dead["headers"]["dlq_reason"]


@pytest.mark.parametrize("value", [None, b"not json"])
def test_a_record_that_is_no_cloudevent_is_dead_lettered(sqlite_service: Any, value: bytes | None) -> None:
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, []), producer)
    rec = record(None) if value is None else record(option_event(), value=value)
    consumer.process(rec)
    assert producer.sent[0]["headers"]["dlq_reason"].startswith("not a CloudEvent")


def test_other_event_types_are_ignored(sqlite_service: Any) -> None:
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, []), producer)
    other = CloudEvent(type=ev.BLOC_CERTIFICATE_ISSUED, source="/x", subject="c-1", data={"anything": 1})
    consumer.process(record(other))
    assert producer.sent == [] and _count(sqlite_service, sqlite_service.tables.inbox) == 0


def test_a_database_outage_is_raised_for_a_later_retry_not_dead_lettered(sqlite_service: Any) -> None:
    def handler(event: CloudEvent, uow: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, handler, producer)
    with pytest.raises(OperationalError):
        consumer.process(record(option_event()))
    assert producer.sent == []


# -- relay ---------------------------------------------------------------------------------------------
def _emit(service: Any, n: int) -> list[str]:
    ids = []
    tracer = TracerProvider().get_tracer(__name__)
    for i in range(n):
        with tracer.start_as_current_span("request"), service.uow() as uow:
            ids.append(uow.emit(ev.OPTION_CHOSEN, subject=f"c-{i}", data=option_payload(f"c-{i}")).id)
            uow.commit()
    return ids


def relay(service: Any, producer: FakeProducer) -> OutboxRelay:
    return OutboxRelay(
        service="test",
        session_factory=service.sessions,
        tables=service.tables,
        producer_factory=lambda: producer,  # type: ignore[arg-type, return-value]
    )


def test_relay_publishes_in_order_and_marks_sent(sqlite_service: Any) -> None:
    ids = _emit(sqlite_service, 3)
    producer = FakeProducer()
    r = relay(sqlite_service, producer)
    assert r.publish_pending() == 3
    assert [m["headers"]["ce_id"] for m in producer.sent] == ids
    first = producer.sent[0]
    assert first["topic"] == TOPIC and first["key"] == b"c-0"
    assert json.loads(first["value"]) == option_payload("c-0")
    assert first["headers"]["ce_type"] == ev.OPTION_CHOSEN and first["headers"]["ce_subject"] == "c-0"
    assert "traceparent" in first["headers"]
    with sqlite_service.sessions() as s:
        t = sqlite_service.tables.outbox
        assert (
            s.execute(select(func.count()).select_from(t).where(t.c.published_at.is_(None))).scalar_one() == 0
        )
    assert r.publish_pending() == 0
    assert len(producer.sent) == 3


def test_relay_keeps_failed_rows_and_their_successors_for_later(sqlite_service: Any) -> None:
    ids = _emit(sqlite_service, 3)
    producer = FakeProducer(fail_on={1})
    r = relay(sqlite_service, producer)
    assert r.publish_pending() == 1
    t = sqlite_service.tables.outbox
    with sqlite_service.sessions() as s:
        rows = s.execute(select(t).order_by(t.c.seq)).all()
    assert [row.published_at is not None for row in rows] == [True, False, False]
    assert rows[1].publish_attempts == 1 and "broker said no" in rows[1].last_error
    producer.fail_on.clear()
    assert r.publish_pending() == 2
    assert [m["headers"]["ce_id"] for m in producer.sent][-2:] == ids[1:]
