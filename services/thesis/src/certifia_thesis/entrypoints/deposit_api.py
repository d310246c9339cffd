"""REST API for the thesis deposit and the scheduling of its defence (thin: validate, call the handler)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from certifia_shared.auth import Principal, require
from certifia_shared.downloads import download_responses, file_response
from certifia_shared.problems import not_found
from certifia_shared.tenancy import VisibleCandidate
from certifia_shared.web import replayed
from certifia_thesis.domain.deposit import check_thesis_file
from certifia_thesis.domain.schedule import JuryMember
from certifia_thesis.entrypoints.deps import Clock, DepositsDep, SettingsDep, UnitOfWorkDep
from certifia_thesis.entrypoints.schemas import (
    Abstract,
    DepositOut,
    MissionId,
    ScheduleOut,
    ScheduleRequest,
    Title,
)
from certifia_thesis.service_layer import deposit, schedule, views

router = APIRouter(tags=["thesis"])
PDF = frozenset({"application/pdf"})
"""What a deposited thesis is served as (checked a PDF at deposit; anything else would be an octet-stream)."""


async def _thesis_file(file: UploadFile, max_bytes: int) -> bytes:
    """The uploaded PDF, read up to one byte past the limit; 413 above it, 422 if empty or not a PDF."""
    content = await file.read(max_bytes + 1)
    check_thesis_file(content, max_bytes)
    return content


@router.post(
    "/candidates/{candidate_id}/thesis/deposit",
    status_code=201,
    response_model=DepositOut,
    responses=replayed(DepositOut, "The same thesis again: the version deposited"),
)
async def deposit_thesis(
    candidate_id: VisibleCandidate,
    response: Response,
    principal: Annotated[Principal, Depends(require("candidate", "officer"))],
    uow: UnitOfWorkDep,
    now: Clock,
    settings: SettingsDep,
    store: DepositsDep,
    title: Annotated[Title, Form()],
    abstract: Annotated[Abstract, Form()],
    mission_id: Annotated[MissionId, Form()],
    file: Annotated[UploadFile, File(description="the thesis as a PDF")],
) -> DepositOut:
    """The candidate (or an officer) deposits the thesis; a later deposit is a new version, until the
    defence is scheduled."""
    content = await _thesis_file(file, settings.max_thesis_bytes)
    # stored before the unit of work records its digest: content-addressed, so a retry is harmless
    digest = await run_in_threadpool(store.put, content)
    cmd = deposit.DepositThesis(
        candidate_id=candidate_id,
        mission_id=mission_id,
        title=title,
        abstract=abstract,
        sha256=digest,
        size_bytes=len(content),
        filename=(file.filename or None) and file.filename[:255],
        submitted_by=principal.subject,
    )
    deposited, created = await run_in_threadpool(lambda: deposit.deposit_thesis(cmd, uow=uow, now=now))
    if not created:
        response.status_code = 200
    return DepositOut.of(deposited)


@router.get(
    "/candidates/{candidate_id}/thesis/deposit/file",
    response_class=Response,
    responses=download_responses(PDF, "The deposited thesis"),
)
def thesis_file(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer"))],
    uow: UnitOfWorkDep,
    store: DepositsDep,
    version: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="a version (default: the latest)")
    ] = None,
) -> Response:
    found = views.deposit_of(candidate_id, version, uow=uow)
    if found is None:
        raise not_found(
            "Thesis deposit",
            f"{candidate_id} v{version or 'latest'}",
            "version" if version else "candidate_id",
        )
    return file_response(  # a PDF (checked at deposit), served as a download whatever it holds
        store.path(found.sha256),
        filename=f"thesis-v{found.version}.pdf",
        allowed=PDF,
        headers={"ETag": f'"{found.sha256}"'},
    )


@router.post(
    "/candidates/{candidate_id}/defence/schedule",
    status_code=201,
    response_model=ScheduleOut,
    responses=replayed(ScheduleOut, "Rescheduled (the same defence), or the same schedule again"),
)
def schedule_defence(
    candidate_id: VisibleCandidate,
    body: ScheduleRequest,
    response: Response,
    principal: Annotated[Principal, Depends(require("officer"))],
    uow: UnitOfWorkDep,
    now: Clock,
    settings: SettingsDep,
) -> ScheduleOut:
    """Schedule the defence (201), or reschedule the one waiting for its outcome (200, same defence id,
    defence.scheduled emitted again); the same schedule sent again answers 200 and emits nothing. A new
    defence after DEFENCE_MAX_ATTEMPTS failures (not counting annulled ones) is 409 resit-limit-reached."""
    cmd = schedule.ScheduleDefence(
        candidate_id=candidate_id,
        scheduled_at=body.scheduled_at,
        location=body.location,
        jury=tuple(JuryMember(m.name, m.role, m.account) for m in body.jury),
        scheduled_by=principal.subject,
    )
    scheduled, what = schedule.schedule_defence(
        cmd,
        uow=uow,
        reading_days=settings.defence_reading_days,
        now=now,
        max_attempts=settings.defence_max_attempts,
        standard_minutes=settings.defence_duration_minutes,
    )
    if what != "scheduled":
        response.status_code = 200
    return ScheduleOut.of(scheduled)
