"""Candidates' progress, certificates and diplomas in the certification database. Never commits."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from certifia_certification.adapters.orm import bloc_certificates, bloc_passes, candidates, diplomas
from certifia_certification.domain.model import (
    BlocCertificate,
    BlocPass,
    CandidateProgress,
    Defence,
    Diploma,
    Enrolment,
    as_utc,
)


def insert_ignoring_conflict(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (on the primary key), for SQLite and PostgreSQL."""
    keys = [c.name for c in table.primary_key.columns]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))
    elif dialect == "sqlite":
        session.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))
    else:  # pragma: no cover - the service runs on SQLite or PostgreSQL
        where = [table.c[k] == values[k] for k in keys]
        if session.execute(select(*[table.c[k] for k in keys]).where(*where)).first() is None:
            session.execute(insert(table).values(**values))


def _dt(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


class ProgressRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self, candidate_id: str, *, now: datetime) -> CandidateProgress:
        """The candidate's progress, created if new, locked until the transaction ends.

        The row lock serialises every change to one candidate (PostgreSQL; SQLite has one writer anyway),
        so two events applied at once cannot each miss the other's half of the rule.
        """
        insert_ignoring_conflict(
            self.session, candidates, {"candidate_id": candidate_id, "first_seen_at": now, "updated_at": now}
        )
        row = self.session.execute(
            select(candidates).where(candidates.c.candidate_id == candidate_id).with_for_update()
        ).one()
        return self._load(row._mapping)

    def get(self, candidate_id: str) -> CandidateProgress | None:
        row = self.session.execute(
            select(candidates).where(candidates.c.candidate_id == candidate_id)
        ).first()
        return self._load(row._mapping) if row else None

    def _load(self, m: Any) -> CandidateProgress:
        cid = m["candidate_id"]
        progress = CandidateProgress(
            candidate_id=cid, option=m["option"], option_chosen_at=_dt(m["option_chosen_at"])
        )
        if m["path"] is not None:
            progress.enrolment = Enrolment(
                given_name=m["given_name"],
                family_name=m["family_name"],
                email=m["email"],
                path=m["path"],
                enrolled_at=as_utc(m["enrolled_at"]),
            )
        if m["thesis_defence_id"] is not None:
            progress.thesis = Defence(
                defence_id=m["thesis_defence_id"],
                mission_id=m["thesis_mission_id"],
                outcome=m["thesis_outcome"],
                defended_at=as_utc(m["thesis_defended_at"]),
            )
        for r in self.session.execute(select(bloc_passes).where(bloc_passes.c.candidate_id == cid)):
            progress.blocs[r.bloc] = BlocPass(
                bloc=r.bloc,
                via=r.via,
                passed_at=as_utc(r.passed_at),
                referential_version=r.referential_version,
                competencies=tuple(json.loads(r.competencies)),
            )
        for r in self.session.execute(
            select(bloc_certificates).where(bloc_certificates.c.candidate_id == cid)
        ):
            progress.certificates[r.bloc] = BlocCertificate(
                r.certificate_id, cid, r.bloc, as_utc(r.issued_at)
            )
        row = self.session.execute(select(diplomas).where(diplomas.c.candidate_id == cid)).first()
        progress.diploma = _diploma(row._mapping) if row else None
        return progress

    def save(self, progress: CandidateProgress, *, now: datetime) -> None:
        """Write the candidate's own facts (enrolment, option, thesis); passes and credentials are added."""
        e, t = progress.enrolment, progress.thesis
        self.session.execute(
            update(candidates)
            .where(candidates.c.candidate_id == progress.candidate_id)
            .values(
                given_name=e.given_name if e else None,
                family_name=e.family_name if e else None,
                email=e.email if e else None,
                path=e.path if e else None,
                enrolled_at=e.enrolled_at if e else None,
                option=progress.option,
                option_chosen_at=progress.option_chosen_at,
                thesis_defence_id=t.defence_id if t else None,
                thesis_mission_id=t.mission_id if t else None,
                thesis_outcome=t.outcome if t else None,
                thesis_defended_at=t.defended_at if t else None,
                updated_at=now,
            )
        )

    def add_bloc_pass(self, candidate_id: str, p: BlocPass) -> None:
        self.session.execute(
            insert(bloc_passes).values(
                candidate_id=candidate_id,
                bloc=p.bloc,
                via=p.via,
                passed_at=p.passed_at,
                referential_version=p.referential_version,
                competencies=json.dumps(list(p.competencies)),
            )
        )

    def add_certificate(self, c: BlocCertificate) -> None:
        self.session.execute(
            insert(bloc_certificates).values(
                certificate_id=c.certificate_id,
                candidate_id=c.candidate_id,
                bloc=c.bloc,
                issued_at=c.issued_at,
            )
        )

    def add_diploma(self, d: Diploma) -> None:
        self.session.execute(
            insert(diplomas).values(
                diploma_id=d.diploma_id,
                candidate_id=d.candidate_id,
                path=d.path,
                option=d.option,
                blocs=json.dumps(list(d.blocs)),
                thesis_defence_id=d.thesis_defence_id,
                issued_at=d.issued_at,
                credential=json.dumps(d.credential, ensure_ascii=False),
            )
        )

    def diploma(self, diploma_id: str) -> Diploma | None:
        row = self.session.execute(select(diplomas).where(diplomas.c.diploma_id == diploma_id)).first()
        return _diploma(row._mapping) if row else None


def _diploma(m: Any) -> Diploma:
    return Diploma(
        diploma_id=m["diploma_id"],
        candidate_id=m["candidate_id"],
        path=m["path"],
        option=m["option"],
        blocs=tuple(json.loads(m["blocs"])),
        thesis_defence_id=m["thesis_defence_id"],
        issued_at=as_utc(m["issued_at"]),
        credential=json.loads(m["credential"]),
    )
