"""REST API for the thesis deposit and the scheduling of its defence (thin: validate, call the handler)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from certifia_shared.artifacts import ArtifactStore
from certifia_shared.auth import Principal, require
from certifia_shared.downloads import download_responses, file_response
from certifia_shared.problems import Problem, not_found
from certifia_shared.tenancy import VisibleCandidate
from certifia_shared.web import replayed
from certifia_thesis.config import Settings
from certifia_thesis.domain.deposit import (
    DefenceAlreadyScheduled,
    DepositRefused,
    ThesisFileTooLarge,
    check_thesis_file,
)
from certifia_thesis.domain.model import CandidateWithdrawn, ThesisAlreadyPassed
from certifia_thesis.domain.schedule import JuryMember, NoDeposit, ScheduleRefused
from certifia_thesis.entrypoints.deps import already_passed, clock, ctx, withdrawn
from certifia_thesis.entrypoints.schemas import (
    Abstract,
    DepositOut,
    MissionId,
    ScheduleOut,
    ScheduleRequest,
    Title,
)
from certifia_thesis.service_layer import defence, handlers, views

router = APIRouter(tags=["thesis"])
PDF = frozenset({"application/pdf"})
"""What a deposited thesis is served as (checked a PDF at deposit; anything else would be an octet-stream)."""


async def _thesis_file(request: Request, file: UploadFile) -> bytes:
    """The uploaded PDF, read up to one byte past the limit; 413 above it, 422 if empty or not a PDF."""
    settings: Settings = request.app.state.settings
    content = await file.read(settings.max_thesis_bytes + 1)
    try:
        check_thesis_file(content, settings.max_thesis_bytes)
    except ThesisFileTooLarge as exc:
        raise Problem(
            413, "Thesis file too large", exc.message, type="thesis-too-large", field="file"
        ) from exc
    except DepositRefused as exc:
        raise Problem(422, "Invalid thesis file", exc.message, type="validation", field=exc.field) from exc
    return content


@router.post(
    "/candidates/{candidate_id}/thesis/deposit",
    status_code=201,
    response_model=DepositOut,
    responses=replayed(DepositOut, "The same thesis again: the version deposited"),
)
async def deposit_thesis(
    candidate_id: VisibleCandidate,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("candidate", "officer"))],
    title: Annotated[Title, Form()],
    abstract: Annotated[Abstract, Form()],
    mission_id: Annotated[MissionId, Form()],
    file: Annotated[UploadFile, File(description="the thesis as a PDF")],
) -> DepositOut:
    """The candidate (or an officer) deposits the thesis; a later deposit is a new version, until the
    defence is scheduled."""
    content = await _thesis_file(request, file)
    store: ArtifactStore = request.app.state.deposits
    # stored before the unit of work records its digest: content-addressed, so a retry is harmless
    digest = await run_in_threadpool(store.put, content)
    cmd = defence.DepositThesis(
        candidate_id=candidate_id,
        mission_id=mission_id,
        title=title,
        abstract=abstract,
        sha256=digest,
        size_bytes=len(content),
        filename=(file.filename or None) and file.filename[:255],
        submitted_by=principal.subject,
    )
    try:
        deposit, created = await run_in_threadpool(
            lambda: defence.deposit_thesis(cmd, uow=ctx(request).uow(), now=clock(request))
        )
    except handlers.UnknownCandidate:
        raise not_found("Candidate", candidate_id, "candidate_id") from None
    except handlers.UnknownMission:
        raise not_found("Mission", mission_id, "mission_id") from None
    except DepositRefused as exc:
        raise Problem(422, "Thesis deposit refused", exc.message, type="validation", field=exc.field) from exc
    except CandidateWithdrawn as exc:
        raise withdrawn(exc) from exc
    except ThesisAlreadyPassed as exc:
        raise already_passed(candidate_id) from exc
    except DefenceAlreadyScheduled as exc:
        raise Problem(
            409,
            "Defence already scheduled",
            f"The defence is scheduled for {exc.scheduled_at.isoformat()}: the thesis the jury reads can no "
            "longer be replaced.",
            type="defence-already-scheduled",
            extensions={"scheduled_at": exc.scheduled_at.isoformat()},
        ) from exc
    if not created:
        response.status_code = 200
    return DepositOut.of(deposit)


@router.get(
    "/candidates/{candidate_id}/thesis/deposit/file",
    response_class=Response,
    responses=download_responses(PDF, "The deposited thesis"),
)
def thesis_file(
    candidate_id: VisibleCandidate,
    request: Request,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer"))],
    version: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="a version (default: the latest)")
    ] = None,
) -> Response:
    deposit = views.deposit_of(candidate_id, version, uow=ctx(request).uow())
    if deposit is None:
        raise not_found(
            "Thesis deposit",
            f"{candidate_id} v{version or 'latest'}",
            "version" if version else "candidate_id",
        )
    store: ArtifactStore = request.app.state.deposits
    return file_response(  # a PDF (checked at deposit), served as a download whatever it holds
        store.path(deposit.sha256),
        filename=f"thesis-v{deposit.version}.pdf",
        allowed=PDF,
        headers={"ETag": f'"{deposit.sha256}"'},
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
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("officer"))],
) -> ScheduleOut:
    """Schedule the defence (201), or reschedule the one waiting for its outcome (200, same defence id,
    defence.scheduled emitted again); the same schedule sent again answers 200 and emits nothing."""
    settings: Settings = request.app.state.settings
    cmd = defence.ScheduleDefence(
        candidate_id=candidate_id,
        scheduled_at=body.scheduled_at,
        location=body.location,
        jury=tuple(JuryMember(m.name, m.role) for m in body.jury),
        scheduled_by=principal.subject,
    )
    try:
        schedule, what = defence.schedule_defence(
            cmd, uow=ctx(request).uow(), reading_days=settings.defence_reading_days, now=clock(request)
        )
    except handlers.UnknownCandidate:
        raise not_found("Candidate", candidate_id, "candidate_id") from None
    except ScheduleRefused as exc:
        raise Problem(
            422, "Defence schedule refused", exc.message, type="validation", field=exc.field
        ) from exc
    except CandidateWithdrawn as exc:
        raise withdrawn(exc) from exc
    except ThesisAlreadyPassed as exc:
        raise already_passed(candidate_id) from exc
    except NoDeposit as exc:
        raise Problem(
            409,
            "No thesis deposited",
            f"Candidate {candidate_id!r} has deposited no thesis: deposit it first "
            f"(POST /candidates/{candidate_id}/thesis/deposit).",
            type="no-thesis-deposit",
        ) from exc
    if what != "scheduled":
        response.status_code = 200
    return ScheduleOut.of(schedule)
