"""A service's background workers: the outbox relay and the event consumer, as supervised threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from certifia_shared.config import ServiceSettings
from certifia_shared.consumer import EventConsumer, Handler
from certifia_shared.db import UnitOfWork
from certifia_shared.kafka import ensure_topics, make_consumer, make_producer
from certifia_shared.messaging import MessagingTables
from certifia_shared.relay import OutboxRelay

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        *,
        settings: ServiceSettings,
        engine: Engine,
        session_factory: Callable[[], Session],
        tables: MessagingTables,
        uow_factory: Callable[[], UnitOfWork],
        handlers: dict[str, Handler] | None = None,
        topics: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.session_factory = session_factory
        self.tables = tables
        name = settings.service_name
        bootstrap = settings.kafka_bootstrap_servers
        self.relay = OutboxRelay(
            service=name,
            session_factory=session_factory,
            tables=tables,
            producer_factory=lambda: make_producer(bootstrap, f"{name}-relay"),
            poll_seconds=settings.relay_poll_seconds,
        )
        self.consumer: EventConsumer | None = None
        if handlers:
            self.consumer = EventConsumer(
                service=name,
                group_id=f"certifia.{name}",
                topics=sorted(topics or []),
                handlers=handlers,
                uow_factory=uow_factory,
                tables=tables,
                consumer_factory=lambda: make_consumer(bootstrap, f"certifia.{name}", f"{name}-consumer"),
                producer_factory=lambda: make_producer(bootstrap, f"{name}-dlq"),
                max_attempts=settings.consumer_max_attempts,
                max_consecutive_failures=settings.consumer_max_consecutive_failures,
            )
        self._extra: list[Callable[[threading.Event], None]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add_workers(self, workers: list[Callable[[threading.Event], None]]) -> None:
        self._extra.extend(workers)

    def start(self) -> None:
        if not self.settings.run_background_workers:
            return
        ensure_topics(self.settings.kafka_bootstrap_servers)
        workers: list[tuple[str, Callable[[threading.Event], None]]] = [("relay", self.relay.run)]
        if self.consumer is not None:
            workers.append(("consumer", self.consumer.run))
        workers += [(f"worker-{i}", w) for i, w in enumerate(self._extra)]
        for name, target in workers:
            thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"failed: {type(exc).__name__}"
        if self.settings.run_background_workers:
            checks["outbox_relay"] = "ok" if self.relay.healthy else "not ready"
            if self.consumer is not None:
                checks["consumer"] = "ok" if self.consumer.state.healthy else "not ready"
        return checks
