"""REST API of grading-compute: the packs and what they assess, a submission's grading status and report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from certifia_grading.adapters.repository import JobRepository
from certifia_grading.engine import GradingEngine
from certifia_shared.auth import Principal, require
from certifia_shared.deps import UnitOfWorkDep
from certifia_shared.problems import not_found
from certifia_shared.tenancy import ensure_visible

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
) -> dict[str, Any]:
    """Status (queued, running, completed, failed) and, when finished, the report with every verdict."""
    with uow:
        job = JobRepository(uow.session).get(submission_id)
    hidden = not_found("Grading job", submission_id, "submission_id")
    if job is None:
        raise hidden
    ensure_visible(request, principal, job["candidate_id"], hidden_as=hidden)
    return {
        "submission_id": job["submission_id"],
        "candidate_id": job["candidate_id"],
        "pack_id": job["pack_id"],
        "evaluation_id": job["evaluation_id"],
        "status": job["status"],
        "attempts": job["attempts"],
        "requested_at": job["requested_at"],
        "finished_at": job["finished_at"],
        "report": job["result"],
        "reason": job["reason"],
    }
