"""Candidates, missions, deposits, scheduled defences, outcomes and appeals in the thesis database: one
repository per table, each on the unit of work's session (``uow.candidates``, ``uow.missions``, ...).

Never commits: the unit of work does. Timestamps come back aware in UTC (the columns are ``UtcDateTime``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from certifia_thesis.adapters.orm import (
    candidates,
    defence_appeals,
    defence_schedules,
    defences,
    missions,
    thesis_deposits,
)
from certifia_thesis.domain.accommodation import Accommodation
from certifia_thesis.domain.appeals import Appeal, Resolution
from certifia_thesis.domain.deposit import Deposit
from certifia_thesis.domain.model import Defence, KnownCandidate, Mission, ordered
from certifia_thesis.domain.schedule import DefenceSchedule, JuryMember


def _mapping(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _candidate(row: Any) -> KnownCandidate:
    m = _mapping(row)
    return KnownCandidate(
        **{
            k: m[k]
            for k in (
                "id",
                "lms_client",
                "path",
                "given_name",
                "family_name",
                "adapted_defence",
                "withdrawn_at",
            )
        },
        extra_time_factor=float(m["extra_time_factor"]),
    )


def _mission(row: Any) -> Mission:
    return Mission(**_mapping(row))


def _defence(row: Any) -> Defence:
    m = _mapping(row)
    return Defence(**{**m, "jury": tuple(m["jury"])})


def _deposit(row: Any) -> Deposit:
    return Deposit(**_mapping(row))


def _schedule(row: Any) -> DefenceSchedule:
    m = _mapping(row)
    return DefenceSchedule(
        **{
            **m,
            "jury": tuple(JuryMember(j["name"], j["role"], j.get("account")) for j in m["jury"]),
            "accommodation": m["accommodation"] and Accommodation(**m["accommodation"]),
        }
    )


def _schedule_values(s: DefenceSchedule) -> dict[str, Any]:
    jury = [{k: v for k, v in asdict(j).items() if v is not None} for j in s.jury]
    return {**asdict(s), "jury": jury, "accommodation": s.accommodation and asdict(s.accommodation)}


def _appeal(row: Any) -> Appeal:
    m = _mapping(row)
    resolution = None
    if m["outcome"] is not None:
        resolution = Resolution(
            m["outcome"], m["reasoning"], m["resolved_by"], m["resolved_by_role"], m["resolved_at"]
        )
    fields = ("id", "candidate_id", "defence_id", "grounds", "opened_by", "opened_by_role", "opened_at")
    return Appeal(**{k: m[k] for k in fields}, resolve_by=m["resolve_by"], resolution=resolution)


class CandidateRepository:
    """The candidates known from enrolment's events, with their withdrawal and accommodation."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, candidate_id: str, *, lock: bool = False) -> KnownCandidate | None:
        """``lock`` serialises one candidate's writes (SELECT ... FOR UPDATE; SQLite serialises anyway)."""
        query = select(candidates).where(candidates.c.id == candidate_id)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return _candidate(row) if row else None

    def save(self, candidate: KnownCandidate, enrolled_at: datetime | None) -> None:
        """Insert or update what candidate.enrolled says (a withdrawal stays recorded)."""
        values = {**asdict(candidate), "enrolled_at": enrolled_at}
        for kept in ("withdrawn_at", "extra_time_factor", "adapted_defence"):  # from their own events
            del values[kept]
        if self.get(candidate.id) is None:
            self.session.execute(insert(candidates).values(**values))
        else:
            self.session.execute(update(candidates).where(candidates.c.id == candidate.id).values(**values))

    def record_accommodation(
        self, candidate_id: str, extra_time_factor: float, adapted_defence: str | None, granted_at: datetime
    ) -> bool:
        """The latest grant counts: False (nothing changed) for a grant older than the one recorded."""
        c = candidates.c
        result = self.session.execute(
            update(candidates)
            .where(
                c.id == candidate_id,
                c.accommodation_granted_at.is_(None) | (c.accommodation_granted_at <= granted_at),
            )
            .values(
                extra_time_factor=extra_time_factor,
                adapted_defence=adapted_defence,
                accommodation_granted_at=granted_at,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    def record_withdrawal(self, candidate_id: str, withdrawn_at: datetime) -> bool:
        """Record the withdrawal once (the first one counts); False when already recorded."""
        result = self.session.execute(
            update(candidates)
            .where(candidates.c.id == candidate_id, candidates.c.withdrawn_at.is_(None))
            .values(withdrawn_at=withdrawn_at)
        )
        return bool(getattr(result, "rowcount", 0))


class MissionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, candidate_id: str) -> list[Mission]:
        """The candidate's missions by start date, then registration."""
        query = (
            select(missions)
            .where(missions.c.candidate_id == candidate_id)
            .order_by(missions.c.start_date, missions.c.registered_at)
        )
        return [_mission(r) for r in self.session.execute(query)]

    def get(self, mission_id: str) -> Mission | None:
        row = self.session.execute(select(missions).where(missions.c.id == mission_id)).first()
        return _mission(row) if row else None

    def find(self, candidate_id: str, company: str, start: date, end: date) -> Mission | None:
        """The mission of that identity (uq_missions_identity), if registered."""
        row = self.session.execute(
            select(missions).where(
                missions.c.candidate_id == candidate_id,
                missions.c.company == company,
                missions.c.start_date == start,
                missions.c.end_date == end,
            )
        ).first()
        return _mission(row) if row else None

    def add(self, mission: Mission) -> None:
        self.session.execute(insert(missions).values(**asdict(mission)))


class DefenceRepository:
    """The outcomes recorded (a defence keeps the id of the scheduled defence)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, candidate_id: str) -> list[Defence]:
        """The candidate's outcomes in the order they were held (:func:`~certifia_thesis.domain.model.ordered`)."""
        query = select(defences).where(defences.c.candidate_id == candidate_id)
        return ordered([_defence(r) for r in self.session.execute(query)])

    def get(self, defence_id: str) -> Defence | None:
        row = self.session.execute(select(defences).where(defences.c.id == defence_id)).first()
        return _defence(row) if row else None

    def add(self, defence: Defence) -> None:
        self.session.execute(insert(defences).values(**{**asdict(defence), "jury": list(defence.jury)}))

    def annul(self, defence_id: str, at: datetime, appeal_id: str) -> None:
        self.session.execute(
            update(defences)
            .where(defences.c.id == defence_id)
            .values(annulled_at=at, annulled_by_appeal=appeal_id)
        )


class DepositRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, candidate_id: str) -> list[Deposit]:
        """Every version deposited, oldest first."""
        query = (
            select(thesis_deposits)
            .where(thesis_deposits.c.candidate_id == candidate_id)
            .order_by(thesis_deposits.c.version)
        )
        return [_deposit(r) for r in self.session.execute(query)]

    def add(self, deposit: Deposit) -> None:
        self.session.execute(insert(thesis_deposits).values(**asdict(deposit)))


class ScheduleRepository:
    """The defences scheduled (a resit adds one; rescheduling replaces the one waiting)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, candidate_id: str) -> list[DefenceSchedule]:
        """The candidate's scheduled defences, first scheduled first."""
        query = (
            select(defence_schedules)
            .where(defence_schedules.c.candidate_id == candidate_id)
            .order_by(defence_schedules.c.created_at)
        )
        return [_schedule(r) for r in self.session.execute(query)]

    def get(self, defence_id: str) -> DefenceSchedule | None:
        row = self.session.execute(
            select(defence_schedules).where(defence_schedules.c.id == defence_id)
        ).first()
        return _schedule(row) if row else None

    def add(self, schedule: DefenceSchedule) -> None:
        self.session.execute(insert(defence_schedules).values(**_schedule_values(schedule)))

    def replace(self, schedule: DefenceSchedule) -> None:
        values = _schedule_values(schedule)
        self.session.execute(
            update(defence_schedules).where(defence_schedules.c.id == schedule.id).values(**values)
        )


class AppealRepository:
    """Appeals against a failed defence (one per defence: uq_defence_appeals_defence)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, candidate_id: str) -> list[Appeal]:
        """The candidate's appeals, oldest first."""
        query = (
            select(defence_appeals)
            .where(defence_appeals.c.candidate_id == candidate_id)
            .order_by(defence_appeals.c.opened_at)
        )
        return [_appeal(r) for r in self.session.execute(query)]

    def of_defence(self, defence_id: str) -> Appeal | None:
        query = select(defence_appeals).where(defence_appeals.c.defence_id == defence_id)
        row = self.session.execute(query).first()
        return _appeal(row) if row else None

    def add(self, appeal: Appeal) -> None:
        values = asdict(appeal)
        del values["resolution"]
        self.session.execute(insert(defence_appeals).values(**values))

    def record_resolution(self, appeal_id: str, resolution: Resolution) -> None:
        self.session.execute(
            update(defence_appeals).where(defence_appeals.c.id == appeal_id).values(**asdict(resolution))
        )
