"""A service's background workers: the outbox relay and the event consumer, as supervised threads.

A runtime without a database (``engine=None``: a service wired over a fake unit of work, see
:func:`certifia_shared.service.build_context`) never starts them: there is no outbox to relay and no
inbox to record consumed events in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Generic

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from certifia_shared.bus import bus
from certifia_shared.config import ServiceSettings
from certifia_shared.consumer import EventConsumer, Handler, U
from certifia_shared.group_watch import GroupWatch
from certifia_shared.kafka import make_admin, make_consumer, make_producer
from certifia_shared.messaging import MessagingTables
from certifia_shared.relay import OutboxRelay

log = logging.getLogger(__name__)


class Runtime(Generic[U]):
    def __init__(
        self,
        *,
        settings: ServiceSettings,
        engine: Engine | None,
        session_factory: Callable[[], Session],
        tables: MessagingTables,
        uow_factory: Callable[[], U],
        handlers: dict[str, Handler[U]] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.session_factory = session_factory
        self.tables = tables
        name = settings.service_name
        bootstrap = settings.kafka_bootstrap_servers
        security = settings.kafka_security()
        self.relay = OutboxRelay(
            service=name,
            session_factory=session_factory,
            tables=tables,
            producer_factory=lambda: make_producer(bootstrap, f"{name}-relay", security),
            poll_seconds=settings.relay_poll_seconds,
            retention=timedelta(hours=h) if (h := settings.outbox_retention_hours) > 0 else None,
        )
        self.consumer: EventConsumer[U] | None = None
        subscription = bus().subscription(name)
        if handlers:
            if subscription is None:
                raise RuntimeError(f"{name} has event handlers but no consumer entry in contracts/bus.yaml")
            group = subscription.group

            def watch(consumer: Any) -> GroupWatch:
                admin = make_admin(bootstrap, f"{name}-group-watch", security)
                return GroupWatch(
                    consumer,
                    service=name,
                    group_id=group,
                    describe_group=lambda g: admin.describe_groups([g])[g],
                    close=admin.close,
                    rejoin_after_s=settings.consumer_rejoin_after_seconds,
                )

            self.consumer = EventConsumer(
                service=name,
                group_id=group,
                topics=list(subscription.topics),
                handlers=handlers,
                ignored=subscription.ignores,
                uow_factory=uow_factory,
                tables=tables,
                consumer_factory=lambda: make_consumer(bootstrap, group, f"{name}-consumer", security),
                producer_factory=lambda: make_producer(bootstrap, f"{name}-dlq", security),
                watch_factory=watch,
                max_attempts=settings.consumer_max_attempts,
                max_consecutive_failures=settings.consumer_max_consecutive_failures,
            )
        self._extra: list[Callable[[threading.Event], None]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add_workers(self, workers: list[Callable[[threading.Event], None]]) -> None:
        self._extra.extend(workers)

    def start(self) -> None:
        if not self.settings.run_background_workers or self.engine is None:
            return
        # refuse to start without usable TLS files (or the explicit insecure-development flag)
        self.settings.kafka_security().check()
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
        if self.engine is None:
            return {"database": "none: wired over a fake unit of work"}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"failed: {type(exc).__name__}"
        if self.settings.run_background_workers:
            checks["outbox_relay"] = "ok" if self.relay.healthy else "not ready"
            if self.consumer is not None:
                state = self.consumer.state
                settled = state.membership == "ok" or state.membership.startswith("idle")
                if not state.healthy:
                    checks["consumer"] = "not ready: not polling"
                elif not settled:
                    checks["consumer"] = f"not ready: {state.membership}"
                else:
                    checks["consumer"] = "ok"
                # details, not checks (readiness counts string values only)
                checks["consumer_group"] = {
                    "group": self.consumer.group_id,
                    "membership": state.membership,
                    "lag": dict(state.lag),
                    "dead_lettered": state.dead_lettered,
                    "ignored": state.ignored,
                }
        return checks
