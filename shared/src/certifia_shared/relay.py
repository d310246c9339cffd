"""The outbox relay: publishes committed outbox rows to Kafka in order, then marks them sent.

A crash between publish and mark re-publishes the row later with the same event id; consumers'
inboxes make that harmless. Nothing committed is ever lost.

Several instances of a service may run on one database (issue 15, scale-out): on PostgreSQL each batch
first takes a transaction-level advisory lock, so one relay publishes at a time and rows go out once, in
their order; the others find the lock taken and wait for their next poll (the lock goes with the commit).
SQLite runs one instance.

Published rows are kept ``retention`` (7 days by default, ``OUTBOX_RETENTION_HOURS``), then deleted, at
most every ``prune_every_s`` and in batches of ``PRUNE_BATCH``: the broker holds what was published, and
the outbox was most of a service's database (assessment's: 200 of 336 KB per candidate, issue 15).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from kafka import KafkaProducer
from opentelemetry import trace
from sqlalchemy import CursorResult, delete, func, select, text, update
from sqlalchemy.orm import Session

from certifia_shared.contracts import ContractError, contract
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.journey import mark_candidate
from certifia_shared.messaging import MessagingTables
from certifia_shared.metrics import EVENTS_PUBLISHED, OUTBOX_PENDING, OUTBOX_PRUNED
from certifia_shared.polling import PollingLoop
from certifia_shared.telemetry import extract_trace_context, inject_trace_headers, log_fields, tracer

log = logging.getLogger(__name__)

BATCH = 200
PRUNE_BATCH = 1000
RELAY_LOCK = 0x7265_6C61  # pg_try_advisory_xact_lock key of the outbox relay ("rela"), per database


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        session_factory: Callable[[], Session],
        tables: MessagingTables,
        producer_factory: Callable[[], KafkaProducer],
        poll_seconds: float = 0.2,
        retention: timedelta | None = timedelta(days=7),
        prune_every_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._retention = retention  # None: published rows are kept
        self._prune_every_s = prune_every_s
        self._clock = clock
        self._pruned_at: float | None = None
        self._session_factory = session_factory
        self._tables = tables
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._loop = PollingLoop(
            self.publish_pending,
            name="outbox relay",
            poll_seconds=poll_seconds,
            on_failure=self._close_producer,
            full_batch=BATCH,  # a partial batch waits poll_seconds: rows arriving one by one go out together
        )

    @property
    def healthy(self) -> bool:
        """The last batch went through (readiness)."""
        return self._loop.healthy

    def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns how many were marked sent. When the relay is not
        behind (the batch was not full), the rows past their retention are pruned, if it is time."""
        done, seen = self._publish_batch()
        if seen < BATCH:
            self._prune_if_due()
        return done

    def _publish_batch(self) -> tuple[int, int]:
        """(rows marked sent, rows the batch read)."""
        t = self._tables.outbox
        with self._session_factory() as session:
            if (
                session.get_bind().dialect.name == "postgresql"
                and not session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK}
                ).scalar_one()
            ):
                return 0, 0  # another instance's relay is publishing this batch
            rows = session.execute(
                select(t).where(t.c.published_at.is_(None)).order_by(t.c.seq).limit(BATCH)
            ).all()
            if not rows:
                OUTBOX_PENDING.labels(self._service).set(0)
                return 0, 0
            producer = self._producer or self._producer_factory()
            self._producer = producer
            sent = []
            for row in rows:
                event = CloudEvent(
                    type=row.type,
                    source=row.source,
                    subject=row.subject,
                    data=json.loads(row.payload),
                    id=row.event_id,
                    time=row.time,
                    dataschema=_schema_id(row.type),
                )
                parent = extract_trace_context(json.loads(row.trace_headers or "{}"))
                with tracer(__name__).start_as_current_span(
                    f"{row.topic} publish", context=parent, kind=trace.SpanKind.PRODUCER
                ) as span:
                    span.set_attribute("messaging.system", "kafka")
                    span.set_attribute("messaging.destination.name", row.topic)
                    span.set_attribute("cloudevents.event_id", row.event_id)
                    span.set_attribute("cloudevents.event_type", row.type)
                    if isinstance(event.data, dict) and isinstance(event.data.get("candidate_id"), str):
                        mark_candidate(event.data["candidate_id"], span)
                    headers = event.kafka_headers(inject_trace_headers())
                    future = producer.send(
                        row.topic, key=row.key.encode(), value=event.kafka_value(), headers=headers
                    )
                sent.append((row, future))
            producer.flush(timeout=30)
            done = []
            for row, future in sent:
                try:
                    future.get(timeout=0)
                except Exception as exc:  # the row stays unsent and is retried; order is kept
                    log.warning("publish failed", extra=log_fields(event_id=row.event_id, error=str(exc)))
                    session.execute(
                        update(t)
                        .where(t.c.seq == row.seq)
                        .values(publish_attempts=t.c.publish_attempts + 1, last_error=str(exc)[:2000])
                    )
                    break
                done.append(row.seq)
                EVENTS_PUBLISHED.labels(self._service, row.type).inc()
            if done:
                session.execute(update(t).where(t.c.seq.in_(done)).values(published_at=utcnow()))
            session.commit()
            pending = len(rows) - len(done)  # what the batch saw; counted when it could not take it all
            if len(rows) == BATCH:
                pending = session.execute(
                    select(func.count()).select_from(t).where(t.c.published_at.is_(None))
                ).scalar_one()
            OUTBOX_PENDING.labels(self._service).set(pending)
            return len(done), len(rows)

    def _prune_if_due(self) -> None:
        now = self._clock()
        if self._retention is None or (
            self._pruned_at is not None and now - self._pruned_at < self._prune_every_s
        ):
            return
        self._pruned_at = now
        try:
            self.prune_published(utcnow() - self._retention)
        except Exception as exc:  # housekeeping: publishing goes on, and pruning is tried again next time
            log.warning("pruning the outbox failed", extra=log_fields(error=str(exc)[:500]))

    def prune_published(self, before: datetime) -> int:
        """Delete the rows published before ``before``, a batch per transaction; how many went."""
        t = self._tables.outbox
        deleted = 0
        while True:
            with self._session_factory() as session:
                oldest = (
                    select(t.c.seq)
                    .where(t.c.published_at.is_not(None), t.c.published_at < before)
                    .order_by(t.c.seq)
                    .limit(PRUNE_BATCH)
                )
                result = session.execute(delete(t).where(t.c.seq.in_(oldest.scalar_subquery())))
                gone = cast(CursorResult[Any], result).rowcount
                session.commit()
            deleted += gone
            if gone < PRUNE_BATCH:
                break
        if deleted:
            OUTBOX_PRUNED.labels(self._service).inc(deleted)
            log.info(
                "published outbox rows pruned",
                extra=log_fields(rows=deleted, published_before=before.isoformat()),
            )
        return deleted

    def run(self, stop: threading.Event) -> None:
        try:
            self._loop.run(stop)
        finally:
            self._close_producer()

    def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:
                log.warning("producer close failed", exc_info=True)
            self._producer = None


def _schema_id(event_type: str) -> str:
    """The CloudEvents ``dataschema`` of an outbox row: its contract's $id ("" for a type no longer known)."""
    try:
        return str(contract(event_type).schema.get("$id", ""))
    except ContractError:
        return ""
