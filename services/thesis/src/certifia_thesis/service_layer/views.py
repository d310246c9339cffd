"""Read side: a candidate's thesis as the API shows it (no state change, nothing emitted). Each query runs
in its own unit of work and reads through its repositories."""

from __future__ import annotations

from dataclasses import dataclass

from certifia_thesis.domain.appeals import Appeal, NoAppeal
from certifia_thesis.domain.deposit import Deposit, latest
from certifia_thesis.domain.model import Defence, KnownCandidate, Mission, Status, thesis_status
from certifia_thesis.domain.schedule import DefenceSchedule, pending
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork


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


def thesis_of(candidate_id: str, *, uow: ThesisUnitOfWork) -> ThesisView | None:
    with uow:
        candidate = uow.candidates.get(candidate_id)
        if candidate is None:
            return None
        missions = uow.missions.of(candidate_id)
        defences = uow.defences.of(candidate_id)
        deposits = uow.deposits.of(candidate_id)
        schedules = uow.schedules.of(candidate_id)
        appeals = uow.appeals.of(candidate_id)
    waiting = pending(schedules, defences)
    status = thesis_status(missions, defences, deposited=bool(deposits), scheduled=waiting is not None)
    return ThesisView(candidate, status, missions, defences, deposits, schedules, waiting, appeals)


def defence_of(defence_id: str, *, uow: ThesisUnitOfWork) -> Defence | None:
    with uow:
        return uow.defences.get(defence_id)


def deposit_of(candidate_id: str, version: int | None, *, uow: ThesisUnitOfWork) -> Deposit | None:
    """The deposit of that version, or the latest one."""
    with uow:
        deposits = uow.deposits.of(candidate_id)
    if version is None:
        return latest(deposits)
    return next((d for d in deposits if d.version == version), None)


def appeal_of(defence_id: str, *, uow: ThesisUnitOfWork) -> Appeal:
    """The appeal against that defence; :class:`NoAppeal` when none contests it."""
    with uow:
        appeal = uow.appeals.of_defence(defence_id)
    if appeal is None:
        raise NoAppeal(defence_id)
    return appeal
