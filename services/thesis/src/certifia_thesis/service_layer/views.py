"""Read side: a candidate's thesis as the API shows it (no state change, nothing emitted)."""

from __future__ import annotations

from dataclasses import dataclass

from certifia_shared.db import UnitOfWork
from certifia_thesis.adapters.repository import ThesisRepository
from certifia_thesis.domain.appeals import Appeal
from certifia_thesis.domain.deposit import Deposit, latest
from certifia_thesis.domain.model import Defence, KnownCandidate, Mission, Status, thesis_status
from certifia_thesis.domain.schedule import DefenceSchedule, pending


@dataclass(frozen=True)
class ThesisView:
    candidate: KnownCandidate
    status: Status
    missions: list[Mission]
    defences: list[Defence]
    deposits: list[Deposit]  # every version, oldest first; the latest counts
    schedules: list[DefenceSchedule]  # every scheduled defence (a resit adds one), oldest first
    scheduled: DefenceSchedule | None  # the one waiting for its outcome (a cancelled one waits for none)
    appeals: list[Appeal]  # against failed defences, oldest first


def known_candidate(candidate_id: str, *, uow: UnitOfWork) -> KnownCandidate | None:
    with uow:
        return ThesisRepository(uow.session).get_candidate(candidate_id)


def thesis_of(candidate_id: str, *, uow: UnitOfWork) -> ThesisView | None:
    with uow:
        repo = ThesisRepository(uow.session)
        candidate = repo.get_candidate(candidate_id)
        if candidate is None:
            return None
        missions = repo.missions_of(candidate_id)
        defences = repo.defences_of(candidate_id)
        deposits = repo.deposits_of(candidate_id)
        schedules = repo.schedules_of(candidate_id)
        appeals = repo.appeals_of(candidate_id)
    waiting = pending(schedules, defences)
    status = thesis_status(missions, defences, deposited=bool(deposits), scheduled=waiting is not None)
    return ThesisView(candidate, status, missions, defences, deposits, schedules, waiting, appeals)


def defence_of(defence_id: str, *, uow: UnitOfWork) -> Defence | None:
    with uow:
        return ThesisRepository(uow.session).get_defence(defence_id)


def deposit_of(candidate_id: str, version: int | None, *, uow: UnitOfWork) -> Deposit | None:
    """The deposit of that version, or the latest one."""
    with uow:
        deposits = ThesisRepository(uow.session).deposits_of(candidate_id)
    if version is None:
        return latest(deposits)
    return next((d for d in deposits if d.version == version), None)
