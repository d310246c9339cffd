"""REST API of the thesis service (thin: validate, build a command, call the handler)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from certifia_shared.auth import Principal, require
from certifia_shared.problems import Problem, not_found
from certifia_shared.tenancy import VisibleCandidate
from certifia_shared.web import replayed
from certifia_thesis.domain.duration import MIN_MONTHS_FTE, MissionRefused
from certifia_thesis.domain.model import (
    CandidateWithdrawn,
    DefenceNotHeldYet,
    DefenceNotScheduled,
    DefenceRefused,
    MissionConflict,
    ThesisAlreadyPassed,
)
from certifia_thesis.entrypoints.deps import already_passed, clock, ctx, withdrawn
from certifia_thesis.entrypoints.schemas import (
    DefenceOut,
    DefenceRequest,
    MissionOut,
    MissionRequest,
    ThesisOut,
)
from certifia_thesis.service_layer import handlers, views

router = APIRouter(tags=["thesis"])


@router.post(
    "/candidates/{candidate_id}/missions",
    status_code=201,
    response_model=MissionOut,
    responses=replayed(MissionOut, "The same mission again: the one registered"),
)
def register_mission(
    candidate_id: VisibleCandidate,
    body: MissionRequest,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("officer", "lms"))],
) -> MissionOut:
    cmd = handlers.RegisterMission(candidate_id=candidate_id, **body.model_dump())
    try:
        mission, created = handlers.register_mission(cmd, uow=ctx(request).uow())
    except handlers.UnknownCandidate:
        raise not_found("Candidate", candidate_id, "candidate_id") from None
    except CandidateWithdrawn as exc:
        raise withdrawn(exc) from exc
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


@router.post(
    "/candidates/{candidate_id}/defence",
    status_code=201,
    response_model=DefenceOut,
    responses=replayed(DefenceOut, "The same outcome again: the one recorded"),
)
def record_defence(
    candidate_id: VisibleCandidate,
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
        jury=tuple(body.jury or ()),
        defended_at=body.defended_at,
        recorded_by=principal.subject,
    )
    try:
        defence, created = handlers.record_defence(cmd, uow=ctx(request).uow(), now=clock(request))
    except handlers.UnknownCandidate:
        raise not_found("Candidate", candidate_id, "candidate_id") from None
    except handlers.UnknownMission:
        raise not_found("Mission", str(body.mission_id), "mission_id") from None
    except DefenceRefused as exc:
        raise Problem(422, "Invalid defence", exc.message, type="validation", field=exc.field) from exc
    except ThesisAlreadyPassed as exc:
        raise already_passed(candidate_id) from exc
    except CandidateWithdrawn as exc:
        raise withdrawn(exc) from exc
    except DefenceNotScheduled as exc:
        raise Problem(
            409,
            "Defence not scheduled",
            f"No scheduled defence of candidate {candidate_id!r} waits for an outcome: schedule the defence "
            f"first (POST /candidates/{candidate_id}/defence/schedule).",
            type="defence-not-scheduled",
        ) from exc
    except DefenceNotHeldYet as exc:
        raise Problem(
            409,
            "Defence not held yet",
            f"The defence is scheduled for {exc.scheduled_at.isoformat()}; record its outcome once it has "
            "been held.",
            type="defence-not-held-yet",
            extensions={"scheduled_at": exc.scheduled_at.isoformat()},
        ) from exc
    if not created:
        response.status_code = 200
    return DefenceOut.of(defence)


@router.get("/candidates/{candidate_id}/thesis", response_model=ThesisOut)
def get_thesis(
    candidate_id: VisibleCandidate,
    request: Request,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms"))],
) -> ThesisOut:
    view = views.thesis_of(candidate_id, uow=ctx(request).uow())
    if view is None:
        raise not_found("Candidate", candidate_id, "candidate_id")
    return ThesisOut.of(view)
