"""Thesis use cases. Each runs in one unit of work: state change and event commit together."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from sqlalchemy.exc import IntegrityError

from certifia_shared import event_types as ev
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import utcnow
from certifia_thesis.adapters.repository import ThesisRepository
from certifia_thesis.domain.duration import assess_mission
from certifia_thesis.domain.model import (
    Defence,
    Mission,
    Outcome,
    ThesisAlreadyPassed,
    check_defence_allowed,
    check_same_mission,
    same_defence,
)


@dataclass(frozen=True)
class RegisterMission:
    candidate_id: str
    company: str
    title: str | None
    tutor: str | None
    start_date: date
    end_date: date
    fte: float


@dataclass(frozen=True)
class RecordDefence:
    candidate_id: str
    mission_id: str
    outcome: Outcome
    grade: float | None
    jury: tuple[str, ...]
    defended_at: datetime | None
    recorded_by: str


class UnknownCandidate(LookupError):
    pass


class UnknownMission(LookupError):
    pass


def register_mission(cmd: RegisterMission, *, uow: UnitOfWork) -> tuple[Mission, bool]:
    """Register a mission of >= 4 months FTE once; a repeat (same company and dates) returns it."""
    for _ in range(2):  # a concurrent twin may win the insert: then read theirs
        with uow:
            repo = ThesisRepository(uow.session)
            if repo.get_candidate(cmd.candidate_id, lock=True) is None:
                raise UnknownCandidate(cmd.candidate_id)
            length = assess_mission(cmd.start_date, cmd.end_date, cmd.fte)  # raises MissionRefused
            existing = repo.find_mission(cmd.candidate_id, cmd.company, cmd.start_date, cmd.end_date)
            if existing is not None:
                check_same_mission(existing, asdict(cmd))
                return existing, False
            mission = Mission(
                id=str(uuid.uuid4()), months_fte=length.months_fte, registered_at=utcnow(), **asdict(cmd)
            )
            repo.add_mission(mission)
            uow.emit(ev.MISSION_REGISTERED, subject=mission.candidate_id, data=_registered_payload(mission))
            try:
                uow.commit()
            except IntegrityError:
                continue
            return mission, True
    raise RuntimeError("mission registration kept conflicting; retry the request")


def record_defence(
    cmd: RecordDefence, *, uow: UnitOfWork, now: Callable[[], datetime] = utcnow
) -> tuple[Defence, bool]:
    """Record a held defence; a passed one is final, a failed one allows a resit."""
    with uow:
        repo = ThesisRepository(uow.session)
        if repo.get_candidate(cmd.candidate_id, lock=True) is None:
            raise UnknownCandidate(cmd.candidate_id)
        mission = repo.get_mission(cmd.mission_id)
        if mission is None or mission.candidate_id != cmd.candidate_id:
            raise UnknownMission(cmd.mission_id)
        at = now()
        defence = Defence(
            id=str(uuid.uuid4()),
            candidate_id=cmd.candidate_id,
            mission_id=cmd.mission_id,
            outcome=cmd.outcome,
            grade=cmd.grade,
            jury=cmd.jury,
            defended_at=(cmd.defended_at or at).astimezone(UTC),  # stored as UTC (SQLite drops offsets)
            recorded_at=at,
            recorded_by=cmd.recorded_by,
        )
        previous = repo.defences_of(cmd.candidate_id)
        repeated = same_defence(previous, defence)
        if repeated is not None:
            return repeated, False
        check_defence_allowed(previous, defence.defended_at, at)
        repo.add_defence(defence)
        uow.emit(ev.THESIS_DEFENDED, subject=defence.candidate_id, data=_defended_payload(defence))
        try:
            uow.commit()
        except IntegrityError as exc:  # a concurrent passed defence won (uq_defences_one_pass)
            raise ThesisAlreadyPassed() from exc
        return defence, True


def _registered_payload(m: Mission) -> dict[str, object]:
    return {
        "mission_id": m.id,
        "candidate_id": m.candidate_id,
        "company": m.company,
        "start_date": m.start_date.isoformat(),
        "end_date": m.end_date.isoformat(),
        "fte": m.fte,
        "months_fte": m.months_fte,
        "registered_at": m.registered_at.isoformat(),
    }


def _defended_payload(d: Defence) -> dict[str, object]:
    return {
        "defence_id": d.id,
        "candidate_id": d.candidate_id,
        "mission_id": d.mission_id,
        "outcome": d.outcome,
        "grade": d.grade,
        "jury": list(d.jury),
        "defended_at": d.defended_at.isoformat(),
    }
