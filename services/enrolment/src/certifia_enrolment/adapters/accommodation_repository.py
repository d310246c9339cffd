"""Accommodations in the enrolment database. Never commits: the unit of work does."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from certifia_enrolment.adapters.orm import accommodations
from certifia_enrolment.domain.accommodations import Accommodation


def _to_domain(row: Any) -> Accommodation:
    fields = dict(row._mapping)
    fields["adapted_formats"] = tuple(json.loads(fields["adapted_formats"]))
    return Accommodation(**fields)


class AccommodationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def grant(self, accommodation: Accommodation) -> None:
        """Store the grant as the one in force; the one it replaces stays, superseded at the same moment."""
        self.session.execute(
            update(accommodations)
            .where(
                accommodations.c.candidate_id == accommodation.candidate_id,
                accommodations.c.superseded_at.is_(None),
            )
            .values(superseded_at=accommodation.granted_at)
        )
        values = {
            c.name: getattr(accommodation, c.name) for c in accommodations.c if c.name != "adapted_formats"
        }
        self.session.execute(
            insert(accommodations).values(
                **values, adapted_formats=json.dumps(list(accommodation.adapted_formats))
            )
        )

    def history(self, candidate_id: str) -> list[Accommodation]:
        """Every grant for the candidate, the latest (the one in force) first."""
        rows = self.session.execute(
            select(accommodations)
            .where(accommodations.c.candidate_id == candidate_id)
            .order_by(accommodations.c.granted_at.desc(), accommodations.c.superseded_at.is_(None).desc())
        )
        return [_to_domain(r) for r in rows]
