"""Engines, sessions and the unit of work. Repositories never commit; the unit of work does."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, event, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from certifia_shared.columns import UtcDateTime
from certifia_shared.envelope import CloudEvent
from certifia_shared.messaging import MessagingTables, record_event

PING_AFTER_IDLE_S = 1.0  # a pooled connection idle longer than this is pinged before it is handed out


def make_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 5, ping_after_idle_s: float = PING_AFTER_IDLE_S
) -> Engine:
    """An engine over ``url``; on PostgreSQL a pool of ``pool_size`` connections, ``max_overflow`` more at a
    peak (SQLite has no server to share), each pinged when it comes out of the pool after
    ``ping_after_idle_s`` unused (see :func:`ping_when_idle`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets the API, the relay and the consumer share the file; foreign keys on by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    ping_when_idle(engine, ping_after_idle_s)
    return engine


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection before handing it out only when it sat unused for ``idle_s``: a connection
    that PostgreSQL dropped (a restart, an idle timeout) is then replaced before the request sees it.

    ``pool_pre_ping`` pinged on every checkout: one more round trip per transaction (bench-api, py-spy: 6%
    of a request's thread; the peer has none). A connection checked in moments ago and broken since (a
    restart shorter than ``idle_s``) fails its first statement instead: SQLAlchemy then invalidates it and
    every connection pooled before, and the request is answered 503 (certifia_shared.web), which clients
    retry."""

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["certifia_used_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["certifia_used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used_at = record.info.get("certifia_used_at")
        if used_at is not None and time.monotonic() - used_at < idle_s:
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError(str(exc)) from exc  # the pool connects afresh and tries again
            raise


MIGRATION_LOCK = 0x6D69_6772  # pg_advisory_xact_lock key of a schema migration ("migr"), per database


def migrate(engine: Engine, migrations_dir: Path) -> None:
    """Bring the service's schema to head with its Alembic scripts, in one transaction.

    On PostgreSQL the transaction first takes an advisory lock: instances of a service started together
    migrate one after the other, the later ones finding the schema at head (they raced on creating
    ``alembic_version`` before: a unique violation, and the instance exited)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("path_separator", "os")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Conflict(Exception):
    """A unique constraint refused a write: a concurrent transaction got there first. Nothing was written;
    doing it again reads what the other one wrote (see :func:`retry_on_conflict`)."""


T = TypeVar("T")
__all__ = [
    "Conflict",
    "UnitOfWork",
    "UtcDateTime",
    "insert_ignoring_conflict",
    "make_engine",
    "retry_on_conflict",
]


def retry_on_conflict(attempt: Callable[[], T], *, attempts: int = 3) -> T:
    """Run ``attempt`` (one whole unit of work) again when a concurrent twin won a unique constraint: the
    next run sees the winner's row and answers as a repeat would (the idempotent 200, or a 409 naming it).
    The last :class:`Conflict` propagates (the error map answers it as 409)."""
    for remaining in range(attempts - 1, -1, -1):
        try:
            return attempt()
        except Conflict:
            if remaining == 0:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class UnitOfWork:
    """One database transaction. Rolls back unless :meth:`commit` was called; a unique-constraint error
    inside it leaves as :class:`Conflict`.

    :meth:`emit` writes an event to the outbox inside the same transaction as the state change. A service's
    unit of work owns its repositories (cosmicpython's ``self.batches = ...``): it overrides
    :meth:`open_repositories`, which runs on every enter with the new session, so that handlers say
    ``uow.candidates.get(...)`` and never build a repository themselves.
    """

    def __init__(
        self, session_factory: Callable[[], Session], *, tables: MessagingTables, source: str
    ) -> None:
        self._session_factory = session_factory
        self._tables = tables
        self._source = source
        self.session: Session
        self.emitted: list[CloudEvent] = []

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.emitted = []  # a unit of work used again (a retry) reports only what this run emitted
        self.open_repositories(self.session)
        return self

    def open_repositories(self, session: Session) -> None:
        """Set this service's repositories on ``self`` for the new transaction (none in the base class)."""

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.session.rollback()
        self.session.close()
        if isinstance(exc, IntegrityError):
            raise Conflict(str(exc.orig).splitlines()[0] if exc.orig else str(exc)) from exc

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as exc:  # a deferred constraint, or the flush at commit
            raise Conflict(str(exc.orig).splitlines()[0] if exc.orig else str(exc)) from exc

    def emit(self, type: str, *, subject: str, data: dict[str, Any]) -> CloudEvent:
        event = record_event(
            self.session, self._tables, type=type, source=self._source, subject=subject, data=data
        )
        self.emitted.append(event)
        return event

    def rollback(self) -> None:
        self.session.rollback()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def insert_ignoring_conflict(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (on the primary key), for SQLite and PostgreSQL."""
    keys = [c.name for c in table.primary_key.columns]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))
    elif dialect == "sqlite":
        session.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))
    else:  # pragma: no cover - the service runs on SQLite or PostgreSQL
        where = [table.c[k] == values[k] for k in keys]
        if session.execute(select(*[table.c[k] for k in keys]).where(*where)).first() is None:
            session.execute(insert(table).values(**values))
