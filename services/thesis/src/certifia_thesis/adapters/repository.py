"""Candidates, missions, deposits, scheduled defences and outcomes in the thesis database.

Never commits: the unit of work does.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
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


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored datetime is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _mapping(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _candidate(row: Any) -> KnownCandidate:
    m = _mapping(row)
    withdrawn_at = m["withdrawn_at"] and _aware(m["withdrawn_at"])
    return KnownCandidate(
        **{k: m[k] for k in ("id", "lms_client", "path", "given_name", "family_name", "adapted_defence")},
        withdrawn_at=withdrawn_at,
        extra_time_factor=float(m["extra_time_factor"]),
    )


def _mission(row: Any) -> Mission:
    m = _mapping(row)
    return Mission(**{**m, "registered_at": _aware(m["registered_at"])})


def _defence(row: Any) -> Defence:
    m = _mapping(row)
    return Defence(
        **{
            **m,
            "jury": tuple(m["jury"]),
            "defended_at": _aware(m["defended_at"]),
            "recorded_at": _aware(m["recorded_at"]),
            "annulled_at": m["annulled_at"] and _aware(m["annulled_at"]),
        }
    )


def _deposit(row: Any) -> Deposit:
    m = _mapping(row)
    return Deposit(**{**m, "submitted_at": _aware(m["submitted_at"])})


def _schedule(row: Any) -> DefenceSchedule:
    m = _mapping(row)
    return DefenceSchedule(
        **{
            **m,
            "jury": tuple(JuryMember(j["name"], j["role"], j.get("account")) for j in m["jury"]),
            **{k: _aware(m[k]) for k in ("scheduled_at", "created_at", "updated_at")},
            "accommodation": m["accommodation"] and Accommodation(**m["accommodation"]),
            "cancelled_at": m["cancelled_at"] and _aware(m["cancelled_at"]),
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
            m["outcome"], m["reasoning"], m["resolved_by"], m["resolved_by_role"], _aware(m["resolved_at"])
        )
    fields = ("id", "candidate_id", "defence_id", "grounds", "opened_by", "opened_by_role")
    return Appeal(
        **{k: m[k] for k in fields},
        opened_at=_aware(m["opened_at"]),
        resolve_by=_aware(m["resolve_by"]),
        resolution=resolution,
    )


class ThesisRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- candidates -------------------------------------------------------------------------------
    def get_candidate(self, candidate_id: str, *, lock: bool = False) -> KnownCandidate | None:
        """``lock`` serialises one candidate's writes (SELECT ... FOR UPDATE; SQLite serialises anyway)."""
        query = select(candidates).where(candidates.c.id == candidate_id)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return _candidate(row) if row else None

    def save_candidate(self, candidate: KnownCandidate, enrolled_at: datetime | None) -> None:
        """Insert or update what candidate.enrolled says (a withdrawal stays recorded)."""
        values = {**asdict(candidate), "enrolled_at": enrolled_at}
        for kept in ("withdrawn_at", "extra_time_factor", "adapted_defence"):  # from their own events
            del values[kept]
        if self.get_candidate(candidate.id) is None:
            self.session.execute(insert(candidates).values(**values))
        else:
            self.session.execute(update(candidates).where(candidates.c.id == candidate.id).values(**values))

    # -- missions ---------------------------------------------------------------------------------
    def missions_of(self, candidate_id: str) -> list[Mission]:
        query = (
            select(missions)
            .where(missions.c.candidate_id == candidate_id)
            .order_by(missions.c.start_date, missions.c.registered_at)
        )
        return [_mission(r) for r in self.session.execute(query)]

    def get_mission(self, mission_id: str) -> Mission | None:
        row = self.session.execute(select(missions).where(missions.c.id == mission_id)).first()
        return _mission(row) if row else None

    def find_mission(self, candidate_id: str, company: str, start: Any, end: Any) -> Mission | None:
        row = self.session.execute(
            select(missions).where(
                missions.c.candidate_id == candidate_id,
                missions.c.company == company,
                missions.c.start_date == start,
                missions.c.end_date == end,
            )
        ).first()
        return _mission(row) if row else None

    def add_mission(self, mission: Mission) -> None:
        self.session.execute(insert(missions).values(**asdict(mission)))

    # -- defences ---------------------------------------------------------------------------------
    def defences_of(self, candidate_id: str) -> list[Defence]:
        query = select(defences).where(defences.c.candidate_id == candidate_id)
        return ordered([_defence(r) for r in self.session.execute(query)])

    def add_defence(self, defence: Defence) -> None:
        self.session.execute(insert(defences).values(**{**asdict(defence), "jury": list(defence.jury)}))

    def annul_defence(self, defence_id: str, at: datetime, appeal_id: str) -> None:
        self.session.execute(
            update(defences)
            .where(defences.c.id == defence_id)
            .values(annulled_at=at, annulled_by_appeal=appeal_id)
        )

    def get_defence(self, defence_id: str) -> Defence | None:
        row = self.session.execute(select(defences).where(defences.c.id == defence_id)).first()
        return _defence(row) if row else None

    # -- accommodations ---------------------------------------------------------------------------
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

    # -- withdrawal -------------------------------------------------------------------------------
    def record_withdrawal(self, candidate_id: str, withdrawn_at: datetime) -> bool:
        """Record the withdrawal once (the first one counts); False when already recorded."""
        result = self.session.execute(
            update(candidates)
            .where(candidates.c.id == candidate_id, candidates.c.withdrawn_at.is_(None))
            .values(withdrawn_at=withdrawn_at)
        )
        return bool(getattr(result, "rowcount", 0))

    # -- deposits ---------------------------------------------------------------------------------
    def deposits_of(self, candidate_id: str) -> list[Deposit]:
        query = (
            select(thesis_deposits)
            .where(thesis_deposits.c.candidate_id == candidate_id)
            .order_by(thesis_deposits.c.version)
        )
        return [_deposit(r) for r in self.session.execute(query)]

    def add_deposit(self, deposit: Deposit) -> None:
        self.session.execute(insert(thesis_deposits).values(**asdict(deposit)))

    # -- scheduled defences -----------------------------------------------------------------------
    def schedules_of(self, candidate_id: str) -> list[DefenceSchedule]:
        query = (
            select(defence_schedules)
            .where(defence_schedules.c.candidate_id == candidate_id)
            .order_by(defence_schedules.c.created_at)
        )
        return [_schedule(r) for r in self.session.execute(query)]

    def add_schedule(self, schedule: DefenceSchedule) -> None:
        self.session.execute(insert(defence_schedules).values(**_schedule_values(schedule)))

    def get_schedule(self, defence_id: str) -> DefenceSchedule | None:
        row = self.session.execute(
            select(defence_schedules).where(defence_schedules.c.id == defence_id)
        ).first()
        return _schedule(row) if row else None

    def replace_schedule(self, schedule: DefenceSchedule) -> None:
        values = _schedule_values(schedule)
        self.session.execute(
            update(defence_schedules).where(defence_schedules.c.id == schedule.id).values(**values)
        )

    # -- appeals against a failed defence ---------------------------------------------------------
    def appeals_of(self, candidate_id: str) -> list[Appeal]:
        query = (
            select(defence_appeals)
            .where(defence_appeals.c.candidate_id == candidate_id)
            .order_by(defence_appeals.c.opened_at)
        )
        return [_appeal(r) for r in self.session.execute(query)]

    def appeal_of_defence(self, defence_id: str) -> Appeal | None:
        query = select(defence_appeals).where(defence_appeals.c.defence_id == defence_id)
        row = self.session.execute(query).first()
        return _appeal(row) if row else None

    def add_appeal(self, appeal: Appeal) -> None:
        values = asdict(appeal)
        del values["resolution"]
        self.session.execute(insert(defence_appeals).values(**values))

    def record_resolution(self, appeal_id: str, resolution: Resolution) -> None:
        self.session.execute(
            update(defence_appeals).where(defence_appeals.c.id == appeal_id).values(**asdict(resolution))
        )
