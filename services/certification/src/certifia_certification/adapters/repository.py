"""Candidates' progress, certificates and diplomas in the certification database. Never commits."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, union_all, update
from sqlalchemy.orm import Session

from certifia_certification.adapters.orm import (
    bloc_certificates,
    bloc_passes,
    candidates,
    diplomas,
    status_lists,
)
from certifia_certification.domain.model import (
    BlocCertificate,
    BlocPass,
    CandidateProgress,
    Defence,
    Diploma,
    Enrolment,
)
from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.signing import b64url, b64url_decode
from certifia_certification.domain.status_list import LIST_SIZE, PURPOSE, StatusEntry, shuffled_index
from certifia_certification.domain.suspension import Suspension
from certifia_shared.db import insert_ignoring_conflict


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
            candidate_id=cid,
            option=m["option"],
            option_chosen_at=m["option_chosen_at"],
            withdrawn_at=m["withdrawn_at"],
        )
        if m["path"] is not None:
            progress.enrolment = Enrolment(
                given_name=m["given_name"],
                family_name=m["family_name"],
                email=m["email"],
                path=m["path"],
                enrolled_at=m["enrolled_at"],
            )
        if m["thesis_defence_id"] is not None:
            progress.thesis = Defence(
                defence_id=m["thesis_defence_id"],
                mission_id=m["thesis_mission_id"],
                outcome=m["thesis_outcome"],
                defended_at=m["thesis_defended_at"],
            )
        for r in self.session.execute(select(bloc_passes).where(bloc_passes.c.candidate_id == cid)):
            progress.blocs[r.bloc] = BlocPass(
                bloc=r.bloc,
                via=r.via,
                passed_at=r.passed_at,
                referential_version=r.referential_version,
                competencies=tuple(json.loads(r.competencies)),
                earned_at=r.earned_at,
            )
        for r in self.session.execute(
            select(bloc_certificates).where(bloc_certificates.c.candidate_id == cid)
        ):
            progress.certificates[r.bloc] = _certificate(r._mapping)
        row = self.session.execute(select(diplomas).where(diplomas.c.candidate_id == cid)).first()
        progress.diploma = _diploma(row._mapping) if row else None
        return progress

    def set_tenant(self, candidate_id: str, lms_client: str) -> None:
        """The LMS client that enrolled the candidate (the tenant whose tokens may see them)."""
        self.session.execute(
            update(candidates).where(candidates.c.candidate_id == candidate_id).values(lms_client=lms_client)
        )

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
                withdrawn_at=progress.withdrawn_at,
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
                earned_at=p.earned_at,
            )
        )

    def add_certificate(self, c: BlocCertificate) -> None:
        self.session.execute(
            insert(bloc_certificates).values(
                certificate_id=c.certificate_id,
                candidate_id=c.candidate_id,
                bloc=c.bloc,
                issued_at=c.issued_at,
                credential=json.dumps(c.credential, ensure_ascii=False) if c.credential else None,
                status_list_id=c.status.list_id if c.status else None,
                status_list_index=c.status.index if c.status else None,
                suspension_list_id=c.suspension_status.list_id if c.suspension_status else None,
                suspension_list_index=c.suspension_status.index if c.suspension_status else None,
            )
        )

    def certificate(self, certificate_id: str, *, lock: bool = False) -> BlocCertificate | None:
        """The bloc certificate; ``lock``: its row stays locked until the transaction ends (PostgreSQL)."""
        query = select(bloc_certificates).where(bloc_certificates.c.certificate_id == certificate_id)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return _certificate(row._mapping) if row else None

    def certificates_of(self, candidate_id: str, *, lock: bool = False) -> list[BlocCertificate]:
        """The candidate's bloc certificates, oldest first."""
        query = (
            select(bloc_certificates)
            .where(bloc_certificates.c.candidate_id == candidate_id)
            .order_by(bloc_certificates.c.issued_at, bloc_certificates.c.bloc)
        )
        rows = self.session.execute(query.with_for_update() if lock else query)
        return [_certificate(r._mapping) for r in rows]

    def record_certificate_revocation(self, certificate_id: str, r: Revocation) -> bool:
        """Mark the bloc certificate revoked unless it already is; False when it already was."""
        result = self.session.execute(
            update(bloc_certificates)
            .where(
                bloc_certificates.c.certificate_id == certificate_id, bloc_certificates.c.revoked_at.is_(None)
            )
            .values(
                revoked_at=r.revoked_at,
                revocation_reason=r.reason,
                revoked_by=r.revoked_by,
                revoked_by_role=r.revoked_by_role,
            )
        )
        return cast(CursorResult[Any], result).rowcount == 1

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
                status_list_id=d.status.list_id if d.status else None,
                status_list_index=d.status.index if d.status else None,
                suspension_list_id=d.suspension_status.list_id if d.suspension_status else None,
                suspension_list_index=d.suspension_status.index if d.suspension_status else None,
            )
        )

    def diploma(self, diploma_id: str, *, lock: bool = False) -> Diploma | None:
        """The diploma; ``lock``: its row stays locked until the transaction ends (PostgreSQL)."""
        query = select(diplomas).where(diplomas.c.diploma_id == diploma_id)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return _diploma(row._mapping) if row else None

    def record_revocation(self, diploma_id: str, r: Revocation) -> bool:
        """Mark the diploma revoked unless it already is; False when another transaction revoked it first."""
        result = self.session.execute(
            update(diplomas)
            .where(diplomas.c.diploma_id == diploma_id, diplomas.c.revoked_at.is_(None))
            .values(
                revoked_at=r.revoked_at,
                revocation_reason=r.reason,
                revoked_by=r.revoked_by,
                revoked_by_role=r.revoked_by_role,
            )
        )
        return cast(CursorResult[Any], result).rowcount == 1


class StatusListRepository:
    """Status lists (revocation, suspension): entries handed to new diplomas and bloc certificates, and the
    set entries of a list (revoked, or suspended now)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def allocate(self, *, now: datetime, purpose: str = PURPOSE) -> StatusEntry:
        """The next entry of the oldest list of ``purpose`` with room (a new list when none has), in the caller's
        transaction: the list row stays locked until it ends, so two diplomas never get one entry
        (``uq_diplomas_status_entry`` is the last line). Two first-ever allocations at once may each open
        a list; both lists are then filled in turn."""
        row = self.session.execute(
            select(status_lists)
            .where(status_lists.c.purpose == purpose, status_lists.c.allocated < status_lists.c.size)
            .order_by(status_lists.c.created_at, status_lists.c.list_id)
            .limit(1)
            .with_for_update()
        ).first()
        if row is None:
            list_id, key, size, position = str(uuid.uuid4()), secrets.token_bytes(16), LIST_SIZE, 0
            self.session.execute(
                insert(status_lists).values(
                    list_id=list_id,
                    purpose=purpose,
                    size=size,
                    allocated=1,
                    index_key=b64url(key),
                    created_at=now,
                )
            )
        else:
            list_id, key, size, position = (
                row.list_id,
                b64url_decode(row.index_key),
                row.size,
                row.allocated,
            )
            self.session.execute(
                update(status_lists).where(status_lists.c.list_id == list_id).values(allocated=position + 1)
            )
        return StatusEntry(list_id, shuffled_index(position, key=key, size=size))

    def size(self, list_id: str) -> int | None:
        """The list's number of entries; None when this service has no such list."""
        return self.session.execute(
            select(status_lists.c.size).where(status_lists.c.list_id == list_id)
        ).scalar_one_or_none()

    def purpose(self, list_id: str) -> str | None:
        """The list's purpose (``revocation`` or ``suspension``); None when this service has no such list."""
        return self.session.execute(
            select(status_lists.c.purpose).where(status_lists.c.list_id == list_id)
        ).scalar_one_or_none()

    def revoked_indexes(self, list_id: str) -> list[int]:
        """The entries of revoked diplomas and bloc certificates in this revocation list."""
        query = union_all(
            *(
                select(t.c.status_list_index).where(
                    t.c.status_list_id == list_id, t.c.revoked_at.is_not(None)
                )
                for t in (diplomas, bloc_certificates)
            )
        )
        return list(self.session.execute(query).scalars())

    def suspended_indexes(self, list_id: str) -> list[int]:
        """The entries of the diplomas and bloc certificates suspended now in this suspension list."""
        query = union_all(
            *(
                select(t.c.suspension_list_index).where(
                    t.c.suspension_list_id == list_id, t.c.suspended_at.is_not(None)
                )
                for t in (diplomas, bloc_certificates)
            )
        )
        return list(self.session.execute(query).scalars())


def _revocation(m: Any) -> Revocation | None:
    if m["revoked_at"] is None:
        return None
    return Revocation(
        revoked_at=m["revoked_at"],
        reason=m["revocation_reason"],
        revoked_by=m["revoked_by"],
        revoked_by_role=m["revoked_by_role"],
    )


def _suspension(m: Any) -> Suspension | None:
    if m["suspended_at"] is None:
        return None
    return Suspension(
        suspended_at=m["suspended_at"],
        reason=m["suspension_reason"],
        suspended_by=m["suspended_by"],
        suspended_by_role=m["suspended_by_role"],
    )


def _suspension_entry(m: Any) -> StatusEntry | None:
    listed = m["suspension_list_id"] is not None
    return StatusEntry(m["suspension_list_id"], m["suspension_list_index"]) if listed else None


def _diploma(m: Any) -> Diploma:
    listed = m["status_list_id"] is not None
    return Diploma(
        diploma_id=m["diploma_id"],
        candidate_id=m["candidate_id"],
        path=m["path"],
        option=m["option"],
        blocs=tuple(json.loads(m["blocs"])),
        thesis_defence_id=m["thesis_defence_id"],
        issued_at=m["issued_at"],
        credential=json.loads(m["credential"]),
        status=StatusEntry(m["status_list_id"], m["status_list_index"]) if listed else None,
        revocation=_revocation(m),
        suspension_status=_suspension_entry(m),
        suspension=_suspension(m),
    )


def _certificate(m: Any) -> BlocCertificate:
    listed = m["status_list_id"] is not None
    return BlocCertificate(
        certificate_id=m["certificate_id"],
        candidate_id=m["candidate_id"],
        bloc=m["bloc"],
        issued_at=m["issued_at"],
        credential=json.loads(m["credential"]) if m["credential"] else None,
        status=StatusEntry(m["status_list_id"], m["status_list_index"]) if listed else None,
        suspension_status=_suspension_entry(m),
        revocation=_revocation(m),
        suspension=_suspension(m),
    )
