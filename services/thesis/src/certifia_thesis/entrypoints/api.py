"""REST API of the thesis service (thin: validate, build a command, call the handler)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from certifia_shared.auth import Principal, require
from certifia_shared.tenancy import VisibleCandidate
from certifia_shared.web import replayed
from certifia_thesis.domain.model import UnknownCandidate
from certifia_thesis.entrypoints.deps import Clock, SettingsDep, UnitOfWorkDep
from certifia_thesis.entrypoints.schemas import (
    DefenceOut,
    DefenceRequest,
    MissionOut,
    MissionRequest,
    ThesisOut,
)
from certifia_thesis.service_layer import handlers, outcome, views

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
    response: Response,
    principal: Annotated[Principal, Depends(require("officer", "lms"))],
    uow: UnitOfWorkDep,
) -> MissionOut:
    cmd = handlers.RegisterMission(candidate_id=candidate_id, **body.model_dump())
    mission, created = handlers.register_mission(cmd, uow=uow)
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
    response: Response,
    principal: Annotated[Principal, Depends(require("jury", "officer"))],
    uow: UnitOfWorkDep,
    now: Clock,
    settings: SettingsDep,
) -> DefenceOut:
    """The jury (or an officer) records the outcome of the held defence; it agrees with the grade (/20):
    passed needs at least the pass mark, failed less."""
    cmd = outcome.RecordDefence(
        candidate_id=candidate_id,
        mission_id=body.mission_id,
        outcome=body.outcome,
        grade=body.grade,
        jury=tuple(body.jury or ()),
        defended_at=body.defended_at,
        recorded_by=principal.subject,
        recorded_by_role=next(r for r in ("jury", "officer", "admin") if principal.has(r)),
    )
    defence, created = outcome.record_defence(cmd, uow=uow, now=now, pass_mark=settings.defence_pass_mark)
    if not created:
        response.status_code = 200
    return DefenceOut.of(defence)


@router.get("/candidates/{candidate_id}/thesis", response_model=ThesisOut)
def get_thesis(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms"))],
    uow: UnitOfWorkDep,
) -> ThesisOut:
    view = views.thesis_of(candidate_id, uow=uow)
    if view is None:
        raise UnknownCandidate(candidate_id)
    return ThesisOut.of(view)
