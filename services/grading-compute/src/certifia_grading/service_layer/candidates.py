"""What grading-compute keeps of each candidate: who enrolled them (the tenant), from candidate.enrolled,
so that an LMS reads the grading reports of its own candidates and of no one else's; and the extra-time
factor of an accommodation in force (candidate.accommodation_granted), applied to the sandbox's limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from certifia_grading.adapters.orm import candidates
from certifia_grading.adapters.repository import CandidateRepository
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


def on_accommodation_granted(event: CloudEvent, uow: UnitOfWork) -> None:
    """The latest grant is the one in force (an older one replayed or arriving late changes nothing)."""
    data = event.data
    repo = CandidateRepository(uow.session)
    if not repo.known(data["candidate_id"]):
        # enrolled is keyed like the grant and comes first on the same partition: this is a gap
        raise LookupError(f"accommodation for unknown candidate {data['candidate_id']}")
    granted_at = datetime.fromisoformat(data["granted_at"].upper().replace("Z", "+00:00"))
    current = repo.accommodation_at(data["candidate_id"])
    if current is not None and current > granted_at:
        return
    repo.set_accommodation(
        data["candidate_id"],
        accommodation_id=data["accommodation_id"],
        factor=float(data["extra_time_factor"]),
        at=granted_at,
    )
