"""Candidates, missions and defences in the thesis database. Never commits: the unit of work does."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from certifia_thesis.adapters.orm import candidates, defences, missions
from certifia_thesis.domain.model import Defence, KnownCandidate, Mission, ordered


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored datetime is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _mapping(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _candidate(row: Any) -> KnownCandidate:
    m = _mapping(row)
    return KnownCandidate(**{k: m[k] for k in ("id", "lms_client", "path", "given_name", "family_name")})


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
        }
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
        values = {**asdict(candidate), "enrolled_at": enrolled_at}
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
