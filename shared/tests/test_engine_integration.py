"""The engine's pool on PostgreSQL: a connection is pinged only after it sat idle (issue 15, item 2).

bench-api, py-spy: ``pool_pre_ping`` pinged on every checkout, one more round trip per transaction (6% of
a request's thread); the peer pings never. A connection dropped by the server is still replaced before use
once it sat idle, and one dropped moments after use fails once and is then replaced with the whole pool.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from certifia_shared.db import make_engine

pytestmark = pytest.mark.integration

SERVER = os.environ.get("CERTIFIA_TEST_PG_URL", "postgresql+psycopg://certifia:certifia@127.0.0.1:5432")
IDLE_S = 0.5


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = make_engine(f"{SERVER}/postgres", pool_size=1, max_overflow=0, ping_after_idle_s=IDLE_S)
    yield engine
    engine.dispose()


def _count_pings(engine: Engine) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    finally:
        admin.dispose()
    time.sleep(0.1)


def test_a_connection_in_steady_use_is_not_pinged(engine: Engine) -> None:
    first = _backend(engine)
    pings = _count_pings(engine)
    for _ in range(20):
        assert _backend(engine) == first  # the one pooled connection, reused
    assert pings == []  # pool_pre_ping: 20


def test_a_connection_idle_past_the_window_is_pinged_and_replaced_when_the_server_dropped_it(
    engine: Engine,
) -> None:
    first = _backend(engine)
    _terminate(first)  # what a PostgreSQL restart does to every pooled connection
    time.sleep(IDLE_S + 0.1)
    pings = _count_pings(engine)
    second = _backend(engine)  # no error: the ping found it dead and the pool connected afresh
    assert second != first and len(pings) == 1


def test_a_connection_dropped_moments_after_use_fails_once_then_the_pool_is_fresh(engine: Engine) -> None:
    first = _backend(engine)
    _terminate(first)
    with pytest.raises(OperationalError) as failed:
        _backend(engine)  # within the window: not pinged, its first statement fails (answered 503)
    assert failed.value.connection_invalidated
    assert _backend(engine) != first
