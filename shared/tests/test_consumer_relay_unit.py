"""The consumer's per-record logic and the outbox relay, with fake Kafka clients (SQLite, no broker).

The same behaviour against the real broker and PostgreSQL is in test_messaging_integration.py.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import OperationalError

from certifia_shared import event_types as ev
from certifia_shared import relay as relay_module
from certifia_shared.consumer import EventConsumer, PoisonRecord
from certifia_shared.envelope import CloudEvent, headers_dict
from certifia_shared.metrics import EVENTS_UNHANDLED
from certifia_shared.relay import OutboxRelay

TOPIC = "certifia.enrolment"
DLQ = "certifia.enrolment.certifia.test.dlq"  # <topic>.<group>.dlq: each consumer its own


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


def record(
    event: CloudEvent | None,
    offset: int = 0,
    *,
    value: bytes | None = None,
    topic: str = TOPIC,
    extra_headers: list[tuple[str, bytes]] | None = None,
) -> ConsumerRecord:
    headers = (event.kafka_headers() if event else [("junk", b"1")]) + (extra_headers or [])
    body = value if value is not None else (event.kafka_value() if event else b"{}")
    return ConsumerRecord(topic, 0, -1, offset, 0, 0, b"c-1", body, headers, None, 3, len(body), -1)


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


def make_consumer(
    service: Any,
    handler: Any,
    producer: FakeProducer,
    max_attempts: int = 3,
    ignored: frozenset[str] = frozenset(),
) -> EventConsumer:
    return EventConsumer(
        service="test",
        group_id="certifia.test",
        topics=[TOPIC],
        handlers={ev.OPTION_CHOSEN: handler},
        ignored=ignored,
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
    assert dead["topic"] == DLQ and dead["key"] == b"c-1" and dead["value"] == event.kafka_value()
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


def test_a_contract_violation_is_dead_lettered_without_retries_with_every_schema_error(
    sqlite_service: Any,
) -> None:
    calls: list[str] = []
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, calls), producer)
    data = {**option_payload(option="5C"), "chosen_at": "yesterday"}
    del data["candidate_id"]
    bad = CloudEvent(type=ev.OPTION_CHOSEN, source="/certifia/enrolment", subject="c-1", data=data)
    consumer.process(record(bad))
    assert calls == []
    [dead] = producer.sent
    assert dead["topic"] == DLQ
    assert dead["headers"]["dlq_attempts"] == "1"
    assert dead["headers"]["dlq_reason"].startswith("contract violation:")
    errors = json.loads(dead["headers"]["dlq_errors"])
    assert len(errors) == 3  # every error, not just the first
    assert any("candidate_id" in e for e in errors)
    assert any(e.startswith("option:") for e in errors) and any(e.startswith("chosen_at:") for e in errors)
    assert dead["headers"]["dlq_failed_at"].startswith("20")


def test_dead_letters_carry_at_most_twenty_errors(sqlite_service: Any) -> None:
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, []), producer)
    headers = dict(
        consumer.dead_letter_headers(record(option_event()), "r", [f"e{i}" for i in range(50)], attempts=1)
    )
    assert json.loads(headers["dlq_errors"]) == [f"e{i}" for i in range(20)]


@pytest.mark.parametrize("value", [None, b"not json"])
def test_a_record_that_is_no_cloudevent_is_dead_lettered(sqlite_service: Any, value: bytes | None) -> None:
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, []), producer)
    rec = record(None) if value is None else record(option_event(), value=value)
    consumer.process(rec)
    assert producer.sent[0]["headers"]["dlq_reason"].startswith("not a CloudEvent")


@pytest.mark.parametrize(
    "source", ["/certifia/assessment", "/x", "/certifia/enrolment/", "certifia/enrolment"]
)
def test_a_foreign_source_is_dead_lettered_and_has_no_effect(sqlite_service: Any, source: str) -> None:
    """An event on certifia.enrolment that says it comes from anyone but enrolment (what a forged record,
    or a misconfigured ACL, would bring) is refused even though its payload is valid."""
    calls: list[str] = []
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, calls), producer)
    forged = CloudEvent(type=ev.OPTION_CHOSEN, source=source, subject="c-1", data=option_payload())
    consumer.process(record(forged))
    assert calls == [] and _count(sqlite_service, sqlite_service.tables.inbox) == 0
    [dead] = producer.sent
    assert dead["topic"] == DLQ
    assert dead["headers"]["dlq_reason"].startswith("foreign source:")
    assert "enrolment" in dead["headers"]["dlq_reason"]


def test_a_type_of_another_topic_is_dead_lettered(sqlite_service: Any) -> None:
    """The right source but a type that belongs to certifia.assessment: not enrolment's to publish."""
    producer = FakeProducer()
    consumer = make_consumer(
        sqlite_service, effect_handler(sqlite_service, []), producer, ignored=frozenset({ev.BLOC_PASSED})
    )
    other = CloudEvent(type=ev.BLOC_PASSED, source="/certifia/enrolment", subject="c-1", data={"x": 1})
    consumer.process(record(other))
    [dead] = producer.sent
    assert dead["headers"]["dlq_reason"].startswith("foreign type:")
    assert "certifia.assessment" in dead["headers"]["dlq_reason"]


def _unhandled(topic: str, type_: str, outcome: str) -> float:
    return EVENTS_UNHANDLED.labels("test", topic, type_, outcome)._value.get()


def test_a_type_ignored_on_purpose_is_skipped_counted_and_logged_once(
    sqlite_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    producer = FakeProducer()
    consumer = make_consumer(
        sqlite_service,
        effect_handler(sqlite_service, []),
        producer,
        ignored=frozenset({ev.CANDIDATE_WITHDRAWN}),
    )
    before = _unhandled(TOPIC, ev.CANDIDATE_WITHDRAWN, "ignored")
    withdrawn = CloudEvent(type=ev.CANDIDATE_WITHDRAWN, source="/certifia/enrolment", subject="c-1", data={})
    with caplog.at_level(logging.INFO, logger="certifia_shared.consumer"):
        consumer.process(record(withdrawn, 0))
        consumer.process(record(withdrawn, 1))
    assert producer.sent == [] and _count(sqlite_service, sqlite_service.tables.inbox) == 0
    assert consumer.state.ignored == 2
    assert _unhandled(TOPIC, ev.CANDIDATE_WITHDRAWN, "ignored") == before + 2
    assert len([r for r in caplog.records if "ignored" in r.getMessage()]) == 1


@pytest.mark.parametrize(
    "event_type",
    [
        "fr.certifia.enrolment.candidate.enrolled.v2",  # a version this release does not know
        ev.CANDIDATE_WITHDRAWN,  # known, on this topic, but neither handled nor ignored
    ],
)
def test_a_type_neither_handled_nor_ignored_is_dead_lettered_as_unsupported_and_counted(
    sqlite_service: Any, event_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, []), producer)
    before = _unhandled(TOPIC, event_type, "unsupported")
    event = CloudEvent(type=event_type, source="/certifia/enrolment", subject="c-1", data={"x": 1})
    with caplog.at_level(logging.INFO, logger="certifia_shared.consumer"):
        consumer.process(record(event, 0))
        consumer.process(record(event, 1))
    assert [m["topic"] for m in producer.sent] == [DLQ, DLQ]
    reason = producer.sent[0]["headers"]["dlq_reason"]
    assert reason.startswith(f"unsupported event type {event_type!r}")
    assert _unhandled(TOPIC, event_type, "unsupported") == before + 2
    assert len([r for r in caplog.records if r.getMessage() == "event type unsupported"]) == 1


def test_forged_dead_letter_headers_are_not_carried_along(sqlite_service: Any) -> None:
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, []), producer)
    forged = CloudEvent(type=ev.OPTION_CHOSEN, source="/x", subject="c-1", data=option_payload())
    consumer.process(record(forged, extra_headers=[("dlq_original_topic", b"certifia.certification")]))
    [dead] = producer.sent
    assert dead["headers"]["dlq_original_topic"] == TOPIC


def test_a_replayed_dead_letter_has_one_effect_however_often_it_is_replayed(sqlite_service: Any) -> None:
    calls: list[str] = []
    fixed = {"yet": False}

    def handler(event: CloudEvent, uow: Any) -> None:
        if not fixed["yet"]:
            raise ValueError("a bug")
        effect_handler(sqlite_service, calls)(event, uow)

    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, handler, producer, max_attempts=1)
    event = option_event()
    consumer.process(record(event, 7))
    assert len(producer.sent) == 1  # dead-lettered
    fixed["yet"] = True  # the release that fixes the bug
    assert consumer.replay(record(event, 7)) == "applied"
    assert consumer.replay(record(event, 7)) == "duplicate"
    consumer.process(record(event, 7))  # and a redelivery of the original changes nothing either
    assert calls == [event.id] and _count(sqlite_service, sqlite_service.effects) == 1
    assert len(producer.sent) == 1


def test_a_replay_that_still_cannot_be_applied_raises_and_adds_no_dead_letter(sqlite_service: Any) -> None:
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, []), producer)
    forged = CloudEvent(type=ev.OPTION_CHOSEN, source="/x", subject="c-1", data=option_payload())
    with pytest.raises(PoisonRecord, match="foreign source"):
        consumer.replay(record(forged))
    assert producer.sent == []


def test_a_database_outage_is_raised_for_a_later_retry_not_dead_lettered(sqlite_service: Any) -> None:
    def handler(event: CloudEvent, uow: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, handler, producer)
    with pytest.raises(OperationalError):
        consumer.process(record(option_event()))
    assert producer.sent == []


class FakeKafkaConsumer:
    """What the poll loop uses of kafka-python's consumer: one scripted poll, then the stop is set."""

    def __init__(self, batch: list[ConsumerRecord], stop: threading.Event) -> None:
        self.batch, self.stop = batch, stop
        self.commits: list[dict[Any, int]] = []
        self.seeks: list[int] = []

    def poll(self, timeout_ms: int) -> dict[Any, list[ConsumerRecord]]:
        if self.stop.is_set() or not self.batch:
            self.stop.set()
            return {}
        batch, self.batch = self.batch, []
        return {TopicPartition(TOPIC, 0): batch}

    def commit(self, offsets: dict[Any, Any]) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append(offset)


def counting_uows(service: Any) -> tuple[Any, list[int]]:
    """The service's unit of work factory, counting the commits."""
    commits: list[int] = []

    def factory() -> Any:
        uow = service.uow()
        commit = uow.commit

        def counted() -> None:
            commit()
            commits.append(1)

        uow.commit = counted
        return uow

    return factory, commits


def poll_once(consumer: EventConsumer, records: list[ConsumerRecord]) -> FakeKafkaConsumer:
    stop = threading.Event()
    kafka = FakeKafkaConsumer(records, stop)
    consumer._poll_loop(kafka, stop, None)  # type: ignore[arg-type]
    return kafka


def test_a_poll_is_applied_in_one_transaction_and_its_offsets_committed_once(sqlite_service: Any) -> None:
    """Measured before (make bench-cohort): a synchronous offset commit and a database commit per record
    held a consumer to ~20 records/s while REST produced ~60 events/s; the lag grew to thousands."""
    calls: list[str] = []
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, calls), FakeProducer())
    consumer._uow_factory, commits = counting_uows(sqlite_service)
    records = [record(option_event(candidate=f"c-{i}"), offset=i) for i in range(5)]
    kafka = poll_once(consumer, records)
    assert len(calls) == 5 and _count(sqlite_service, sqlite_service.effects) == 5
    assert len(commits) == 1
    assert kafka.commits == [{TopicPartition(TOPIC, 0): 5}]
    twice = poll_once(consumer, [records[0], records[0]])  # one poll holding the same event twice (a relay's
    assert _count(sqlite_service, sqlite_service.effects) == 5  # redelivery): the inbox has it, nothing new
    assert twice.commits == [{TopicPartition(TOPIC, 0): 1}]
    again = poll_once(consumer, records)  # redelivered after a crash before the offset commit: no new effect
    assert _count(sqlite_service, sqlite_service.effects) == 5 and again.commits == [
        {TopicPartition(TOPIC, 0): 5}
    ]


def test_a_transient_failure_commits_what_came_before_it_and_polls_it_again(
    sqlite_service: Any, no_sleep: None
) -> None:
    calls: list[str] = []
    applied = effect_handler(sqlite_service, calls)

    def handler(event: CloudEvent, uow: Any) -> None:
        if event.data["candidate_id"] == "c-2":
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))  # transient: not a DLQ
        applied(event, uow)

    consumer = make_consumer(sqlite_service, handler, FakeProducer())
    kafka = poll_once(consumer, [record(candidate_event(f"c-{i}"), offset=i) for i in range(4)])
    assert sorted(_effects(sqlite_service)) == ["c-0", "c-1"]  # once each; c-3 waits behind c-2
    assert kafka.commits == [{TopicPartition(TOPIC, 0): 2}] and kafka.seeks == [2]


def test_a_failing_handler_in_a_poll_is_dead_lettered_alone_and_the_others_applied_once(
    sqlite_service: Any, no_sleep: None
) -> None:
    calls: list[str] = []
    applied = effect_handler(sqlite_service, calls)

    def handler(event: CloudEvent, uow: Any) -> None:
        applied(event, uow)
        if event.data["candidate_id"] == "c-1":
            raise ValueError("this one never applies")

    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, handler, producer)
    kafka = poll_once(consumer, [record(candidate_event(f"c-{i}"), offset=i) for i in range(4)])
    effects = _effects(sqlite_service)
    assert sorted(effects) == ["c-0", "c-2", "c-3"]  # the shared transaction's effects were rolled back
    assert [m["topic"] for m in producer.sent] == [DLQ]
    assert kafka.commits == [{TopicPartition(TOPIC, 0): 4}]


def test_a_poison_record_between_good_ones_is_dead_lettered_and_the_rest_applied(sqlite_service: Any) -> None:
    calls: list[str] = []
    producer = FakeProducer()
    consumer = make_consumer(sqlite_service, effect_handler(sqlite_service, calls), producer)
    bad = option_event()
    bad.data["option"] = "5Z"  # not in the contract
    records = [
        record(candidate_event("c-0"), offset=0),
        record(bad, offset=1),
        record(candidate_event("c-2"), offset=2),
        record(None, offset=3),  # not even a CloudEvent
        record(candidate_event("c-4"), offset=4),
    ]
    kafka = poll_once(consumer, records)
    assert sorted(_effects(sqlite_service)) == ["c-0", "c-2", "c-4"]
    assert [m["topic"] for m in producer.sent] == [DLQ, DLQ]
    assert kafka.commits == [{TopicPartition(TOPIC, 0): 5}]


def _effects(service: Any) -> list[str]:
    """The candidates of the effects recorded (each effect's event, by its id)."""
    with service.sessions() as s:
        applied = {row[0] for row in s.execute(select(service.effects.c.event_id))}
    return [c for event_id, c in _EMITTED.items() if event_id in applied]


_EMITTED: dict[str, str] = {}


def candidate_event(candidate: str) -> CloudEvent:
    event = option_event(candidate=candidate)
    _EMITTED[event.id] = candidate
    return event


# -- relay ---------------------------------------------------------------------------------------------
def _emit(service: Any, n: int) -> list[str]:
    ids = []
    tracer = TracerProvider().get_tracer(__name__)
    for i in range(n):
        with tracer.start_as_current_span("request"), service.uow() as uow:
            ids.append(uow.emit(ev.OPTION_CHOSEN, subject=f"c-{i}", data=option_payload(f"c-{i}")).id)
            uow.commit()
    return ids


def relay(service: Any, producer: FakeProducer, **options: Any) -> OutboxRelay:
    return OutboxRelay(
        service="test",
        session_factory=service.sessions,
        tables=service.tables,
        producer_factory=lambda: producer,  # type: ignore[arg-type, return-value]
        **options,
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


class _StopAtFirstWait(threading.Event):
    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return True


def test_the_running_relay_waits_after_a_partial_batch_instead_of_polling_again_at_once(
    sqlite_service: Any,
) -> None:
    """bench-api, py-spy: under a trickle of requests the relay published one row per batch back to back
    (a transaction and a broker round trip per event, 19% of enrolment's samples at one connection)."""
    _emit(sqlite_service, 3)
    producer = FakeProducer()
    reads: list[str] = []
    sa_event.listen(
        sqlite_service.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_r: (
            reads.append(statement) if statement.startswith("SELECT") and "FROM outbox" in statement else None
        ),
    )
    relay(sqlite_service, producer).run(_StopAtFirstWait())
    assert len(producer.sent) == 3
    assert len(reads) == 1  # one batch, then the wait; polling again at once read the outbox twice


# -- pruning what was published ---------------------------------------------------------------------------
def _published_days_ago(service: Any, days: dict[int, float | None]) -> None:
    """Set each row's published_at (by seq) to so many days ago, None for unsent."""
    t = service.tables.outbox
    now = datetime.now(UTC)
    with service.sessions() as s:
        for seq, ago in days.items():
            at = None if ago is None else now - timedelta(days=ago)
            s.execute(update(t).where(t.c.seq == seq).values(published_at=at))
        s.commit()


def _left(service: Any) -> list[int]:
    t = service.tables.outbox
    with service.sessions() as s:
        return list(s.execute(select(t.c.seq).order_by(t.c.seq)).scalars())


def test_published_rows_past_their_retention_are_pruned_and_nothing_else(sqlite_service: Any) -> None:
    _emit(sqlite_service, 4)
    _published_days_ago(sqlite_service, {1: 9, 2: 1, 3: None, 4: 30})  # 3: old but never sent
    r = relay(sqlite_service, FakeProducer())

    assert r.prune_published(datetime.now(UTC) - timedelta(days=7)) == 2
    assert _left(sqlite_service) == [2, 3]


def test_pruning_goes_in_batches_until_none_is_left(sqlite_service: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(relay_module, "PRUNE_BATCH", 2)
    _emit(sqlite_service, 5)
    _published_days_ago(sqlite_service, dict.fromkeys(range(1, 6), 10.0))
    statements: list[str] = []
    sa_event.listen(
        sqlite_service.engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: statements.append(sql) if sql.startswith("DELETE") else None,
    )

    assert relay(sqlite_service, FakeProducer()).prune_published(datetime.now(UTC)) == 5
    assert _left(sqlite_service) == [] and len(statements) == 3  # 2 + 2 + 1


def test_the_running_relay_prunes_when_idle_at_most_every_interval(sqlite_service: Any) -> None:
    now = [1000.0]
    r = relay(
        sqlite_service, FakeProducer(), retention=timedelta(days=7), prune_every_s=300, clock=lambda: now[0]
    )
    _emit(sqlite_service, 2)
    assert r.publish_pending() == 2  # sent now: kept
    _published_days_ago(sqlite_service, {1: 8})
    now[0] += 60
    r.publish_pending()
    assert _left(sqlite_service) == [1, 2], "pruned at the first batch, not again within 300 s"
    now[0] += 300
    r.publish_pending()
    assert _left(sqlite_service) == [2]


def test_a_relay_without_retention_keeps_what_it_published(sqlite_service: Any) -> None:
    r = relay(sqlite_service, FakeProducer(), retention=None)
    _emit(sqlite_service, 1)
    _published_days_ago(sqlite_service, {1: 365})
    r.publish_pending()
    assert _left(sqlite_service) == [1]


def test_a_prune_that_fails_leaves_publishing_alone_and_is_tried_again(
    sqlite_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    producer = FakeProducer()
    r = relay(sqlite_service, producer, prune_every_s=300, clock=lambda: now[0])
    _emit(sqlite_service, 1)
    assert r.publish_pending() == 1
    _published_days_ago(sqlite_service, {1: 30})

    def refuse_deletes(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        if sql.startswith("DELETE"):
            raise RuntimeError("disk full")

    sa_event.listen(sqlite_service.engine, "before_cursor_execute", refuse_deletes)
    _emit(sqlite_service, 1)
    now[0] += 300
    with caplog.at_level(logging.WARNING):
        assert r.publish_pending() == 1  # the new row went out all the same
    assert "pruning the outbox failed" in caplog.text and len(producer.sent) == 2
    sa_event.remove(sqlite_service.engine, "before_cursor_execute", refuse_deletes)
    now[0] += 300
    r.publish_pending()
    assert _left(sqlite_service) == [2]
