"""Fixtures of the shared library's tests: a minimal service schema (outbox, inbox, one effect table)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table
from sqlalchemy.orm import Session, sessionmaker

from certifia_shared.db import UnitOfWork, make_engine, session_factory
from certifia_shared.messaging import MessagingTables, messaging_tables


@dataclass
class MiniService:
    """What a service wires: an engine, its sessions, its messaging tables and one effect table."""

    engine: Engine
    sessions: sessionmaker[Session]
    tables: MessagingTables
    effects: Table

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, tables=self.tables, source="/certifia/test")

    @property
    def uow_factory(self) -> Callable[[], UnitOfWork]:
        return self.uow


def mini_service(url: str) -> MiniService:
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("candidate_id", String(64), nullable=False),
    )
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    return MiniService(engine, session_factory(engine), tables, effects)


@pytest.fixture
def make_mini_service() -> Callable[[str], MiniService]:
    """Builds a :class:`MiniService` on a database URL (tables dropped and created afresh)."""
    return mini_service


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[MiniService]:
    service = mini_service(f"sqlite:///{tmp_path / 'service.db'}")
    yield service
    service.engine.dispose()
