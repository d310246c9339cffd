"""Consumer loop: at-least-once delivery, exactly-once effect.

Per record: read the CloudEvent, validate it against its contract, open a fresh session, skip it if the
inbox has its id, apply the handler, record the id in the inbox, commit the database, and only then
commit the Kafka offset. A record that keeps failing goes to ``<topic>.dlq`` with the reason after
``max_attempts``; a database outage is not the record's fault, so those are retried without limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata, TopicPartition
from opentelemetry import trace
from sqlalchemy.exc import InterfaceError, OperationalError

from certifia_shared.contracts import ContractError, contract
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent, EnvelopeError, from_kafka, headers_dict
from certifia_shared.kafka import dlq_topic
from certifia_shared.messaging import MessagingTables, already_processed, mark_processed
from certifia_shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED
from certifia_shared.telemetry import extract_trace_context, log_fields, tracer

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent, UnitOfWork], None]
TRANSIENT = (OperationalError, InterfaceError)


class PoisonRecord(Exception):
    """The record can never be applied (bad envelope, contract violation)."""


@dataclass
class ConsumerState:
    healthy: bool = False
    consecutive_failures: int = 0
    processed: int = 0
    dead_lettered: int = 0


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        topics: list[str],
        handlers: dict[str, Handler],
        uow_factory: Callable[[], UnitOfWork],
        tables: MessagingTables,
        consumer_factory: Callable[[], KafkaConsumer],
        producer_factory: Callable[[], KafkaProducer],
        max_attempts: int = 3,
        max_consecutive_failures: int = 50,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.topics = topics
        self.handlers = handlers
        self._uow_factory = uow_factory
        self._tables = tables
        self._consumer_factory = consumer_factory
        self._producer_factory = producer_factory
        self._max_attempts = max_attempts
        self._max_failures = max_consecutive_failures
        self._producer: KafkaProducer | None = None
        self.state = ConsumerState()

    # -- one record -------------------------------------------------------------------------------
    def process(self, record: ConsumerRecord) -> None:
        """Apply one record or dead-letter it. Raises only when nothing durable happened (retry it)."""
        try:
            event = self._decode(record)
        except PoisonRecord as exc:
            self._dead_letter(record, str(exc), attempts=1)
            return
        if event is None:
            return
        parent = extract_trace_context(headers_dict(record.headers))
        with tracer(__name__).start_as_current_span(
            f"{record.topic} process", context=parent, kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.system", "kafka")
            span.set_attribute("messaging.consumer.group.name", self.group_id)
            span.set_attribute("cloudevents.event_id", event.id)
            span.set_attribute("cloudevents.event_type", event.type)
            self._apply_with_retries(record, event)

    def _decode(self, record: ConsumerRecord) -> CloudEvent | None:
        try:
            event = from_kafka(record.headers, record.value)
        except EnvelopeError as exc:
            raise PoisonRecord(f"not a CloudEvent: {exc}") from exc
        if event.type not in self.handlers:
            return None  # another consumer's business: tolerant reader
        try:
            contract(event.type).validate(event.data)
        except ContractError as exc:
            raise PoisonRecord(f"contract violation: {exc}") from exc
        return event

    def _apply_with_retries(self, record: ConsumerRecord, event: CloudEvent) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = self._apply_once(record, event)
                EVENTS_CONSUMED.labels(self.service, event.type, outcome).inc()
                return
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
                    self._dead_letter(record, f"{type(exc).__name__}: {exc}", attempts=attempt)
                    EVENTS_CONSUMED.labels(self.service, event.type, "dead_lettered").inc()
                    return
                time.sleep(min(0.2 * 2**attempt, 2.0))

    def _apply_once(self, record: ConsumerRecord, event: CloudEvent) -> str:
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

    def _dead_letter(self, record: ConsumerRecord, reason: str, *, attempts: int) -> None:
        producer = self._producer or self._producer_factory()
        self._producer = producer
        headers = [
            *list(record.headers or []),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_reason", reason[:4000].encode()),
        ]
        producer.send(dlq_topic(record.topic), key=record.key, value=record.value, headers=headers).get(
            timeout=30
        )
        DEAD_LETTERS.labels(self.service, record.topic).inc()
        self.state.dead_lettered += 1
        log.error(
            "record dead-lettered",
            extra=log_fields(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=_key(record),
                reason=reason,
            ),
        )

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop``; rebuilds the Kafka consumer after a burst of failures."""
        while not stop.is_set():
            consumer: KafkaConsumer | None = None
            try:
                consumer = self._consumer_factory()
                consumer.subscribe(self.topics)
                self._poll_loop(consumer, stop)
            except Exception:
                self.state.healthy = False
                log.exception("consumer loop restarting", extra=log_fields(group=self.group_id))
                stop.wait(2.0)
            finally:
                if consumer is not None:
                    try:
                        consumer.close(autocommit=False)
                    except Exception:
                        log.warning("consumer close failed", exc_info=True)
        if self._producer is not None:
            self._producer.close(timeout=5)

    def _poll_loop(self, consumer: KafkaConsumer, stop: threading.Event) -> None:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500)
            self.state.healthy = True
            for tp, records in batches.items():
                for record in records:
                    if stop.is_set():
                        return
                    try:
                        self.process(record)
                    except Exception:
                        self._failed(consumer, tp, record)
                        break  # re-poll from the failed record
                    consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
                    self.state.consecutive_failures = 0
                    self.state.processed += 1

    def _failed(self, consumer: KafkaConsumer, tp: TopicPartition, record: ConsumerRecord) -> None:
        self.state.consecutive_failures += 1
        log.error(
            "record not applied; will retry",
            exc_info=True,
            extra=log_fields(
                topic=record.topic, partition=record.partition, offset=record.offset, key=_key(record)
            ),
        )
        consumer.seek(tp, record.offset)
        if self.state.consecutive_failures >= self._max_failures:
            raise RuntimeError(f"{self.state.consecutive_failures} consecutive failures")
        time.sleep(min(0.5 * self.state.consecutive_failures, 5.0))


def _key(record: ConsumerRecord) -> str | None:
    return record.key.decode("utf-8", errors="replace") if record.key else None
