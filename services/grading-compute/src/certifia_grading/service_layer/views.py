"""Read side: what the grading routes show (no state change, nothing emitted). Each query runs in its own
unit of work and reads through its repositories."""

from __future__ import annotations

from typing import Any

from certifia_grading.domain.model import UnknownCandidate
from certifia_grading.domain.queue import queue_position
from certifia_grading.service_layer.unit_of_work import GradingUnitOfWork
from certifia_shared.auth import Principal
from certifia_shared.feedback import report_for


def grading_progress(uow: GradingUnitOfWork, job: dict[str, Any], *, max_attempts: int) -> dict[str, Any]:
    """The queue position (queued jobs only) and the attempts used and left for the job's evaluation
    (inside an open unit of work)."""
    position = None
    if job["status"] == "queued":
        queued, last_claims = uow.jobs.queue_snapshot()
        position = queue_position(queued, last_claims, job["submission_id"])
    used = uow.jobs.attempts_of(job["candidate_id"], job["evaluation_id"])
    return {
        "queue_position": position,
        "submission_attempts": {"used": used, "limit": max_attempts, "left": max(0, max_attempts - used)},
    }


def grading_status(
    submission_id: str, principal: Principal, *, uow: GradingUnitOfWork, max_attempts: int
) -> dict[str, Any] | None:
    """A submission's grading as ``principal`` reads it (None: no such job): status (queued, running,
    completed, failed), the place in the fair queue while queued, the candidate's attempts used and left
    for the evaluation and, when finished, the report (certifia_shared.feedback: exact for the jury,
    officers and auditors; rounded to what the threshold needs for candidates and LMSs). Who may see the
    candidate is the route's tenancy check."""
    with uow:
        job = uow.jobs.get(submission_id)
        if job is None:
            return None
        progress = grading_progress(uow, job, max_attempts=max_attempts)
    return {
        "submission_id": job["submission_id"],
        "candidate_id": job["candidate_id"],
        "pack_id": job["pack_id"],
        "evaluation_id": job["evaluation_id"],
        "status": job["status"],
        "attempts": job["attempts"],
        **progress,
        "requested_at": job["requested_at"],
        "finished_at": job["finished_at"],
        "report": report_for(principal, job["result"]),
        "reason": job["reason"],
    }


def accommodation(candidate_id: str, *, uow: GradingUnitOfWork) -> dict[str, Any]:
    """The extra-time factor applied to the candidate's jobs (1.0 without an accommodation in force).
    Raises :class:`UnknownCandidate` for a candidate never enrolled here."""
    with uow:
        if not uow.candidates.known(candidate_id):
            raise UnknownCandidate(candidate_id)
        return {
            "candidate_id": candidate_id,
            "extra_time_factor": uow.candidates.time_factor(candidate_id),
            "granted_at": uow.candidates.accommodation_at(candidate_id),
            "applied_to": ["sandbox_time_limits"],
        }
