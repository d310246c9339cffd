"""What grading-compute keeps of each candidate: only who enrolled them (the tenant), from candidate.enrolled,
so that an LMS reads the grading reports of its own candidates and of no one else's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from certifia_grading.adapters.orm import candidates
from certifia_shared.db import UnitOfWork, insert_ignoring_conflict
from certifia_shared.envelope import CloudEvent


def on_candidate_enrolled(event: CloudEvent, uow: UnitOfWork) -> None:
    data = event.data
    known = uow.session.execute(
        select(candidates.c.candidate_id).where(candidates.c.candidate_id == data["candidate_id"])
    ).first()
    if known is None:
        insert_ignoring_conflict(
            uow.session,
            candidates,
            {
                "candidate_id": data["candidate_id"],
                "lms_client": data["lms_client"],
                "enrolled_at": datetime.fromisoformat(data["enrolled_at"].upper().replace("Z", "+00:00")),
            },
        )
