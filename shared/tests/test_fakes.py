"""The fake unit of work keeps what was committed and drops the rest, like the real one."""

from __future__ import annotations

import pytest

from certifia_shared import event_types as ev
from certifia_shared.contracts import ContractError
from certifia_shared.fakes import FakeRepository, FakeUnitOfWork


class FakeNotes(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, str] = {}


class NotesUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/certifia/test")
        self.notes = FakeNotes()


def _withdrawn(candidate_id: str) -> dict[str, object]:
    return {
        "candidate_id": candidate_id,
        "withdrawn_at": "2026-01-01T00:00:00+00:00",
        "reason": "moved abroad for a new job",
        "withdrawn_by_role": "candidate",
    }


def test_a_block_left_without_commit_changes_nothing_and_emits_nothing() -> None:
    uow = NotesUnitOfWork()
    with uow:
        uow.notes.rows["a"] = "kept"
        uow.commit()
    with uow:
        uow.notes.rows["b"] = "dropped"
        uow.emit(ev.CANDIDATE_WITHDRAWN, subject="c1", data=_withdrawn("c1"))
    assert uow.notes.rows == {"a": "kept"}
    assert uow.committed == 1
    assert uow.outbox == [] and uow.emitted == []


def test_committed_events_are_kept_in_order_and_emitted_resets_on_enter() -> None:
    uow = NotesUnitOfWork()
    for cid in ("c1", "c2"):
        with uow:
            uow.emit(ev.CANDIDATE_WITHDRAWN, subject=cid, data=_withdrawn(cid))
            uow.commit()
        assert [e.subject for e in uow.emitted] == [cid]
    assert [e.subject for e in uow.events(ev.CANDIDATE_WITHDRAWN)] == ["c1", "c2"]


def test_emit_validates_the_payload_against_its_contract() -> None:
    uow = NotesUnitOfWork()
    with uow, pytest.raises(ContractError):
        uow.emit(ev.CANDIDATE_WITHDRAWN, subject="c1", data={"candidate_id": "c1"})


def test_nesting_is_refused() -> None:
    uow = NotesUnitOfWork()
    with uow, pytest.raises(RuntimeError, match="already open"), uow:
        pass
