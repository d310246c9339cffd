"""REST API of grading-compute: the packs and what they assess, a submission's grading status and report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from certifia_grading.entrypoints.deps import GraderDep, SettingsDep, UnitOfWorkDep
from certifia_grading.service_layer import views
from certifia_shared.auth import Principal, require
from certifia_shared.problems import not_found
from certifia_shared.tenancy import VisibleCandidate, ensure_visible

router = APIRouter(tags=["grading"])
READERS = require("lms", "candidate", "jury", "officer", "service")


@router.get("/packs")
def list_packs(_: Annotated[Principal, Depends(READERS)], grader: GraderDep) -> list[dict[str, Any]]:
    return [p.to_public_dict() for p in grader.list_packs()]


@router.get("/packs/{pack_id}")
def get_pack(pack_id: str, _: Annotated[Principal, Depends(READERS)], grader: GraderDep) -> dict[str, Any]:
    return grader.pack(pack_id).to_public_dict()  # an unknown pack: UnknownPack, the pack's 404


@router.get("/submissions/{submission_id}/grading")
def grading_status(
    submission_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(READERS)],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Status (queued, running, completed, failed), the place in the fair queue while queued, the
    candidate's attempts used and left for the evaluation and, when finished, the report: exact for the
    jury, officers and auditors; for candidates and LMSs, each verdict with its metric rounded to what
    the threshold needs, without raw metrics or counts (certifia_shared.feedback)."""
    status = views.grading_status(
        submission_id, principal, uow=uow, max_attempts=settings.grading_max_attempts_per_evaluation
    )
    hidden = not_found("Grading job", submission_id, "submission_id")
    if status is None:
        raise hidden
    ensure_visible(request, principal, status["candidate_id"], hidden_as=hidden)
    return status


@router.get("/candidates/{candidate_id}/accommodation")
def candidate_accommodation(
    candidate_id: VisibleCandidate,
    _: Annotated[Principal, Depends(READERS)],
    uow: UnitOfWorkDep,
) -> dict[str, Any]:
    """The extra-time factor grading-compute applies to the candidate's jobs (the accommodation in force,
    from candidate.accommodation_granted; 1.0 without one): it multiplies the CPU and wall-clock limits of
    the candidate's code or model in the sandbox, and each report names it."""
    return views.accommodation(candidate_id, uow=uow)  # never enrolled here: UnknownCandidate, the 404
