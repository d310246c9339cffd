"""REST API of the assessment service: jury decisions, submissions, progress (appeals: ``appeals_api``; VAE
rulings: ``vae_api``; the audit trail: ``audit_api``)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from certifia_assessment.domain.checks import with_checks
from certifia_assessment.domain.model import Submission
from certifia_assessment.entrypoints.deps import ArtifactsDep, ReferentialDep, SettingsDep, UnitOfWorkDep
from certifia_assessment.service_layer import decisions, submissions, views
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared.auth import Principal, require
from certifia_shared.downloads import download_responses, file_response
from certifia_shared.feedback import report_for, sees_exact_grading
from certifia_shared.hygiene import CleanText, free_text
from certifia_shared.problems import Problem, not_found
from certifia_shared.tenancy import VisibleCandidate, ensure_visible
from certifia_shared.web import replayed

router = APIRouter(tags=["assessment"])
ShortId = Annotated[str, CleanText("identifier", 1, 64)]
"""An id of the referential (a criterion, an evaluation) or of a record (a decision): printable ASCII."""
Comment = Annotated[str, free_text(5000)]


# -- decisions -----------------------------------------------------------------------------------------
class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    criterion_id: ShortId = Field(description="global id, e.g. 2.A1.C1.E1")
    outcome: Literal["validated", "rejected"]
    comment: Comment = ""


class AccommodationApplied(BaseModel):
    extra_time_factor: float
    applied_to: list[Literal["appeal_window"]]


class CheckOut(BaseModel):
    metric: str
    comparator: str | None
    threshold: float | None
    value: float | None = Field(description="exact for staff; rounded to the threshold's precision otherwise")
    passed: bool | None


class DecisionOut(BaseModel):
    id: str
    candidate_id: str
    bloc: str
    criterion_id: str
    criterion_code: str
    outcome: str
    comment: str
    decided_by: str
    decided_by_role: str
    decided_at: datetime
    submission_id: str | None
    proposed_by: str | None = Field(
        default=None,
        description="automated grading's proposal this decision answers for, `<pack>@<version>`; decided_by "
        "is then the jury member who confirmed or overrode it (or the grader itself under automated_final)",
    )
    policy: str | None = Field(default=None, description="the jury policy the verdict fell under")
    earned_at: datetime | None = Field(
        default=None,
        description="when the right it records was earned: the hand-in graded, for an upheld appeal the "
        "contested decision's, else the decision itself (a withdrawal takes away nothing earned before it)",
    )
    appealable_until: datetime | None = Field(
        default=None,
        description="a rejection in force: until when it can be contested (APPEAL_WINDOW_DAYS, times the "
        "candidate's extra time factor); null otherwise",
    )
    accommodation: AccommodationApplied | None = Field(
        default=None, description="the accommodation that stretched appealable_until, if any"
    )
    checks: list[CheckOut] | None = Field(
        default=None,
        description="automated verdicts: every check of the criterion (metric/threshold above name one)",
    )


@router.post(
    "/candidates/{candidate_id}/decisions",
    status_code=201,
    response_model=DecisionOut,
    responses=replayed(DecisionOut, "The same decision again: the one recorded"),
)
def decide(
    candidate_id: VisibleCandidate,
    body: DecisionRequest,
    response: Response,
    principal: Annotated[Principal, Depends(require("jury", "officer"))],
    uow: UnitOfWorkDep,
    referential: ReferentialDep,
    settings: SettingsDep,
) -> DecisionOut:
    """A jury member or officer validates or rejects one evaluation criterion for a candidate (a rejection
    says why in its comment)."""
    cmd = decisions.DecideCriterion(
        candidate_id=candidate_id,
        criterion_id=body.criterion_id,
        outcome=body.outcome,
        comment=body.comment,
        decided_by=principal.subject,
        decided_by_role=decisions.decider_role(principal),
    )
    decision, created = decisions.decide_criterion(cmd, uow=uow, referential=referential)
    if not created:
        response.status_code = 200
    return DecisionOut(**views.decision_answer(uow, decision, settings.appeal_window()))


@router.get("/candidates/{candidate_id}/decisions", response_model=list[DecisionOut])
def list_decisions(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms"))],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    bloc: str | None = None,
) -> list[DecisionOut]:
    exact = sees_exact_grading(principal)
    rows = views.decisions(uow, candidate_id, bloc, settings.appeal_window(), exact=exact)
    return [DecisionOut(**row) for row in rows]


# -- progress ------------------------------------------------------------------------------------------
@router.get("/candidates/{candidate_id}/progress")
def progress(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms"))],
    uow: UnitOfWorkDep,
    referential: ReferentialDep,
) -> dict[str, Any]:
    """Per bloc: criteria validated/rejected, competencies validated, bloc passed; the appeals; and the
    automated verdicts under jury review."""
    return views.progress(uow, referential, candidate_id)


# -- submissions ---------------------------------------------------------------------------------------
class GradingAttemptsOut(BaseModel):
    used: int = Field(description="submissions of this candidate graded for this evaluation")
    limit: int = Field(description="GRADING_MAX_ATTEMPTS_PER_EVALUATION")
    left: int


class SubmissionOut(BaseModel):
    id: str
    candidate_id: str
    evaluation_id: str
    digest: str
    size_bytes: int
    media_type: str
    filename: str | None
    pack_id: str | None
    status: str
    received_at: datetime
    report: dict[str, Any] | None = Field(
        description="the grading report: exact for jury, officers, admins and services; for the candidate "
        "and their LMS, each verdict with its metric rounded to the threshold's precision, without raw "
        "metrics or counts"
    )
    failure_reason: str | None
    grading_attempts: GradingAttemptsOut | None = Field(
        default=None, description="for a submission with a grading pack: the attempts at its evaluation"
    )

    @classmethod
    def of(cls, s: Submission, principal: Principal, attempts: dict[str, int], limit: int) -> SubmissionOut:
        """``attempts``: the candidate's graded submissions per evaluation (views.graded_attempts)."""
        values = asdict(s)
        values["report"] = with_checks(
            report_for(principal, s.report), s.report, exact=sees_exact_grading(principal)
        )
        if s.pack_id:
            used = attempts.get(s.evaluation_id, 0)
            values["grading_attempts"] = GradingAttemptsOut(used=used, limit=limit, left=max(0, limit - used))
        return cls(**values)


@router.post(
    "/candidates/{candidate_id}/submissions",
    status_code=201,
    response_model=SubmissionOut,
    responses=replayed(SubmissionOut, "The same Idempotency-Key again: the first submission"),
)
async def submit(
    candidate_id: VisibleCandidate,
    response: Response,
    principal: Annotated[Principal, Depends(require("candidate", "lms"))],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    referential: ReferentialDep,
    store: ArtifactsDep,
    evaluation_id: Annotated[ShortId, Form(description="global id, e.g. 2.EV1")],
    file: Annotated[UploadFile, File(description="the deliverable (a zip for code and models)")],
    pack_id: Annotated[
        Annotated[str, CleanText("identifier", 0, 100)] | None,
        Form(description="grading pack for automated grading"),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="the client's key for this hand-in: the same key again returns the first submission",
        ),
    ] = None,
) -> SubmissionOut:
    """A candidate hands in a deliverable for an evaluation; naming a grading pack asks for grading."""
    content = await file.read(settings.max_submission_bytes + 1)
    if len(content) > settings.max_submission_bytes:
        raise Problem(
            413,
            "Submission too large",
            f"The file exceeds {settings.max_submission_bytes} bytes.",
            type="submission-too-large",
            field="file",
        )
    if not content:
        raise Problem(422, "Empty submission", "The file is empty.", type="validation-error", field="file")
    digest = hashlib.sha256(content).hexdigest()
    cmd = submissions.ReceiveSubmission(
        candidate_id=candidate_id,
        evaluation_id=evaluation_id,
        digest=digest,
        size_bytes=len(content),
        media_type=file.content_type or "application/octet-stream",
        filename=(file.filename or None) and file.filename[:255],
        pack_id=pack_id or None,
        idempotency_key=idempotency_key,
    )
    limit = settings.grading_max_attempts_per_evaluation
    submission, created = submissions.receive_submission(
        cmd,
        uow=uow,
        referential=referential,
        artifact_url=settings.base_url() + "/submissions/{submission_id}/artifact",
        max_attempts=limit,
        store=lambda: store.put(content),  # only once the checks passed: a refused hand-in is not stored
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/submissions/{submission.id}"
    return SubmissionOut.of(submission, principal, views.graded_attempts(uow, candidate_id), limit)


def _visible_submission(
    request: Request, uow: AssessmentUnitOfWork, principal: Principal, submission_id: str
) -> Submission:
    submission = views.submission(uow, submission_id)
    hidden = not_found("Submission", submission_id, "submission_id")
    if submission is None:
        raise hidden
    ensure_visible(request, principal, submission.candidate_id, hidden_as=hidden)
    return submission


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def get_submission(
    submission_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms", "service"))],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> SubmissionOut:
    submission = _visible_submission(request, uow, principal, submission_id)
    attempts = views.graded_attempts(uow, submission.candidate_id)
    return SubmissionOut.of(submission, principal, attempts, settings.grading_max_attempts_per_evaluation)


@router.get("/candidates/{candidate_id}/submissions", response_model=list[SubmissionOut])
def list_submissions(
    candidate_id: VisibleCandidate,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "lms"))],
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> list[SubmissionOut]:
    limit = settings.grading_max_attempts_per_evaluation
    found, attempts = views.submissions(uow, candidate_id)
    return [SubmissionOut.of(s, principal, attempts, limit) for s in found]


@router.get(
    "/submissions/{submission_id}/artifact",
    response_class=Response,
    responses=download_responses(description="The submitted file, byte for byte"),
)
def artifact(
    submission_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("candidate", "jury", "officer", "service"))],
    uow: UnitOfWorkDep,
    store: ArtifactsDep,
) -> Response:
    """The submitted file, byte for byte (grading-compute fetches it with a service token: the claim check).
    Always a download: its type is read from the file, never the type the uploader claimed."""
    submission = _visible_submission(request, uow, principal, submission_id)
    return file_response(
        store.path(submission.digest),
        filename=submission.filename,
        headers={"X-Content-SHA256": submission.digest},
    )
