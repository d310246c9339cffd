"""Wiring every service repeats: telemetry, engine, migrations, unit of work, background runtime."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from certifia_shared.config import ServiceSettings
from certifia_shared.consumer import Handler
from certifia_shared.db import UnitOfWork, make_engine, migrate, session_factory
from certifia_shared.messaging import MessagingTables
from certifia_shared.runtime import Runtime
from certifia_shared.telemetry import setup_telemetry


@dataclass
class ServiceContext:
    settings: ServiceSettings
    engine: Engine
    sessions: sessionmaker[Session]
    tables: MessagingTables
    runtime: Runtime

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, tables=self.tables, source=f"/certifia/{self.settings.service_name}")


def build_context(
    settings: ServiceSettings,
    *,
    database_name: str,
    tables: MessagingTables,
    migrations_dir: Path,
    handlers: Callable[[], dict[str, Handler]] | None = None,
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
    runtime = Runtime(
        settings=settings,
        engine=engine,
        session_factory=sessions,
        tables=tables,
        uow_factory=lambda: UnitOfWork(sessions, tables=tables, source=source),
        handlers=handlers() if handlers else None,
    )
    ctx = ServiceContext(settings, engine, sessions, tables, runtime)
    if extra_workers:
        runtime.add_workers(extra_workers(ctx))
    return ctx
