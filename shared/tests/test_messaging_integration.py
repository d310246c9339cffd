"""Outbox relay and inbox consumer against the real Kafka broker and the real PostgreSQL.

Database: ``certifia_shared_test`` (created here when missing; the role certifia has CREATEDB). Broker:
``CERTIFIA_TEST_KAFKA`` (``scripts/with-test-kafka.sh``), secured; these tests connect as its admin
principal, which may create the throw-away topics they need. Each test uses its own topic (owned by a
``test`` service in a topology of its own) and consumer group.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import create_engine, func, insert, select, text, update

from certifia_shared import event_types as ev
from certifia_shared.bus import Bus, Owner, dead_letter_topic
from certifia_shared.consumer import EventConsumer
from certifia_shared.envelope import CloudEvent, from_kafka, headers_dict
from certifia_shared.group_watch import GroupWatch
from certifia_shared.kafka import make_admin, make_consumer, make_producer
from certifia_shared.relay import OutboxRelay
from certifia_shared.testing import kafka_bootstrap, kafka_security, wait_for

pytestmark = pytest.mark.integration

DATABASE = "certifia_shared_test"
SERVER = os.environ.get("CERTIFIA_TEST_PG_URL", "postgresql+psycopg://certifia:certifia@127.0.0.1:5432")


# -- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_url() -> str:
    """``certifia_shared_test``, created on first use."""
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        admin.dispose()
    return f"{SERVER}/{DATABASE}"


@pytest.fixture
def service(pg_url: str, make_mini_service: Callable[[str], Any]) -> Iterator[Any]:
    svc = make_mini_service(pg_url)  # outbox, inbox and an effect table, created afresh
    yield svc
    svc.engine.dispose()


@pytest.fixture
def bootstrap() -> str:
    return kafka_bootstrap()


ADMIN = kafka_security("admin")


def create_topics(bootstrap: str, *names: str) -> None:
    """One partition each, so the order of records is the order of offsets."""
    admin = make_admin(bootstrap, "test-admin", ADMIN)
    try:
        missing = set(names) - set(admin.list_topics())
        if missing:
            admin.create_topics(
                {t: {"num_partitions": 1, "replication_factor": 1} for t in missing}, wait_for_metadata=True
            )
    finally:
        admin.close()


@pytest.fixture
def topic(bootstrap: str) -> str:
    name = f"test.messaging.{uuid.uuid4().hex[:12]}"
    create_topics(bootstrap, name)
    return name


def topology(topic: str) -> Bus:
    """The test's own bus: ``topic`` is owned by a ``test`` service whose events say /certifia/test."""
    return Bus(
        owners={"test": Owner("test", "/certifia/test", topic)},
        subscriptions={},
        type_topics={ev.OPTION_CHOSEN: topic},
    )


@pytest.fixture(scope="module")
def admin() -> Iterator[KafkaAdminClient]:
    client = make_admin(kafka_bootstrap(), "test-offsets", ADMIN)
    yield client
    client.close()


@pytest.fixture
def producer(bootstrap: str) -> Iterator[KafkaProducer]:
    p = make_producer(bootstrap, "test-producer", ADMIN)
    yield p
    p.close(timeout=5)


def option_event(candidate: str = "c-1", option: str = "5A", **kwargs: Any) -> CloudEvent:
    data = {"candidate_id": candidate, "option": option, "chosen_at": "2025-03-04T10:15:00+00:00"}
    return CloudEvent(type=ev.OPTION_CHOSEN, source="/certifia/test", subject=candidate, data=data, **kwargs)


def send(producer: KafkaProducer, topic: str, event: CloudEvent) -> None:
    producer.send(
        topic, key=event.subject.encode(), value=event.kafka_value(), headers=event.kafka_headers()
    ).get(timeout=30)


def read_all(
    bootstrap: str, topic: str, *, until: Callable[[list[Any]], bool], timeout: float = 30
) -> list[Any]:
    """Records of ``topic`` from the beginning, until ``until(records)`` holds."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **ADMIN.client_kwargs(),
    )
    partitions = wait_for(
        lambda: consumer.partitions_for_topic(topic), timeout=timeout, what=f"{topic} metadata"
    )
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    consumer.seek_to_beginning()
    records: list[Any] = []
    try:

        def probe() -> bool:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
            return until(records)

        wait_for(probe, timeout=timeout, what=f"records on {topic}")
    finally:
        consumer.close()
    return records


def committed(admin: KafkaAdminClient, group: str, topic: str) -> int | None:
    """The group's committed offset on partition 0 of ``topic`` (None: nothing committed yet)."""
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    except KafkaError as exc:  # a fresh broker: the group coordinator is still loading __consumer_offsets
        if not exc.retriable:
            raise
        return None
    meta = offsets.get(TopicPartition(topic, 0))
    return None if meta is None or meta.offset < 0 else int(meta.offset)


@dataclass
class Running:
    """An EventConsumer running its real loop in a thread."""

    consumer: EventConsumer
    calls: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Running:
        self.thread = threading.Thread(target=self.consumer.run, args=(self.stop,), daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
            assert not self.thread.is_alive(), "consumer loop did not stop"


@pytest.fixture
def run_consumer(service: Any, bootstrap: str, topic: str) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(
        group: str,
        *,
        fail_for: frozenset[str] | set[str] = frozenset(),
        gate: threading.Event | None = None,
        max_attempts: int = 2,
        watch: Callable[[Any], GroupWatch] | None = None,
    ) -> Running:
        calls: list[str] = []
        create_topics(bootstrap, dead_letter_topic(topic, group))

        def handler(event: CloudEvent, uow: Any) -> None:
            calls.append(event.id)
            uow.session.execute(insert(service.effects).values(event_id=event.id, candidate_id=event.subject))
            if gate is not None:
                gate.wait(timeout=30)
            if event.subject in fail_for:
                raise ValueError(f"cannot apply {event.subject}")

        consumer = EventConsumer(
            service="test",
            group_id=group,
            topics=[topic],
            handlers={ev.OPTION_CHOSEN: handler},
            uow_factory=service.uow,
            tables=service.tables,
            topology=topology(topic),
            consumer_factory=lambda: make_consumer(bootstrap, group, f"{group}-client", ADMIN),
            producer_factory=lambda: make_producer(bootstrap, f"{group}-dlq", ADMIN),
            watch_factory=watch,
            max_attempts=max_attempts,
        )
        running = Running(consumer, calls).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()


def effects(service: Any) -> list[str]:
    with service.sessions() as s:
        return list(s.execute(select(service.effects.c.event_id).order_by(service.effects.c.seq)).scalars())


def inbox(service: Any, group: str) -> list[str]:
    t = service.tables.inbox
    with service.sessions() as s:
        return list(
            s.execute(select(t.c.event_id).where(t.c.consumer == group).order_by(t.c.offset)).scalars()
        )


# -- relay ----------------------------------------------------------------------------------------------
def test_relay_publishes_outbox_rows_and_marks_them_sent(service: Any, bootstrap: str) -> None:
    tracer = TracerProvider().get_tracer(__name__)
    candidates = [f"relay-{uuid.uuid4().hex[:8]}-{i}" for i in range(3)]
    events, trace_ids = [], []
    for cid in candidates:
        with tracer.start_as_current_span("request") as span, service.uow() as uow:
            events.append(uow.emit(ev.OPTION_CHOSEN, subject=cid, data=option_event(cid).data))
            uow.commit()
            trace_ids.append(format(span.get_span_context().trace_id, "032x"))

    relay = OutboxRelay(
        service="test",
        session_factory=service.sessions,
        tables=service.tables,
        producer_factory=lambda: make_producer(bootstrap, "test-relay", ADMIN),
        poll_seconds=0.05,
    )
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    outbox = service.tables.outbox
    try:

        def all_sent() -> bool:
            with service.sessions() as s:
                pending = s.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                )
                return pending.scalar_one() == 0

        wait_for(all_sent, timeout=30, what="outbox rows marked sent")
        assert relay.healthy
    finally:
        stop.set()
        thread.join(timeout=15)

    ids = {e.id for e in events}
    records = read_all(
        bootstrap,
        ev.TOPIC_ENROLMENT,
        until=lambda rs: ids <= {headers_dict(r.headers).get("ce_id") for r in rs},
    )
    mine = [r for r in records if headers_dict(r.headers).get("ce_id") in ids]
    assert len(mine) == 3  # each published once
    by_id = {headers_dict(r.headers)["ce_id"]: r for r in mine}
    for event, trace_id in zip(events, trace_ids, strict=True):
        rec = by_id[event.id]
        h = headers_dict(rec.headers)
        assert rec.key == event.subject.encode()
        assert h["ce_type"] == ev.OPTION_CHOSEN and h["ce_source"] == "/certifia/test"
        assert h["ce_dataschema"].endswith("/fr.certifia.enrolment.candidate.option_chosen.v1.schema.json")
        assert (
            h["ce_specversion"] == "1.0" and h["ce_subject"] == event.subject and h["ce_time"] == event.time
        )
        assert h["traceparent"].split("-")[1] == trace_id  # the request's trace goes on through Kafka
        assert from_kafka(rec.headers, rec.value).data == event.data
    with service.sessions() as s:
        assert all(r.published_at is not None for r in s.execute(select(outbox)))


class SlowRecorder:
    """A producer that takes its time (so that two relays' batches overlap) and records what it is sent."""

    def __init__(self, sent: list[str], lock: threading.Lock) -> None:
        self.sent, self.lock = sent, lock

    def send(self, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
        time.sleep(0.002)
        with self.lock:
            self.sent.append(headers_dict(headers)["ce_id"])
        return SimpleNamespace(get=lambda timeout=None: None)

    def flush(self, timeout: float | None = None) -> None:
        time.sleep(0.01)

    def close(self, timeout: float | None = None) -> None:
        pass


def test_two_instances_relays_publish_each_row_once_in_order(service: Any) -> None:
    """Scale-out (issue 15, item 3): two instances of a service on one database. Measured before: both
    relays read the same unsent rows and published them twice, interleaved out of their order."""
    ids = []
    with service.uow() as uow:
        for i in range(600):
            ids.append(uow.emit(ev.OPTION_CHOSEN, subject=f"c-{i}", data=option_event(f"c-{i}").data).id)
        uow.commit()
    sent: list[str] = []
    lock = threading.Lock()
    relays = [
        OutboxRelay(
            service="test",
            session_factory=service.sessions,
            tables=service.tables,
            producer_factory=lambda: SlowRecorder(sent, lock),  # type: ignore[arg-type, return-value]
        )
        for _ in range(2)
    ]
    start = threading.Barrier(2)

    def drain(relay: OutboxRelay) -> None:
        start.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(set(sent)) < len(ids):
            relay.publish_pending()

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(sent) == len(ids) and sent == ids  # once each, in the outbox's order


def test_published_rows_past_their_retention_are_pruned_on_postgresql(service: Any) -> None:
    """The relay's retention (published rows deleted in batches by seq): on PostgreSQL, a batch's DELETE
    takes its rows through a LIMIT subquery, and unsent rows are never touched."""
    with service.uow() as uow:
        for i in range(5):
            uow.emit(ev.OPTION_CHOSEN, subject=f"c-{i}", data=option_event(f"c-{i}").data)
        uow.commit()
    t = service.tables.outbox
    old = datetime.now(UTC) - timedelta(days=30)
    with service.sessions() as s:
        seqs = list(s.execute(select(t.c.seq).order_by(t.c.seq)).scalars())
        s.execute(update(t).where(t.c.seq.in_(seqs[:4])).values(published_at=old))
        s.execute(update(t).where(t.c.seq == seqs[1]).values(published_at=datetime.now(UTC)))
        s.commit()
    relay = OutboxRelay(
        service="test",
        session_factory=service.sessions,
        tables=service.tables,
        producer_factory=lambda: SlowRecorder([], threading.Lock()),  # type: ignore[arg-type, return-value]
    )

    assert relay.prune_published(datetime.now(UTC) - timedelta(days=7)) == 3
    with service.sessions() as s:
        assert list(s.execute(select(t.c.seq).order_by(t.c.seq)).scalars()) == [seqs[1], seqs[4]]


# -- consumer -------------------------------------------------------------------------------------------
def test_an_event_published_twice_is_applied_once(
    service: Any,
    producer: KafkaProducer,
    topic: str,
    run_consumer: Callable[..., Running],
    bootstrap: str,
    admin: KafkaAdminClient,
) -> None:
    event, other = option_event("c-1"), option_event("c-2")
    send(producer, topic, event)
    send(producer, topic, event)  # same id again (a relay that crashed before marking it sent)
    send(producer, topic, other)
    group = f"g-{uuid.uuid4().hex[:8]}"
    running = run_consumer(group)
    wait_for(lambda: committed(admin, group, topic) == 3, timeout=40, what="offsets committed up to 3")
    assert effects(service) == [event.id, other.id]
    assert running.calls == [event.id, other.id]
    assert inbox(service, group) == [event.id, other.id]


def test_a_poison_record_goes_to_the_dlq_and_the_loop_goes_on(
    service: Any,
    producer: KafkaProducer,
    topic: str,
    run_consumer: Callable[..., Running],
    bootstrap: str,
    admin: KafkaAdminClient,
) -> None:
    bad, good = option_event("poison"), option_event("fine")
    send(producer, topic, bad)
    send(producer, topic, good)
    group = f"g-{uuid.uuid4().hex[:8]}"
    running = run_consumer(group, fail_for={"poison"}, max_attempts=2)
    wait_for(lambda: effects(service) == [good.id], timeout=40, what="the good record applied")
    # tried once with the records of its poll (rolled back), then max_attempts on its own, then the next record
    assert running.calls == [bad.id, bad.id, bad.id, good.id]
    [dead] = read_all(bootstrap, dead_letter_topic(topic, group), until=lambda rs: len(rs) >= 1)
    h = headers_dict(dead.headers)
    assert h["dlq_reason"] == "ValueError: cannot apply poison"
    assert h["dlq_attempts"] == "2" and h["dlq_original_topic"] == topic and h["dlq_original_offset"] == "0"
    assert h["ce_id"] == bad.id and dead.value == bad.kafka_value() and dead.key == b"poison"
    wait_for(lambda: committed(admin, group, topic) == 2, timeout=20, what="offsets past both records")
    assert inbox(service, group) == [good.id]


def test_a_record_that_breaks_its_contract_goes_to_the_dlq_without_retries(
    service: Any,
    producer: KafkaProducer,
    topic: str,
    run_consumer: Callable[..., Running],
    bootstrap: str,
    admin: KafkaAdminClient,
) -> None:
    invalid = option_event("c-1", option="5C")
    not_an_event_value = b'{"candidate_id": "c-2"}'
    good = option_event("c-3")
    send(producer, topic, invalid)
    producer.send(
        topic, key=b"c-2", value=not_an_event_value, headers=[("ce_type", ev.OPTION_CHOSEN.encode())]
    ).get(timeout=30)
    send(producer, topic, good)
    group = f"g-{uuid.uuid4().hex[:8]}"
    running = run_consumer(group)
    wait_for(lambda: effects(service) == [good.id], timeout=40, what="the valid record applied")
    assert running.calls == [good.id]  # the handler never saw the invalid ones
    dead = read_all(bootstrap, dead_letter_topic(topic, group), until=lambda rs: len(rs) >= 2)
    reasons = [headers_dict(r.headers)["dlq_reason"] for r in dead]
    assert reasons[0].startswith("contract violation:") and "option" in reasons[0]
    assert reasons[1].startswith("not a CloudEvent:")
    assert [headers_dict(r.headers)["dlq_attempts"] for r in dead] == ["1", "1"]


def test_offsets_are_committed_only_after_the_database_commit(
    service: Any,
    producer: KafkaProducer,
    topic: str,
    run_consumer: Callable[..., Running],
    bootstrap: str,
    admin: KafkaAdminClient,
) -> None:
    first = [option_event(f"c-{i}") for i in range(3)]
    for e in first:
        send(producer, topic, e)
    group = f"g-{uuid.uuid4().hex[:8]}"
    gate = threading.Event()
    a = run_consumer(group, gate=gate)
    # the handler of the first record is inside its transaction: neither effect nor offset is durable yet
    wait_for(lambda: len(a.calls) == 1, timeout=40, what="the first record in its handler")
    assert effects(service) == [] and committed(admin, group, topic) is None
    gate.set()
    wait_for(lambda: committed(admin, group, topic) == 3, timeout=30, what="offsets committed up to 3")
    assert effects(service) == [e.id for e in first]
    a.close()

    # a consumer restarted in the same group re-applies nothing and loses nothing
    later = [option_event(f"c-{i}") for i in range(3, 5)]
    for e in later:
        send(producer, topic, e)
    b = run_consumer(group)
    wait_for(lambda: committed(admin, group, topic) == 5, timeout=40, what="offsets committed up to 5")
    assert b.calls == [e.id for e in later]
    assert effects(service) == [e.id for e in first + later]
    b.close()

    # even when the offsets are lost after the database commit, the inbox keeps the effect single
    admin.alter_group_offsets(group, {TopicPartition(topic, 0): OffsetAndMetadata(0, "", -1)})
    assert committed(admin, group, topic) == 0
    c = run_consumer(group)
    wait_for(lambda: committed(admin, group, topic) == 5, timeout=40, what="offsets committed again up to 5")
    assert c.calls == []
    assert effects(service) == [e.id for e in first + later]
    assert inbox(service, group) == [e.id for e in first + later]


def test_a_consumer_the_broker_no_longer_lists_rejoins_by_itself_and_goes_on(
    service: Any,
    producer: KafkaProducer,
    topic: str,
    run_consumer: Callable[..., Running],
    bootstrap: str,
    admin: KafkaAdminClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stall once seen with `make run`: the group is Empty on the broker while the thread polls. Here
    the broker's answer is withheld for a few seconds (the group reported Empty), on a real consumer: the
    watch says what is wrong, the loop builds a new Kafka consumer, which joins as a new member and goes
    on consuming; nothing is applied twice."""
    group = f"g-{uuid.uuid4().hex[:8]}"
    lost = {"for": 4}  # DescribeGroups answers "Empty" this many times once the consumer has joined
    members: list[str] = []

    def watch(consumer: Any) -> GroupWatch:
        def describe(group_id: str) -> dict[str, Any]:
            real = admin.describe_groups([group_id])[group_id]
            members.extend(m["member_id"] for m in real["members"] if m["member_id"] not in members)
            if real["members"] and lost["for"] > 0:
                lost["for"] -= 1
                return {"group_state": "Empty", "members": []}
            return real

        return GroupWatch(
            consumer, service="test", group_id=group, describe_group=describe, retry_s=0.5, rejoin_after_s=1.5
        )

    first, second = option_event("c-1"), option_event("c-2")
    send(producer, topic, first)
    with caplog.at_level("INFO", logger="certifia_shared"):
        running = run_consumer(group, watch=watch)
        wait_for(
            lambda: running.consumer.state.membership == "ok", timeout=60, what="settled after rejoining"
        )
    assert "consumer rejoining its group" in caplog.text
    assert len(members) >= 2  # the new Kafka consumer joined as a new member
    send(producer, topic, second)
    wait_for(lambda: committed(admin, group, topic) == 2, timeout=40, what="both records consumed")
    assert effects(service) == [first.id, second.id]
    assert inbox(service, group) == [first.id, second.id]


def test_two_instances_starting_together_migrate_one_after_the_other(tmp_path: Any) -> None:
    """Scale-out (issue 15, item 3): `make bench-cohort INSTANCES=2` started two enrolments on a fresh
    database; both created alembic_version at once and the second exited on a unique violation."""
    from certifia_shared.db import make_engine, migrate

    name = f"certifia_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text(
        "from sqlalchemy import MetaData\nfrom certifia_shared.migrations_env import run_migrations\n"
        "run_migrations(MetaData())\n"
    )
    (tmp_path / "versions" / "0001_initial.py").write_text(
        'from alembic import op\nrevision = "0001"\ndown_revision = None\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n"
        '    op.execute("CREATE TABLE candidates (id text PRIMARY KEY)")\n'
        '    op.execute("SELECT pg_sleep(0.5)")  # a migration that takes a while, as real ones do\n'
    )
    engines = [make_engine(f"{SERVER}/{name}") for _ in range(2)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def instance(engine: Any) -> None:
        start.wait()
        try:
            migrate(engine, tmp_path)
        except BaseException as exc:  # the test reports what an instance died of
            errors.append(exc)

    threads = [threading.Thread(target=instance, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        with engines[0].connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0001"]
    finally:
        for e in engines:
            e.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
