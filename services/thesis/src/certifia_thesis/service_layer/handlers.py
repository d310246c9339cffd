"""Registering the company mission (one unit of work: the mission and mission.registered commit together),
and what every thesis use case refuses alike: an unknown candidate, a withdrawn candidate."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date

from certifia_shared import event_types as ev
from certifia_shared.db import retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_thesis.domain.eligibility import assess_mission
from certifia_thesis.domain.model import (
    KnownCandidate,
    Mission,
    UnknownCandidate,
    check_active,
    check_same_mission,
)
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork


@dataclass(frozen=True)
class RegisterMission:
    candidate_id: str
    company: str
    title: str | None
    tutor: str | None
    start_date: date
    end_date: date
    fte: float


def locked_candidate(uow: ThesisUnitOfWork, candidate_id: str) -> KnownCandidate:
    """The candidate, locked for this transaction (one candidate's writes in turn); refused if unknown."""
    candidate = uow.candidates.get(candidate_id, lock=True)
    if candidate is None:
        raise UnknownCandidate(candidate_id)
    return candidate


def active_candidate(uow: ThesisUnitOfWork, candidate_id: str) -> KnownCandidate:
    """The candidate, locked for this transaction; refused if unknown or withdrawn."""
    candidate = locked_candidate(uow, candidate_id)
    check_active(candidate)
    return candidate


def register_mission(cmd: RegisterMission, *, uow: ThesisUnitOfWork) -> tuple[Mission, bool]:
    """Register a mission of >= 4 months FTE once; a repeat (same company and dates) returns it (a
    concurrent twin may win the insert: the retry reads theirs)."""
    return retry_on_conflict(lambda: _register_mission_once(cmd, uow=uow))


def _register_mission_once(cmd: RegisterMission, *, uow: ThesisUnitOfWork) -> tuple[Mission, bool]:
    with uow:
        active_candidate(uow, cmd.candidate_id)  # a withdrawn candidate starts no new mission
        length = assess_mission(cmd.start_date, cmd.end_date, cmd.fte)  # raises MissionRefused
        existing = uow.missions.find(cmd.candidate_id, cmd.company, cmd.start_date, cmd.end_date)
        if existing is not None:
            check_same_mission(existing, asdict(cmd))
            return existing, False
        mission = Mission(
            id=str(uuid.uuid4()), months_fte=length.months_fte, registered_at=utcnow(), **asdict(cmd)
        )
        uow.missions.add(mission)
        uow.emit(ev.MISSION_REGISTERED, subject=mission.candidate_id, data=_registered_payload(mission))
        uow.commit()
        return mission, True


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
