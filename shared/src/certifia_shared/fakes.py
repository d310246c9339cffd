"""In-memory stand-ins for the unit of work, so that handler tests run without a database (cosmicpython's
``FakeUnitOfWork``). Only unit tests use them; the SQLite and PostgreSQL suites keep the real one.

A service's fake unit of work extends :class:`FakeUnitOfWork`, creating its fake repositories (subclasses
of :class:`FakeRepository`) in ``__init__``; they live as long as the fake, as rows would in a database::

    class FakeEnrolmentUnitOfWork(FakeUnitOfWork):
        def __init__(self) -> None:
            super().__init__(source="/certifia/enrolment")
            self.candidates = FakeCandidateRepository()

Like the real one, it keeps what a ``with uow:`` block committed and drops the rest: on enter every fake
repository is snapshotted, and a block left without :meth:`commit` restores the snapshots and forgets its
events. :meth:`emit` validates the payload against its contract, as the outbox does. ``committed`` counts
commits; ``outbox`` holds every committed event, in order.
"""

from __future__ import annotations

import copy
from types import TracebackType
from typing import Any, Self

from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent


class FakeRepository:
    """Base of the in-memory repositories: what :class:`FakeUnitOfWork` snapshots and restores."""


class FakeUnitOfWork:
    def __init__(self, *, source: str = "/certifia/test") -> None:
        self._source = source
        self.emitted: list[CloudEvent] = []
        self.outbox: list[CloudEvent] = []
        self.committed = 0
        self._snapshot: dict[str, FakeRepository] = {}
        self._open = False

    def _repositories(self) -> dict[str, FakeRepository]:
        return {name: value for name, value in vars(self).items() if isinstance(value, FakeRepository)}

    def __enter__(self) -> Self:
        if self._open:
            raise RuntimeError("this unit of work is already open: a handler nested `with uow:`")
        self._open = True
        self.emitted = []
        self._snapshot = copy.deepcopy(self._repositories())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rollback()
        self._open = False

    def commit(self) -> None:
        if not self._open:
            raise RuntimeError("commit outside `with uow:`")
        self.committed += 1
        self.outbox.extend(e for e in self.emitted if e not in self.outbox)
        self._snapshot = copy.deepcopy(self._repositories())

    def rollback(self) -> None:
        for name, saved in self._snapshot.items():
            setattr(self, name, copy.deepcopy(saved))
        uncommitted = [e for e in self.emitted if e not in self.outbox]
        self.emitted = [e for e in self.emitted if e not in uncommitted]

    def emit(self, type: str, *, subject: str, data: dict[str, Any]) -> CloudEvent:
        if not self._open:
            raise RuntimeError("emit outside `with uow:`")
        contract(type).validate(data)
        event = CloudEvent(type=type, source=self._source, subject=subject, data=data)
        self.emitted.append(event)
        return event

    def events(self, type: str | None = None) -> list[CloudEvent]:
        """The committed events (of one type when given)."""
        return [e for e in self.outbox if type is None or e.type == type]
