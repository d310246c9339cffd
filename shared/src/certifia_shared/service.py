"""Wiring every service repeats: telemetry, engine, migrations, unit of work, background runtime."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from certifia_shared.config import ServiceSettings
from certifia_shared.consumer import Handler
from certifia_shared.db import UnitOfWork, make_engine, migrate, session_factory
from certifia_shared.messaging import MessagingTables
from certifia_shared.runtime import Runtime
from certifia_shared.telemetry import setup_telemetry

C = TypeVar("C", bound="ServiceContext")


@dataclass(frozen=True)
class ServiceContext:
    """What a service's ``bootstrap()`` wires, frozen: its settings, its database (``db_engine``, the SQL
    engine), the background runtime and the unit of work its handlers and routes use. A service whose
    wiring holds more (certification's issuer, grading-compute's grader) extends it with a frozen subclass;
    ``create_application`` only adapts it to FastAPI."""

    settings: ServiceSettings
    db_engine: Engine
    sessions: sessionmaker[Session]
    tables: MessagingTables
    runtime: Runtime
    uow_factory: Callable[[], UnitOfWork]

    def uow(self) -> UnitOfWork:
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
    handlers: Callable[[], dict[str, Handler]] | None = None,
    unit_of_work: type[UnitOfWork] = UnitOfWork,
    extra_workers: Callable[[ServiceContext], list[Callable[[threading.Event], None]]] | None = None,
) -> ServiceContext:
    setup_telemetry(
        settings.service_name,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        spans_file=settings.otel_spans_file,
        log_level=settings.log_level,
    )
    engine = make_engine(settings.resolved_database_url(database_name))
    migrate(engine, migrations_dir)
    sessions = session_factory(engine)
    source = f"/certifia/{settings.service_name}"

    def uow_factory() -> UnitOfWork:
        return unit_of_work(sessions, tables=tables, source=source)

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
