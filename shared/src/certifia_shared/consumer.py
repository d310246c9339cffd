"""Consumer loop: at-least-once delivery, exactly-once effect, nothing dropped silently.

Per record: read the CloudEvent; check that its ``ce_source`` is the owner of the topic it came on and
that its type belongs there (defence in depth beside the broker's ACLs); then either apply it (validate
against its contract, skip it if the inbox has its id, apply the handler, record the id in the inbox, in a
unit of work that consecutive records of a poll share, up to ``APPLY_TOGETHER``, committed once; should any
of them fail, none is committed and each is applied again in a unit of work of its own) or skip it because
this consumer ignores that type on purpose (contracts/bus.yaml). Anything else is dead-lettered to ``<topic>.<group>.dlq`` with the reason: a
forged or foreign event, an unsupported type (e.g. an unknown version), a contract violation (every
schema error, bounded), or a handler that keeps failing after ``max_attempts``. The Kafka offset is
committed only after the effect or the dead letter is durable. A database outage is not the record's
fault, so those are retried without limit.

The loop also watches its own membership (:mod:`certifia_shared.group_watch`): it waits for its topics to
exist, reports lag, and rejoins by itself when it has left its group or holds no partition of a topic.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition
from opentelemetry import trace
from sqlalchemy import insert
from sqlalchemy.exc import InterfaceError, OperationalError

from certifia_shared.bus import Bus, BusError, bus, dead_letter_topic
from certifia_shared.contracts import ContractError, catalogue
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent, EnvelopeError, from_kafka, headers_dict, utcnow
from certifia_shared.group_watch import GroupWatch, Rejoin
from certifia_shared.journey import mark_candidate
from certifia_shared.messaging import (
    MessagingTables,
    already_processed,
    inbox_row,
    mark_processed,
    processed_ids,
)
from certifia_shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED, EVENTS_UNHANDLED
from certifia_shared.telemetry import extract_trace_context, log_fields, tracer

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
Handler = Callable[[CloudEvent, U], None]
"""A consumed event's effect, applied in the unit of work the consumer opened: ``Handler[ThesisUnitOfWork]``
takes the service's own unit of work, the one its bootstrap wired (``EventConsumer[U]`` pairs the two)."""
TRANSIENT = (OperationalError, InterfaceError)
DLQ_HEADER_PREFIX = "dlq_"
MAX_ERRORS = 20  # schema errors carried by one dead letter
MAX_ERROR_CHARS = 500
APPLY_TOGETHER = 100
"""Consecutive records of a partition applied in one transaction: one commit, not one each (measured: a
commit per record held make bench-cohort's consumers to ~20 records/s while REST made ~60 events/s)."""
MAX_TYPE_LABELS = 50  # distinct unhandled types counted by name before "other" (metric cardinality)


class Record(Protocol):
    """What the loop reads of a Kafka record (kafka-python's ConsumerRecord, or a replayed dead letter)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> list[tuple[str, bytes]] | None: ...


class PoisonRecord(Exception):
    """The record can never be applied (bad envelope, foreign source, unsupported type, contract
    violation)."""

    def __init__(self, reason: str, errors: Iterable[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = list(errors)


@dataclass
class ConsumerState:
    healthy: bool = False  # the poll loop runs
    consecutive_failures: int = 0
    processed: int = 0
    dead_lettered: int = 0
    ignored: int = 0
    membership: str = "not started"  # "ok", "idle: ..." or what is wrong (readiness says it)
    lag: dict[str, int] = field(default_factory=dict)  # per topic: records not yet consumed


class EventConsumer(Generic[U]):
    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        topics: list[str],
        handlers: dict[str, Handler[U]],
        uow_factory: Callable[[], U],
        tables: MessagingTables,
        consumer_factory: Callable[[], KafkaConsumer],
        producer_factory: Callable[[], KafkaProducer],
        ignored: Iterable[str] = (),
        topology: Bus | None = None,
        watch_factory: Callable[[KafkaConsumer], GroupWatch] | None = None,
        max_attempts: int = 3,
        max_consecutive_failures: int = 50,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.topics = topics
        self.handlers = handlers
        self.ignored = frozenset(ignored)
        self._topology = topology or bus()
        self._uow_factory = uow_factory
        self._tables = tables
        self._consumer_factory = consumer_factory
        self._producer_factory = producer_factory
        self._watch_factory = watch_factory
        self._max_attempts = max_attempts
        self._max_failures = max_consecutive_failures
        self._producer: KafkaProducer | None = None
        self._logged_types: set[tuple[str, str]] = set()
        self.state = ConsumerState()

    # -- one record -------------------------------------------------------------------------------
    def process(self, record: Record) -> None:
        """Apply, skip or dead-letter one record. Raises only when nothing durable happened (retry it)."""
        with self._span(record) as span:
            try:
                event = self._decode(record)
            except PoisonRecord as exc:
                span.set_attribute("certifia.outcome", "dead_lettered")
                span.set_status(trace.Status(trace.StatusCode.ERROR, exc.reason[:200]))
                self._dead_letter(record, exc.reason, exc.errors, attempts=1)
                return
            if event is None:
                span.set_attribute("certifia.outcome", "ignored")
                return
            span.set_attribute("cloudevents.event_id", event.id)
            span.set_attribute("cloudevents.event_type", event.type)
            outcome = self._apply_with_retries(record, event)
            span.set_attribute("certifia.outcome", outcome)

    def replay(self, record: Record) -> str:
        """Apply a dead letter again after a fix, through the same checks and inbox (one effect however
        often it is replayed). Returns "applied", "duplicate" or "ignored"; raises PoisonRecord when it
        still cannot be applied (it is not dead-lettered again: the dead letter stays where it is)."""
        event = self._decode(record)
        if event is None:
            return "ignored"
        outcome = self._apply_once(record, event)
        EVENTS_CONSUMED.labels(self.service, event.type, f"replay_{outcome}").inc()
        return outcome

    def _span(self, record: Record) -> Any:
        parent = extract_trace_context(headers_dict(record.headers))
        span = tracer(__name__).start_as_current_span(
            f"{record.topic} process", context=parent, kind=trace.SpanKind.CONSUMER
        )
        return _Span(span, record, self.group_id)

    def _decode(self, record: Record) -> CloudEvent | None:
        """The event to apply, None when ignored on purpose, PoisonRecord for everything else."""
        try:
            event = from_kafka(record.headers, record.value)
        except EnvelopeError as exc:
            raise PoisonRecord(f"not a CloudEvent: {exc}") from exc
        candidate = event.data.get("candidate_id") if isinstance(event.data, dict) else None
        if isinstance(candidate, str) and len(candidate) <= 64:  # the process span, ignored events' too
            mark_candidate(candidate)
        try:
            owner = self._topology.owner_of(record.topic)
        except BusError as exc:
            raise PoisonRecord(str(exc)) from exc
        if event.source != owner.source:
            raise PoisonRecord(
                f"foreign source: {event.source!r} is not the owner of {record.topic} "
                f"(only {owner.service}, source {owner.source!r}, publishes there)"
            )
        home = self._topology.topic_of(event.type)
        if home is not None and home != record.topic:
            raise PoisonRecord(
                f"foreign type: {event.type} belongs to {home}, not {record.topic} (owned by {owner.service})"
            )
        if event.type in self.handlers:
            spec = catalogue().get(event.type)
            assert spec is not None, f"{self.group_id} handles {event.type}, which has no contract"
            try:
                spec.validate(event.data)
            except ContractError as exc:
                raise PoisonRecord(f"contract violation: {exc}", exc.errors) from exc
            return event
        if event.type in self.ignored:
            self._unhandled(record, event.type, "ignored")
            self.state.ignored += 1
            return None
        self._unhandled(record, event.type, "unsupported")
        raise PoisonRecord(
            f"unsupported event type {event.type!r}: {self.group_id} neither handles nor ignores it on "
            f"{record.topic} (contracts/bus.yaml); replay it once a release handles it"
        )

    def _unhandled(self, record: Record, event_type: str, outcome: str) -> None:
        """Counted every time, logged once per type and outcome."""
        known = event_type in catalogue() or len(self._logged_types) < MAX_TYPE_LABELS
        label = event_type[:120] if known else "other"
        EVENTS_UNHANDLED.labels(self.service, record.topic, label, outcome).inc()
        if (label, outcome) in self._logged_types:
            return
        self._logged_types.add((label, outcome))
        level = logging.INFO if outcome == "ignored" else logging.WARNING
        log.log(
            level,
            f"event type {outcome}" + (" on purpose (logged once)" if outcome == "ignored" else ""),
            extra=log_fields(topic=record.topic, event_type=event_type, group=self.group_id),
        )

    def _apply_with_retries(self, record: Record, event: CloudEvent) -> str:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = self._apply_once(record, event)
                EVENTS_CONSUMED.labels(self.service, event.type, outcome).inc()
                return outcome
            except TRANSIENT:
                raise  # the database is away: not the record's fault, retry it later
            except Exception as exc:
                log.warning(
                    "handler failed",
                    exc_info=True,
                    extra=log_fields(
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        key=_key(record),
                        event_id=event.id,
                        attempt=attempt,
                    ),
                )
                if attempt >= self._max_attempts:
                    self._dead_letter(record, f"{type(exc).__name__}: {exc}", (), attempts=attempt)
                    EVENTS_CONSUMED.labels(self.service, event.type, "dead_lettered").inc()
                    return "dead_lettered"
                time.sleep(min(0.2 * 2**attempt, 2.0))

    def _apply_once(self, record: Record, event: CloudEvent) -> str:
        with self._uow_factory() as uow:
            if already_processed(uow.session, self._tables, self.group_id, event.id):
                return "duplicate"
            self.handlers[event.type](event, uow)
            mark_processed(
                uow.session,
                self._tables,
                consumer=self.group_id,
                event=event,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            uow.commit()
            return "applied"

    def dead_letter_headers(
        self, record: Record, reason: str, errors: Iterable[str], *, attempts: int
    ) -> list[tuple[str, bytes]]:
        """The original headers (minus any dlq_* a sender forged), then where it came from and why."""
        bounded = [e[:MAX_ERROR_CHARS] for e in list(errors)[:MAX_ERRORS]]
        original = [(k, v) for k, v in (record.headers or []) if not k.startswith(DLQ_HEADER_PREFIX)]
        return [
            *original,
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_reason", reason[:4000].encode()),
            ("dlq_errors", json.dumps(bounded or [reason[:MAX_ERROR_CHARS]], ensure_ascii=False).encode()),
            ("dlq_failed_at", utcnow().isoformat().encode()),
        ]

    def _dead_letter(self, record: Record, reason: str, errors: Iterable[str], *, attempts: int) -> None:
        producer = self._producer or self._producer_factory()
        self._producer = producer
        headers = self.dead_letter_headers(record, reason, errors, attempts=attempts)
        target = dead_letter_topic(record.topic, self.group_id)
        producer.send(target, key=record.key, value=record.value, headers=headers).get(timeout=30)
        DEAD_LETTERS.labels(self.service, record.topic).inc()
        self.state.dead_lettered += 1
        log.error(
            "record dead-lettered",
            extra=log_fields(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=_key(record),
                dead_letter_topic=target,
                reason=reason,
            ),
        )

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop``; rebuilds the Kafka consumer after a burst of failures or to rejoin."""
        while not stop.is_set():
            consumer: KafkaConsumer | None = None
            watch: GroupWatch | None = None
            try:
                consumer = self._consumer_factory()
                watch = self._watch_factory(consumer) if self._watch_factory else None
                if watch is not None:
                    watch.wait_for_topics(self.topics, stop, self.state)
                consumer.subscribe(self.topics)
                self._poll_loop(consumer, stop, watch)
            except Rejoin as exc:
                self.state.membership = f"rejoining: {exc}"
                log.warning(
                    "consumer rejoining its group", extra=log_fields(group=self.group_id, why=str(exc))
                )
            except Exception:
                self.state.healthy = False
                log.exception("consumer loop restarting", extra=log_fields(group=self.group_id))
                stop.wait(2.0)
            finally:
                if watch is not None:
                    watch.close()
                if consumer is not None:
                    try:
                        consumer.close(autocommit=False)
                    except Exception:
                        log.warning("consumer close failed", exc_info=True)
        if self._producer is not None:
            self._producer.close(timeout=5)

    def _poll_loop(self, consumer: KafkaConsumer, stop: threading.Event, watch: GroupWatch | None) -> None:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500)
            self.state.healthy = True
            for tp, records in batches.items():
                done, failed = self._consume(records, stop)
                # One offset commit per partition and poll, after every effect of it is durable: a crash
                # before it redelivers records that the inbox then skips. Was one synchronous commit per
                # record: a broker round trip each (measured: make bench-cohort's enrolment lag in thousands).
                if done is not None:
                    consumer.commit({tp: OffsetAndMetadata(done, "", -1)})
                if failed is not None:
                    self._failed(consumer, tp, *failed)
                if stop.is_set():
                    return
            if watch is not None:
                watch.check(self.topics, self.state)  # raises Rejoin when the group lost us

    def _consume(
        self, records: list[Any], stop: threading.Event
    ) -> tuple[int | None, tuple[Record, BaseException] | None]:
        """One partition's records of a poll, in order. Consecutive records of handled types are applied
        together, in one transaction (each with its inbox row), up to APPLY_TOGETHER at a time; any other
        record (ignored, or to dead-letter) goes through ``process`` on its own. Returns the offset after the
        last record done, and the record that failed (to poll again from) with its error."""
        done: int | None = None
        run: list[Record] = []

        def settle() -> tuple[Record, BaseException] | None:
            nonlocal done
            batch, run[:] = list(run), []
            if len(batch) > 1 and self._apply_together(batch):
                done = batch[-1].offset + 1
                self.state.processed += len(batch)
                self.state.consecutive_failures = 0
                return None
            for record in batch:  # one at a time: the retries, dead letters and outage handling of process()
                try:
                    self.process(record)
                except Exception as exc:
                    return record, exc
                done = record.offset + 1
                self.state.processed += 1
                self.state.consecutive_failures = 0
            return None

        for record in records:
            if stop.is_set():
                return done, None  # what was not applied is polled again
            if self._handles(record):
                run.append(record)
                if len(run) < APPLY_TOGETHER:
                    continue
                failed = settle()
            else:
                failed = settle()  # the run before it, together; then this one on its own
                if failed is None:
                    run.append(record)
                    failed = settle()
            if failed is not None:
                return done, failed
        failed = None if stop.is_set() else settle()  # before reading done: settle() moves it
        return done, failed

    def _handles(self, record: Record) -> bool:
        return headers_dict(record.headers).get("ce_type") in self.handlers

    def _apply_together(self, records: list[Record]) -> bool:
        """Apply records in one unit of work: the same checks, inbox and spans as ``process``, one commit.
        False (nothing committed) when any of them fails in any way: the caller applies them one at a time,
        where a poison record is dead-lettered and a failing handler retried, as always."""
        outcomes: list[tuple[str, str]] = []
        try:
            with self._uow_factory() as uow:
                # the inbox read once for the whole run and written once at its end: two round trips a
                # record fewer (measured: they were a third of enrolment's consumer time under the cohort)
                ids = [headers_dict(r.headers).get("ce_id", "") for r in records]
                seen = processed_ids(uow.session, self._tables, self.group_id, ids)
                rows = []
                for record in records:
                    with self._span(record) as span:
                        event = self._decode(record)
                        if event is None:  # a handled type is never ignored; guard all the same
                            raise PoisonRecord("not a handled event")
                        span.set_attribute("cloudevents.event_id", event.id)
                        span.set_attribute("cloudevents.event_type", event.type)
                        outcome = "duplicate"
                        if event.id not in seen:
                            self.handlers[event.type](event, uow)
                            seen.add(event.id)
                            rows.append(
                                inbox_row(
                                    consumer=self.group_id,
                                    event=event,
                                    topic=record.topic,
                                    partition=record.partition,
                                    offset=record.offset,
                                )
                            )
                            outcome = "applied"
                        span.set_attribute("certifia.outcome", outcome)
                        outcomes.append((event.type, outcome))
                if rows:
                    uow.session.execute(insert(self._tables.inbox), rows)
                uow.commit()
        except Exception as exc:
            log.info(
                "records not applied together; one at a time",
                extra=log_fields(group=self.group_id, records=len(records), error=type(exc).__name__),
            )
            return False
        for event_type, outcome in outcomes:
            EVENTS_CONSUMED.labels(self.service, event_type, outcome).inc()
        return True

    def _failed(
        self, consumer: KafkaConsumer, tp: TopicPartition, record: Record, exc: BaseException
    ) -> None:
        self.state.consecutive_failures += 1
        log.error(
            "record not applied; will retry",
            exc_info=exc,
            extra=log_fields(
                topic=record.topic, partition=record.partition, offset=record.offset, key=_key(record)
            ),
        )
        consumer.seek(tp, record.offset)
        if self.state.consecutive_failures >= self._max_failures:
            raise RuntimeError(f"{self.state.consecutive_failures} consecutive failures")
        time.sleep(min(0.5 * self.state.consecutive_failures, 5.0))


class _Span:
    """The consumer span of one record (every record has one, dead-lettered and ignored ones too)."""

    def __init__(self, manager: Any, record: Record, group: str) -> None:
        self._manager = manager
        self._record = record
        self._group = group

    def __enter__(self) -> trace.Span:
        span: trace.Span = self._manager.__enter__()
        span.set_attribute("messaging.system", "kafka")
        span.set_attribute("messaging.consumer.group.name", self._group)
        span.set_attribute("messaging.destination.name", self._record.topic)
        span.set_attribute("messaging.destination.partition.id", str(self._record.partition))
        span.set_attribute("messaging.kafka.offset", self._record.offset)
        return span

    def __exit__(self, *exc: Any) -> Any:
        return self._manager.__exit__(*exc)


def _key(record: Record) -> str | None:
    return record.key.decode("utf-8", errors="replace") if record.key else None
