"""A candidate's hand-in: the checks before the file is stored, then the submission and, with a grading pack,
the request for automated grading, in one unit of work (submission.received, grading.requested)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from certifia_assessment.domain.candidates import check_active
from certifia_assessment.domain.model import AttemptLimitReached, Submission, UnknownEvaluation
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.db import Conflict
from certifia_shared.envelope import utcnow
from certifia_shared.referential import Evaluation, Referential, ReferentialLookupError


@dataclass(frozen=True)
class ReceiveSubmission:
    candidate_id: str
    evaluation_id: str
    digest: str
    size_bytes: int
    media_type: str
    filename: str | None
    pack_id: str | None
    idempotency_key: str | None


def _evaluation(referential: Referential, evaluation_id: str) -> Evaluation:
    try:
        return referential.evaluation(evaluation_id)
    except ReferentialLookupError:
        raise UnknownEvaluation(evaluation_id) from None


def check_submission(
    candidate_id: str,
    evaluation_id: str,
    *,
    uow: AssessmentUnitOfWork,
    referential: Referential,
    pack_id: str | None = None,
    idempotency_key: str | None = None,
    max_attempts: int | None = None,
) -> None:
    """What :func:`receive_submission` refuses, checked before the file is stored: the candidate (known, not
    withdrawn), the evaluation, then the attempt limit (a replay of a hand-in already made passes)."""
    with uow:
        check_active(candidate_id, uow.candidates.candidate(candidate_id))
        replay = idempotency_key and uow.submissions.submission_by_key(candidate_id, idempotency_key)
        if pack_id and max_attempts is not None and not replay:
            check_attempts(uow, candidate_id, evaluation_id, max_attempts)
    _evaluation(referential, evaluation_id)


def check_attempts(
    uow: AssessmentUnitOfWork,
    candidate_id: str,
    evaluation_id: str,
    limit: int,
    *,
    lock: bool = False,
) -> None:
    """Raise :class:`AttemptLimitReached` when the candidate has had ``limit`` submissions for the
    evaluation graded already (every one counts, whatever its verdict: a submission that runs to its
    wall-clock limit costs an attempt like any other)."""
    used = uow.submissions.graded_attempts(candidate_id, lock=lock).get(evaluation_id, 0)
    if used >= limit:
        raise AttemptLimitReached(candidate_id, evaluation_id, limit, used)


def receive_submission(
    cmd: ReceiveSubmission,
    *,
    uow: AssessmentUnitOfWork,
    referential: Referential,
    artifact_url: str,
    max_attempts: int | None = None,
    store: Callable[[], object] | None = None,
) -> tuple[Submission, bool]:
    """Record a stored file as a submission; ask for automated grading when a pack is named, unless the
    candidate has used their ``max_attempts`` for the evaluation (None: no limit). Returns the submission
    and whether it is new (the same idempotency key again: the first one).

    ``store`` keeps the file: called once the hand-in passed :func:`check_submission` (so that a refused one
    is never stored) and before it is recorded (the event points at the file). A withdrawal or another
    hand-in between the check and the record is refused too."""
    if store is not None:
        check_submission(
            cmd.candidate_id,
            cmd.evaluation_id,
            uow=uow,
            referential=referential,
            pack_id=cmd.pack_id,
            idempotency_key=cmd.idempotency_key,
            max_attempts=max_attempts,
        )
        store()  # content-addressed, so a retry is harmless
    evaluation = _evaluation(referential, cmd.evaluation_id)
    with uow:
        check_active(cmd.candidate_id, uow.candidates.candidate(cmd.candidate_id))
        if cmd.idempotency_key:
            existing = uow.submissions.submission_by_key(cmd.candidate_id, cmd.idempotency_key)
            if existing is not None:
                return existing, False
        if cmd.pack_id and max_attempts is not None:
            check_attempts(uow, cmd.candidate_id, evaluation.id, max_attempts, lock=True)
        submission = Submission(
            id=str(uuid.uuid4()),
            candidate_id=cmd.candidate_id,
            evaluation_id=evaluation.id,
            digest=cmd.digest,
            size_bytes=cmd.size_bytes,
            media_type=cmd.media_type,
            filename=cmd.filename,
            pack_id=cmd.pack_id,
            status="grading" if cmd.pack_id else "received",
            received_at=utcnow(),
        )
        uow.submissions.add_submission(submission, cmd.idempotency_key)
        uow.emit(ev.SUBMISSION_RECEIVED, subject=cmd.candidate_id, data=_received(submission))
        if cmd.pack_id:
            data = _grading_requested(submission, evaluation, cmd.pack_id, referential, artifact_url)
            uow.emit(ev.GRADING_REQUESTED, subject=cmd.candidate_id, data=data)
        try:
            uow.commit()
        except Conflict:  # a concurrent twin with the same idempotency key won
            uow.rollback()
            twin = uow.submissions.submission_by_key(cmd.candidate_id, cmd.idempotency_key or "")
            if twin is None:
                raise
            return twin, False
        return submission, True


def _received(submission: Submission) -> dict[str, Any]:
    received: dict[str, Any] = {
        "submission_id": submission.id,
        "candidate_id": submission.candidate_id,
        "evaluation_id": submission.evaluation_id,
        "digest": submission.digest,
        "size_bytes": submission.size_bytes,
        "media_type": submission.media_type,
        "received_at": submission.received_at.isoformat(),
    }
    if submission.filename:
        received["filename"] = submission.filename
    return received


def _grading_requested(
    submission: Submission, evaluation: Evaluation, pack_id: str, referential: Referential, artifact_url: str
) -> dict[str, Any]:
    bloc = referential.bloc(evaluation.bloc)
    return {
        "submission_id": submission.id,
        "candidate_id": submission.candidate_id,
        "evaluation_id": evaluation.id,
        "pack_id": pack_id,
        "criteria": [c.id for c in bloc.evaluation_criteria(evaluation)],
        "artifact": {
            "url": artifact_url.format(submission_id=submission.id),
            "sha256": submission.digest,
            "size_bytes": submission.size_bytes,
        },
        "requested_at": submission.received_at.isoformat(),
    }
