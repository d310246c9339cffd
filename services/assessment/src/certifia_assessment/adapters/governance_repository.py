"""What governance reads and writes: VAE decisions, accommodations, the thesis service's audit entries. Never
commits: the unit of work does."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from certifia_assessment.adapters.orm import accommodations, thesis_audit, vae_decisions
from certifia_assessment.domain.governance import Accommodation, AuditEntry
from certifia_assessment.domain.vae import VaeDecision
from certifia_shared.db import insert_ignoring_conflict


class GovernanceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # VAE decisions -----------------------------------------------------------------------------------
    def add_vae_decision(self, d: VaeDecision) -> None:
        values = {**asdict(d), "competencies_validated": list(d.competencies_validated)}
        self.session.execute(insert(vae_decisions).values(**values))

    def vae_decisions_of(self, candidate_id: str, bloc: str | None = None) -> list[VaeDecision]:
        query = select(vae_decisions).where(vae_decisions.c.candidate_id == candidate_id)
        if bloc:
            query = query.where(vae_decisions.c.bloc == bloc)
        query = query.order_by(vae_decisions.c.decided_at, vae_decisions.c.id)
        return [_vae(r) for r in self.session.execute(query)]

    def latest_vae_decision(self, candidate_id: str, bloc: str) -> VaeDecision | None:
        decisions = self.vae_decisions_of(candidate_id, bloc)
        return decisions[-1] if decisions else None

    # accommodations ----------------------------------------------------------------------------------
    def add_accommodation(self, a: Accommodation) -> None:
        """Once per grant (a replay of the same grant adds nothing)."""
        insert_ignoring_conflict(self.session, accommodations, asdict(a))

    def accommodations_of(self, candidate_id: str) -> list[Accommodation]:
        rows = self.session.execute(
            select(accommodations)
            .where(accommodations.c.candidate_id == candidate_id)
            .order_by(accommodations.c.granted_at, accommodations.c.id)
        )
        return [Accommodation(**dict(r._mapping)) for r in rows]

    def extra_time_factor(self, candidate_id: str) -> float | None:
        """The factor of the grant in force (the latest), None without any grant."""
        grants = self.accommodations_of(candidate_id)
        return grants[-1].extra_time_factor if grants else None

    # the thesis service's facts (certifia.thesis), for the audit trail --------------------------------
    def add_thesis_entry(self, event_id: str, candidate_id: str, entry: AuditEntry) -> None:
        """Once per event (a replay of the same event adds nothing)."""
        columns = set(thesis_audit.c.keys())
        values = {k: v for k, v in asdict(entry).items() if k in columns}
        values |= {"event_id": event_id, "candidate_id": candidate_id}
        insert_ignoring_conflict(self.session, thesis_audit, values)

    def thesis_entries_of(self, candidate_id: str) -> list[AuditEntry]:
        rows = self.session.execute(
            select(thesis_audit)
            .where(thesis_audit.c.candidate_id == candidate_id)
            .order_by(thesis_audit.c.at, thesis_audit.c.event_id)
        )
        return [
            AuditEntry(**{k: v for k, v in r._mapping.items() if k not in ("event_id", "candidate_id")})
            for r in rows
        ]


def _vae(row: Any) -> VaeDecision:
    values = dict(row._mapping)
    values["competencies_validated"] = tuple(values["competencies_validated"] or ())
    return VaeDecision(**values)
