"""REST API of grading-compute: the packs and what they assess, a submission's grading status and report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from certifia_grading.adapters.repository import CandidateRepository, JobRepository
from certifia_grading.config import Settings
from certifia_grading.engine import GradingEngine
from certifia_grading.service_layer.queue_status import grading_progress
from certifia_shared.auth import Principal, require
from certifia_shared.deps import UnitOfWorkDep, current_settings
from certifia_shared.feedback import report_for
from certifia_shared.problems import not_found
from certifia_shared.tenancy import VisibleCandidate, ensure_visible

router = APIRouter(tags=["grading"])
READERS = require("lms", "candidate", "jury", "officer", "service")


def grading_engine(request: Request) -> GradingEngine:
    engine: GradingEngine = request.app.state.engine
    return engine


GradingEngineDep = Annotated[GradingEngine, Depends(grading_engine)]


@router.get("/packs")
def list_packs(_: Annotated[Principal, Depends(READERS)], engine: GradingEngineDep) -> list[dict[str, Any]]:
    return [p.to_public_dict() for p in engine.list_packs()]


@router.get("/packs/{pack_id}")
def get_pack(
    pack_id: str, _: Annotated[Principal, Depends(READERS)], engine: GradingEngineDep
) -> dict[str, Any]:
    return engine.pack(pack_id).to_public_dict()  # an unknown pack: UnknownPack, the pack's 404


@router.get("/submissions/{submission_id}/grading")
def grading_status(
    submission_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(READERS)],
    uow: UnitOfWorkDep,
    settings: Annotated[Settings, Depends(current_settings)],
) -> dict[str, Any]:
    """Status (queued, running, completed, failed), the place in the fair queue while queued, the
    candidate's attempts used and left for the evaluation and, when finished, the report: exact for the
    jury, officers and auditors; for candidates and LMSs, each verdict with its metric rounded to what
    the threshold needs, without raw metrics or counts (certifia_shared.feedback)."""
    with uow:
        repo = JobRepository(uow.session)
        job = repo.get(submission_id)
        hidden = not_found("Grading job", submission_id, "submission_id")
        if job is None:
            raise hidden
        ensure_visible(request, principal, job["candidate_id"], hidden_as=hidden)
        progress = grading_progress(repo, job, max_attempts=settings.grading_max_attempts_per_evaluation)
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


@router.get("/candidates/{candidate_id}/accommodation")
def candidate_accommodation(
    candidate_id: VisibleCandidate,
    _: Annotated[Principal, Depends(READERS)],
    uow: UnitOfWorkDep,
) -> dict[str, Any]:
    """The extra-time factor grading-compute applies to the candidate's jobs (the accommodation in force,
    from candidate.accommodation_granted; 1.0 without one): it multiplies the CPU and wall-clock limits of
    the candidate's code or model in the sandbox, and each report names it."""
    with uow:
        repo = CandidateRepository(uow.session)
        if not repo.known(candidate_id):
            raise not_found("Candidate", candidate_id, "candidate_id")
        return {
            "candidate_id": candidate_id,
            "extra_time_factor": repo.time_factor(candidate_id),
            "granted_at": repo.accommodation_at(candidate_id),
            "applied_to": ["sandbox_time_limits"],
        }
