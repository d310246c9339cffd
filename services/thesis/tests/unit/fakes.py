"""In-memory stand-ins for the thesis repositories and unit of work (cosmicpython's fakes): the same method
names and return types as ``certifia_thesis.adapters.repository``, and the unique keys the tables enforce
(a second row on one raises ``Conflict``, as the real unit of work turns the IntegrityError into)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from certifia_shared.db import Conflict
from certifia_shared.fakes import FakeRepository, FakeUnitOfWork
from certifia_thesis.domain.appeals import Appeal, Resolution
from certifia_thesis.domain.deposit import Deposit
from certifia_thesis.domain.model import Defence, KnownCandidate, Mission, ordered
from certifia_thesis.domain.schedule import DefenceSchedule

BeforeAdd = Callable[[Any], None]
"""What a fake repository runs before an insert (``before_add``): a test's concurrent transaction, e.g.
:class:`Concurrently`, or a function that raises ``Conflict`` every time."""


class FakeCandidateRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, KnownCandidate] = {}
        self.enrolled_at: dict[str, datetime | None] = {}
        self.accommodation_granted_at: dict[str, datetime] = {}

    def get(self, candidate_id: str, *, lock: bool = False) -> KnownCandidate | None:
        return self.rows.get(candidate_id)

    def save(self, candidate: KnownCandidate, enrolled_at: datetime | None) -> None:
        current = self.rows.get(candidate.id)
        if current is not None:  # the withdrawal and the accommodation come from their own events
            candidate = replace(
                candidate,
                withdrawn_at=current.withdrawn_at,
                extra_time_factor=current.extra_time_factor,
                adapted_defence=current.adapted_defence,
            )
        else:
            candidate = replace(candidate, withdrawn_at=None, extra_time_factor=1.0, adapted_defence=None)
        self.rows[candidate.id] = candidate
        self.enrolled_at[candidate.id] = enrolled_at

    def record_accommodation(
        self, candidate_id: str, extra_time_factor: float, adapted_defence: str | None, granted_at: datetime
    ) -> bool:
        current = self.rows.get(candidate_id)
        in_force = self.accommodation_granted_at.get(candidate_id)
        if current is None or (in_force is not None and in_force > granted_at):
            return False
        self.rows[candidate_id] = replace(
            current, extra_time_factor=extra_time_factor, adapted_defence=adapted_defence
        )
        self.accommodation_granted_at[candidate_id] = granted_at
        return True

    def record_withdrawal(self, candidate_id: str, withdrawn_at: datetime) -> bool:
        current = self.rows.get(candidate_id)
        if current is None or current.withdrawn_at is not None:
            return False
        self.rows[candidate_id] = replace(current, withdrawn_at=withdrawn_at)
        return True


class FakeMissionRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Mission] = {}
        self.before_add: BeforeAdd | None = None

    def of(self, candidate_id: str) -> list[Mission]:
        mine = [m for m in self.rows.values() if m.candidate_id == candidate_id]
        return sorted(mine, key=lambda m: (m.start_date, m.registered_at))

    def get(self, mission_id: str) -> Mission | None:
        return self.rows.get(mission_id)

    def find(self, candidate_id: str, company: str, start: date, end: date) -> Mission | None:
        identity = (candidate_id, company, start, end)
        return next(
            (
                m
                for m in self.rows.values()
                if (m.candidate_id, m.company, m.start_date, m.end_date) == identity
            ),
            None,
        )

    def add(self, mission: Mission) -> None:
        if self.before_add is not None:
            self.before_add(mission)
        if mission.id in self.rows or self.find(
            mission.candidate_id, mission.company, mission.start_date, mission.end_date
        ):
            raise Conflict("uq_missions_identity")
        self.rows[mission.id] = mission


class FakeDefenceRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Defence] = {}
        self.before_add: BeforeAdd | None = None

    def of(self, candidate_id: str) -> list[Defence]:
        return ordered([d for d in self.rows.values() if d.candidate_id == candidate_id])

    def get(self, defence_id: str) -> Defence | None:
        return self.rows.get(defence_id)

    def add(self, defence: Defence) -> None:
        if self.before_add is not None:
            self.before_add(defence)
        if defence.id in self.rows:
            raise Conflict("defences_pkey")
        if defence.outcome == "passed" and any(d.outcome == "passed" for d in self.of(defence.candidate_id)):
            raise Conflict("uq_defences_one_pass")
        self.rows[defence.id] = defence

    def annul(self, defence_id: str, at: datetime, appeal_id: str) -> None:
        if defence_id in self.rows:
            self.rows[defence_id] = replace(
                self.rows[defence_id], annulled_at=at, annulled_by_appeal=appeal_id
            )


class FakeDepositRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Deposit] = {}
        self.before_add: BeforeAdd | None = None

    def of(self, candidate_id: str) -> list[Deposit]:
        return sorted(
            (d for d in self.rows.values() if d.candidate_id == candidate_id), key=lambda d: d.version
        )

    def add(self, deposit: Deposit) -> None:
        if self.before_add is not None:
            self.before_add(deposit)
        if deposit.id in self.rows or any(
            d.version == deposit.version for d in self.of(deposit.candidate_id)
        ):
            raise Conflict("uq_thesis_deposits_version")
        self.rows[deposit.id] = deposit


class FakeScheduleRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, DefenceSchedule] = {}

    def of(self, candidate_id: str) -> list[DefenceSchedule]:
        return sorted(
            (s for s in self.rows.values() if s.candidate_id == candidate_id), key=lambda s: s.created_at
        )

    def get(self, defence_id: str) -> DefenceSchedule | None:
        return self.rows.get(defence_id)

    def add(self, schedule: DefenceSchedule) -> None:
        if schedule.id in self.rows:
            raise Conflict("defence_schedules_pkey")
        self.rows[schedule.id] = schedule

    def replace(self, schedule: DefenceSchedule) -> None:
        if schedule.id in self.rows:
            self.rows[schedule.id] = schedule


class FakeAppealRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Appeal] = {}
        self.before_add: BeforeAdd | None = None

    def of(self, candidate_id: str) -> list[Appeal]:
        return sorted(
            (a for a in self.rows.values() if a.candidate_id == candidate_id), key=lambda a: a.opened_at
        )

    def of_defence(self, defence_id: str) -> Appeal | None:
        return next((a for a in self.rows.values() if a.defence_id == defence_id), None)

    def add(self, appeal: Appeal) -> None:
        if self.before_add is not None:
            self.before_add(appeal)
        if appeal.id in self.rows or self.of_defence(appeal.defence_id) is not None:
            raise Conflict("uq_defence_appeals_defence")
        self.rows[appeal.id] = replace(appeal, resolution=None)  # the resolution is recorded on its own

    def record_resolution(self, appeal_id: str, resolution: Resolution) -> None:
        if appeal_id in self.rows:
            self.rows[appeal_id] = replace(self.rows[appeal_id], resolution=resolution)


class FakeThesisUnitOfWork(FakeUnitOfWork):
    """``uow.candidates``, ``uow.missions``, ``uow.deposits``, ``uow.schedules``, ``uow.defences`` and
    ``uow.appeals`` in memory, kept across ``with uow:`` blocks as rows would be."""

    def __init__(self) -> None:
        super().__init__(source="/certifia/thesis")
        self.candidates = FakeCandidateRepository()
        self.missions = FakeMissionRepository()
        self.deposits = FakeDepositRepository()
        self.schedules = FakeScheduleRepository()
        self.defences = FakeDefenceRepository()
        self.appeals = FakeAppealRepository()

    def committed_concurrently(self, change: Callable[[Any], None]) -> None:
        """What another transaction committed meanwhile: ``change(uow)`` is applied to the rows this one
        sees and to what it rolls back to (a rollback here does not undo the other's commit)."""
        change(self)
        if self._open:
            change(SimpleNamespace(**self._snapshot))


class Concurrently:
    """A ``before_add`` hook: just before this insert, a concurrent twin commits ``change`` (once; the
    retry finds it committed). Survives the fake's snapshots as itself, so that it fires only once."""

    def __init__(self, uow: FakeThesisUnitOfWork, change: Callable[[Any], None]) -> None:
        self.uow = uow
        self.change = change
        self.fired = False

    def __deepcopy__(self, memo: dict[int, Any]) -> Concurrently:
        return self

    def __call__(self, _row: object) -> None:
        if not self.fired:
            self.fired = True
            self.uow.committed_concurrently(self.change)
