"""Wiring every service repeats: telemetry, engine, migrations, unit of work, background runtime."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from certifia_shared.config import ServiceSettings
from certifia_shared.consumer import Handler, U
from certifia_shared.db import make_engine, migrate, session_factory
from certifia_shared.messaging import MessagingTables
from certifia_shared.runtime import Runtime
from certifia_shared.telemetry import setup_telemetry

C = TypeVar("C", bound="ServiceContext[Any]")


@dataclass(frozen=True)
class ServiceContext(Generic[U]):
    """What a service's ``bootstrap()`` wires, frozen: its settings, its database (``db_engine``, the SQL
    engine), the background runtime and the unit of work its handlers and routes use (``U``, the service's
    own: ``ServiceContext[ThesisUnitOfWork]``). A service whose wiring holds more (certification's issuer,
    grading-compute's grader) extends it with a frozen subclass; ``create_application`` only adapts it to
    FastAPI.

    A context wired over a fake unit of work (``build_context(uow_factory=...)``, what unit tests pass) has
    no database: ``db_engine`` is None, ``sessions`` is bound to nothing (a session it makes fails on its
    first statement), and the runtime never starts its workers. ``uow()`` returns what the factory makes."""

    settings: ServiceSettings
    db_engine: Engine | None
    sessions: sessionmaker[Session]
    tables: MessagingTables
    runtime: Runtime[U]
    uow_factory: Callable[[], U]

    def uow(self) -> U:
        return self.uow_factory()

    def extended(self, cls: type[C], **extra: Any) -> C:
        """This wiring as a service's frozen subclass that holds more, e.g.
        ``ctx.extended(CertificationContext, issuer=issuer)``."""
        return cls(**{f.name: getattr(self, f.name) for f in fields(ServiceContext)}, **extra)


def build_context(
    settings: ServiceSettings,
    *,
    database_name: str,
    tables: MessagingTables,
    migrations_dir: Path,
    unit_of_work: type[U],
    handlers: Callable[[], dict[str, Handler[U]]] | None = None,
    extra_workers: Callable[[ServiceContext[U]], list[Callable[[threading.Event], None]]] | None = None,
    uow_factory: Callable[[], U] | None = None,
) -> ServiceContext[U]:
    """The service's wiring over its database: the engine (migrated), ``unit_of_work`` over its sessions, the
    runtime that relays the outbox and consumes with ``handlers``, and ``extra_workers`` beside them.

    ``uow_factory`` wires the service over another unit of work (a test's fake) instead: no engine is made
    and no migration runs, and the runtime (consumer and ``extra_workers`` included) is built but never
    starts; see :class:`ServiceContext`."""
    setup_telemetry(
        settings.service_name,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        spans_file=settings.otel_spans_file,
        log_level=settings.log_level,
    )
    engine: Engine | None = None
    if uow_factory is None:
        engine = make_engine(
            settings.resolved_database_url(database_name),
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        migrate(engine, migrations_dir)
        sessions = session_factory(engine)
        source = f"/certifia/{settings.service_name}"

        def real_uow() -> U:
            return unit_of_work(sessions, tables=tables, source=source)

        uow_factory = real_uow
    else:
        sessions = sessionmaker(expire_on_commit=False)  # bound to no database

    runtime = Runtime(
        settings=settings,
        engine=engine,
        session_factory=sessions,
        tables=tables,
        uow_factory=uow_factory,
        handlers=handlers() if handlers else None,
    )
    ctx = ServiceContext(settings, engine, sessions, tables, runtime, uow_factory)
    if extra_workers:
        runtime.add_workers(extra_workers(ctx))
    return ctx
