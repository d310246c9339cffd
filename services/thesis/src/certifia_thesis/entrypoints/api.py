"""REST API of the thesis service (thin: validate, build a command, call the handler)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from certifia_shared.auth import Principal, ensure_candidate_access, require
from certifia_shared.problems import Problem, not_found
from certifia_thesis.domain.duration import MIN_MONTHS_FTE, MissionRefused
from certifia_thesis.domain.model import DefenceRefused, MissionConflict, ThesisAlreadyPassed
from certifia_thesis.entrypoints.schemas import (
    DefenceOut,
    DefenceRequest,
    MissionOut,
    MissionRequest,
    ThesisOut,
)
from certifia_thesis.service_layer import handlers, views

router = APIRouter(tags=["thesis"])


def _ctx(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.ctx


def _check_visible(request: Request, principal: Principal, candidate_id: str) -> None:
    """404 for an unknown candidate, and for another LMS's candidate (not disclosed)."""
    ensure_candidate_access(principal, candidate_id)
    candidate = views.known_candidate(candidate_id, uow=_ctx(request).uow())
    if candidate is None:
        raise not_found("Candidate", candidate_id, "candidate_id")
    if (
        principal.has("lms")
        and not principal.has("admin", "officer", "jury")
        and candidate.lms_client != (principal.client_id or principal.subject)
    ):
        raise not_found("Candidate", candidate_id, "candidate_id")


@router.post("/candidates/{candidate_id}/missions", status_code=201, response_model=MissionOut)
def register_mission(
    candidate_id: str,
    body: MissionRequest,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("officer", "lms"))],
) -> MissionOut:
    _check_visible(request, principal, candidate_id)
    cmd = handlers.RegisterMission(candidate_id=candidate_id, **body.model_dump())
    try:
        mission, created = handlers.register_mission(cmd, uow=_ctx(request).uow())
    except handlers.UnknownCandidate:
        raise not_found("Candidate", candidate_id, "candidate_id") from None
    except MissionRefused as exc:
        error = {"field": exc.field, "message": exc.message, "minimum_months_fte": str(MIN_MONTHS_FTE)}
        if exc.months_fte is not None:
            error["months_fte"] = f"{exc.months_fte:.2f}"
        raise Problem(
            422, "Mission not eligible", exc.message, type="mission-not-eligible", errors=[error]
        ) from exc
    except MissionConflict as exc:
        raise Problem(
            409,
            "Mission conflict",
            f"This mission (company and dates) is already registered with other details ({exc}).",
            type="mission-conflict",
            errors=[{"field": f, "message": "differs from the registered mission"} for f in exc.fields],
        ) from exc
    if not created:
        response.status_code = 200
    return MissionOut.of(mission)


@router.post("/candidates/{candidate_id}/defence", status_code=201, response_model=DefenceOut)
def record_defence(
    candidate_id: str,
    body: DefenceRequest,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("jury", "officer"))],
) -> DefenceOut:
    cmd = handlers.RecordDefence(
        candidate_id=candidate_id,
        mission_id=body.mission_id,
        outcome=body.outcome,
        grade=body.grade,
        jury=tuple(body.jury),
        defended_at=body.defended_at,
        recorded_by=principal.subject,
    )
    try:
        defence, created = handlers.record_defence(cmd, uow=_ctx(request).uow())
    except handlers.UnknownCandidate:
        raise not_found("Candidate", candidate_id, "candidate_id") from None
    except handlers.UnknownMission:
        raise not_found("Mission", body.mission_id, "mission_id") from None
    except DefenceRefused as exc:
        raise Problem(422, "Invalid defence", exc.message, type="validation", field=exc.field) from exc
    except ThesisAlreadyPassed as exc:
        raise Problem(
            409,
            "Thesis already passed",
            f"Candidate {candidate_id!r} already passed the thesis defence; that outcome is final.",
            type="thesis-already-passed",
        ) from exc
    if not created:
        response.status_code = 200
    return DefenceOut.of(defence)


@router.get("/candidates/{candidate_id}/thesis", response_model=ThesisOut)
def get_thesis(
    candidate_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms"))],
) -> ThesisOut:
    _check_visible(request, principal, candidate_id)
    view = views.thesis_of(candidate_id, uow=_ctx(request).uow())
    if view is None:
        raise not_found("Candidate", candidate_id, "candidate_id")
    return ThesisOut.of(view)
