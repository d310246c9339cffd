"""REST API of appeals against a failed defence (thin: validate, call the use case).

A defence is addressed by its id (the scheduled defence's, which its outcome keeps); the one appeal against
its outcome lives under it: ``/defences/{defence_id}/appeal``. Who may see the defence is the tenancy rule
of its candidate (certifia_shared.tenancy), checked before anything else about the request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from certifia_shared.auth import Principal, principal_from_request, require
from certifia_shared.problems import not_found
from certifia_shared.tenancy import ensure_visible
from certifia_thesis.domain.appeals import OpenerRole, ResolverRole
from certifia_thesis.domain.model import Defence
from certifia_thesis.entrypoints.deps import Clock, SettingsDep, UnitOfWorkDep
from certifia_thesis.entrypoints.schemas import AppealOut, AppealRequest, ResolutionRequest
from certifia_thesis.service_layer import appeals, views

router = APIRouter(tags=["appeals"])
READERS = require("candidate", "jury", "officer", "lms")  # as for the thesis


def visible_defence(defence_id: str, request: Request, uow: UnitOfWorkDep) -> Defence:
    """The defence ``defence_id``, once the caller may see its candidate (another LMS's, another
    candidate's and an unknown one answer the same 404)."""
    hidden = not_found("Defence", defence_id, "defence_id")
    defence = views.defence_of(defence_id, uow=uow)
    if defence is None:
        raise hidden
    ensure_visible(request, principal_from_request(request), defence.candidate_id, hidden_as=hidden)
    return defence


VisibleDefence = Annotated[Defence, Depends(visible_defence)]


@router.post("/defences/{defence_id}/appeal", status_code=201, response_model=AppealOut)
def open_appeal(
    defence: VisibleDefence,
    body: AppealRequest,
    response: Response,
    principal: Annotated[Principal, Depends(require("candidate", "officer"))],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    now: Clock,
) -> AppealOut:
    """The candidate (or an officer on their behalf) contests a failed defence within APPEAL_WINDOW_DAYS of
    its outcome (times their extra-time factor). One appeal per outcome."""
    role: OpenerRole = (
        "officer" if principal.has("officer") else "admin" if principal.has("admin") else "candidate"
    )
    cmd = appeals.OpenDefenceAppeal(defence.id, body.grounds, principal.subject, role)
    appeal = appeals.open_appeal(
        cmd,
        uow=uow,
        window=settings.appeal_window(),
        resolution_time=settings.appeal_resolution_time(),
        now=now,
    )
    response.headers["Location"] = f"/defences/{defence.id}/appeal"
    return AppealOut.of(appeal)


@router.get("/defences/{defence_id}/appeal", response_model=AppealOut)
def get_appeal(
    defence: VisibleDefence, principal: Annotated[Principal, Depends(READERS)], uow: UnitOfWorkDep
) -> AppealOut:
    return AppealOut.of(views.appeal_of(defence.id, uow=uow))


@router.post("/defences/{defence_id}/appeal/resolution", response_model=AppealOut)
def resolve_appeal(
    defence: VisibleDefence,
    body: ResolutionRequest,
    principal: Annotated[Principal, Depends(require("officer"))],
    uow: UnitOfWorkDep,
    now: Clock,
) -> AppealOut:
    """An officer who did not sit on the defence's jury (nor record its outcome) and did not open the appeal
    upholds it (the failure is annulled: it no longer counts against the resit limit, and a new defence may
    be scheduled) or dismisses it. A resolution is final: the same request again answers 200 with it."""
    role: ResolverRole = "officer" if principal.has("officer") else "admin"
    cmd = appeals.ResolveDefenceAppeal(defence.id, body.outcome, body.reasoning, principal.subject, role)
    appeal, _new = appeals.resolve_appeal(cmd, uow=uow, now=now)
    return AppealOut.of(appeal)
