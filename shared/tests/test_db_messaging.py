"""Unit of work + outbox (SQLite): the event is written in the same transaction as the state change.

``sqlite_service`` (conftest.py) is a MiniService: engine, sessions, messaging tables, one effect table.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, insert, select

from certifia_shared import event_types as ev
from certifia_shared.contracts import ContractError
from certifia_shared.messaging import already_processed, mark_processed

OPTION = {"candidate_id": "c-1", "option": "5A", "chosen_at": "2025-03-04T10:15:00+00:00"}


def _count(service: Any, table) -> int:  # type: ignore[no-untyped-def]
    with service.sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def test_emit_writes_an_outbox_row_in_the_same_transaction(sqlite_service: Any) -> None:
    s = sqlite_service
    with s.uow() as uow:
        uow.session.execute(insert(s.effects).values(event_id="-", candidate_id="c-1"))
        event = uow.emit(ev.OPTION_CHOSEN, subject="c-1", data=OPTION)
        assert _count(s, s.tables.outbox) == 0  # not visible before the commit
        uow.commit()
    assert uow.emitted == [event]
    assert _count(s, s.effects) == 1
    with s.sessions() as session:
        row = session.execute(select(s.tables.outbox)).one()
    assert row.event_id == event.id and row.type == ev.OPTION_CHOSEN
    assert row.topic == "certifia.enrolment" and row.key == "c-1" and row.subject == "c-1"
    assert row.source == "/certifia/test" and row.published_at is None
    assert json.loads(row.payload) == OPTION


def test_rollback_leaves_neither_state_nor_event(sqlite_service: Any) -> None:
    s = sqlite_service
    with s.uow() as uow:
        uow.session.execute(insert(s.effects).values(event_id="-", candidate_id="c-1"))
        uow.emit(ev.OPTION_CHOSEN, subject="c-1", data=OPTION)
        # no commit: leaving the block rolls back
    assert _count(s, s.tables.outbox) == 0 and _count(s, s.effects) == 0

    with pytest.raises(RuntimeError), s.uow() as uow:
        uow.emit(ev.OPTION_CHOSEN, subject="c-1", data=OPTION)
        raise RuntimeError("the handler failed")
    assert _count(s, s.tables.outbox) == 0

    with s.uow() as uow:
        uow.emit(ev.OPTION_CHOSEN, subject="c-1", data=OPTION)
        uow.rollback()
        uow.commit()
    assert _count(s, s.tables.outbox) == 0


def test_invalid_payload_is_refused_before_anything_is_written(sqlite_service: Any) -> None:
    s = sqlite_service
    with s.uow() as uow:
        with pytest.raises(ContractError, match="option"):
            uow.emit(ev.OPTION_CHOSEN, subject="c-1", data={**OPTION, "option": "5C"})
        with pytest.raises(ContractError, match="unknown event type"):
            uow.emit("fr.certifia.nothing.v1", subject="c-1", data={})
        uow.commit()
    assert _count(s, s.tables.outbox) == 0


def test_outbox_row_keeps_the_trace_context(sqlite_service: Any) -> None:
    s = sqlite_service
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("request") as span, s.uow() as uow:
        uow.emit(ev.OPTION_CHOSEN, subject="c-1", data=OPTION)
        uow.commit()
    with s.sessions() as session:
        headers = json.loads(session.execute(select(s.tables.outbox.c.trace_headers)).scalar_one())
    assert headers["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")


def test_events_keep_their_order(sqlite_service: Any) -> None:
    s = sqlite_service
    ids = []
    for option in ("5A", "5B", "5A"):
        with s.uow() as uow:
            ids.append(uow.emit(ev.OPTION_CHOSEN, subject="c-1", data={**OPTION, "option": option}).id)
            uow.commit()
    with s.sessions() as session:
        rows = session.execute(select(s.tables.outbox.c.event_id).order_by(s.tables.outbox.c.seq)).scalars()
        assert list(rows) == ids


def test_inbox_records_each_event_once_per_consumer(sqlite_service: Any) -> None:
    s = sqlite_service
    with s.uow() as uow:
        event = uow.emit(ev.OPTION_CHOSEN, subject="c-1", data=OPTION)
        assert not already_processed(uow.session, s.tables, "group-a", event.id)
        mark_processed(
            uow.session, s.tables, consumer="group-a", event=event, topic="t", partition=0, offset=7
        )
        uow.commit()
    with s.sessions() as session:
        assert already_processed(session, s.tables, "group-a", event.id)
        assert not already_processed(session, s.tables, "group-b", event.id)
