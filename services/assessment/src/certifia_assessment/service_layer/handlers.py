"""Assessment use cases. Each runs in one unit of work: state change and its events commit together."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certifia_assessment.adapters.governance_repository import GovernanceRepository
from certifia_assessment.adapters.repository import AssessmentRepository
from certifia_assessment.domain.governance import Accommodation
from certifia_assessment.domain.jury_policy import JuryPolicy
from certifia_assessment.domain.model import (
    CriterionAlreadyValidated,
    DeciderRole,
    Decision,
    Outcome,
    Submission,
    bloc_is_passed,
    check_decision_allowed,
    check_reasoned,
    competencies_now_validated,
)
from certifia_assessment.service_layer.proposing import propose_if_reviewed, read_jury_policy
from certifia_shared import event_types as ev
from certifia_shared.db import Conflict, UnitOfWork, retry_on_conflict
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.feedback import candidate_explanation
from certifia_shared.referential import Competency, Referential, ReferentialLookupError

log = logging.getLogger(__name__)


class UnknownCandidate(LookupError):
    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


class CandidateWithdrawn(Exception):
    """The candidate left the certification (candidate.withdrawn): nothing new is assessed for them."""

    def __init__(self, candidate_id: str, withdrawn_at: datetime) -> None:
        super().__init__(f"candidate {candidate_id} withdrew on {withdrawn_at:%Y-%m-%d}")
        self.candidate_id = candidate_id
        self.withdrawn_at = withdrawn_at


def active_candidate(repo: AssessmentRepository, candidate_id: str) -> dict[str, Any]:
    """The candidate, if known and not withdrawn. Results of work handed in before a withdrawal (a
    grading verdict, an appeal already open) still land: they go through record_decision, not here."""
    candidate = repo.candidate(candidate_id)
    if candidate is None:
        raise UnknownCandidate(candidate_id)
    if candidate.get("withdrawn_at") is not None:
        raise CandidateWithdrawn(candidate_id, candidate["withdrawn_at"])
    return candidate


class UnknownCriterion(LookupError):
    def __init__(self, criterion_id: str) -> None:
        super().__init__(criterion_id)
        self.criterion_id = criterion_id


class UnknownEvaluation(LookupError):
    def __init__(self, evaluation_id: str) -> None:
        super().__init__(evaluation_id)
        self.evaluation_id = evaluation_id


class NotVaeCandidate(Exception):
    """Blocs are validated by a VAE jury only for candidates enrolled on the VAE path."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


class AttemptLimitReached(Exception):
    """The candidate has had ``limit`` submissions graded for this evaluation (the setting
    GRADING_MAX_ATTEMPTS_PER_EVALUATION): another one is not graded."""

    def __init__(self, candidate_id: str, evaluation_id: str, limit: int, used: int) -> None:
        super().__init__(f"{candidate_id} used {used} of {limit} graded attempts for {evaluation_id}")
        self.candidate_id = candidate_id
        self.evaluation_id = evaluation_id
        self.limit = limit
        self.used = used


@dataclass(frozen=True)
class DecideCriterion:
    candidate_id: str
    criterion_id: str
    outcome: Outcome
    comment: str
    decided_by: str
    decided_by_role: DeciderRole
    submission_id: str | None = None
    decision_id: str | None = None
    earned_at: datetime | None = None
    """When the right was earned: the graded submission's received_at, the upheld appeal's opened_at; None
    for a decision on the spot (a jury's): its own time. bloc.passed carries the latest (its earned_at)."""


def decide_criterion(
    cmd: DecideCriterion, *, uow: UnitOfWork, referential: Referential
) -> tuple[Decision, bool]:
    """Record a decision on one criterion and apply the competency and bloc rules.

    Returns the decision in force and whether a new one was recorded (validating a validated criterion
    again records nothing and emits nothing).
    """

    def attempt() -> tuple[Decision, bool]:
        with uow:
            active_candidate(AssessmentRepository(uow.session), cmd.candidate_id)
            check_reasoned(cmd.outcome, cmd.comment)
            decision, created = record_decision(cmd, uow, referential)
            uow.commit()
            return decision, created

    # an identical decision, or an upheld appeal, validating the same criterion at the same moment: the
    # retry finds it in force and answers as a repeat (200), instead of the unique key's 500
    return retry_on_conflict(attempt)


def record_decision(cmd: DecideCriterion, uow: UnitOfWork, referential: Referential) -> tuple[Decision, bool]:
    """The decision path inside an open unit of work (the caller commits): record the decision, emit
    criterion.validated or criterion.rejected and, for a validation, apply the competency and bloc rules
    (competency.validated, bloc.passed). Every decision goes through here: jury, grading, upheld appeals."""
    repo = AssessmentRepository(uow.session)
    if repo.candidate(cmd.candidate_id) is None:
        raise UnknownCandidate(cmd.candidate_id)
    try:
        criterion = referential.criterion(cmd.criterion_id)
    except ReferentialLookupError:
        raise UnknownCriterion(cmd.criterion_id) from None
    current = repo.decision_in_force(cmd.candidate_id, criterion.id)
    if not check_decision_allowed(current, cmd.outcome):
        assert current is not None
        return current, False
    now = utcnow()
    decision = Decision(
        id=cmd.decision_id or str(uuid.uuid4()),
        candidate_id=cmd.candidate_id,
        bloc=criterion.bloc,
        criterion_id=criterion.id,
        criterion_code=criterion.code,
        outcome=cmd.outcome,
        comment=cmd.comment,
        decided_by=cmd.decided_by,
        decided_by_role=cmd.decided_by_role,
        decided_at=now,
        submission_id=cmd.submission_id,
        earned_at=cmd.earned_at or now,
    )
    repo.add_decision(decision)
    event_type = ev.CRITERION_VALIDATED if cmd.outcome == "validated" else ev.CRITERION_REJECTED
    uow.emit(event_type, subject=cmd.candidate_id, data=_decision_payload(decision, referential))
    if cmd.outcome == "validated":
        _apply_rules(repo, uow, referential, cmd.candidate_id, criterion.bloc, decision.decided_at)
    return decision, True


def _apply_rules(
    repo: AssessmentRepository,
    uow: UnitOfWork,
    referential: Referential,
    candidate_id: str,
    bloc: str,
    at: datetime,
) -> None:
    validated = repo.validated_criteria(candidate_id, bloc)
    before = repo.validated_competencies(candidate_id, bloc)
    for competency in competencies_now_validated(referential, bloc, validated, before):
        criteria = [c.id for c in referential.criteria_validating(competency.id)]
        earned = max(repo.validations_earned_at(candidate_id, criteria).values(), default=at)
        validate_competency(repo, uow, referential, candidate_id, competency, at, earned_at=earned)
        before.add(competency.id)
    if bloc not in repo.passed_blocs(candidate_id) and bloc_is_passed(referential, bloc, before):
        bloc_earned = repo.competencies_earned_at(candidate_id, bloc)
        pass_bloc(repo, uow, referential, candidate_id, bloc, "assessment", at, earned_at=bloc_earned)


def validate_competency(
    repo: AssessmentRepository,
    uow: UnitOfWork,
    referential: Referential,
    candidate_id: str,
    competency: Competency,
    at: datetime,
    *,
    earned_at: datetime,
) -> None:
    """Record the competency validated and emit competency.validated (by its criteria, or a VAE jury)."""
    repo.add_competency_validation(candidate_id, competency.id, competency.bloc, at, earned_at=earned_at)
    uow.emit(
        ev.COMPETENCY_VALIDATED,
        subject=candidate_id,
        data={
            "candidate_id": candidate_id,
            "bloc": competency.bloc,
            "competency_id": competency.id,
            "competency_code": competency.code,
            "criteria": [c.id for c in referential.criteria_validating(competency.id)],
            "validated_at": at.isoformat(),
            "referential_version": referential.version,
        },
    )


def pass_bloc(
    repo: AssessmentRepository,
    uow: UnitOfWork,
    referential: Referential,
    candidate_id: str,
    bloc: str,
    via: str,
    at: datetime,
    *,
    earned_at: datetime | None = None,
) -> None:
    """``earned_at``: the latest time a right behind the pass was earned (see bloc.passed's schema); the
    pass itself when None."""
    earned = min(earned_at or at, at)
    repo.add_bloc_pass(candidate_id, bloc, via, at, earned_at=earned)
    uow.emit(
        ev.BLOC_PASSED,
        subject=candidate_id,
        data={
            "candidate_id": candidate_id,
            "bloc": bloc,
            "competencies": [c.id for c in referential.bloc(bloc).competencies],
            "via": via,
            "passed_at": at.isoformat(),
            "referential_version": referential.version,
            "earned_at": earned.isoformat(),
        },
    )


def _decision_payload(d: Decision, referential: Referential) -> dict[str, Any]:
    return {
        "decision_id": d.id,
        "candidate_id": d.candidate_id,
        "bloc": d.bloc,
        "criterion_id": d.criterion_id,
        "criterion_code": d.criterion_code,
        "decided_by": d.decided_by,
        "decided_by_role": d.decided_by_role,
        "comment": d.comment,
        "submission_id": d.submission_id,
        "decided_at": d.decided_at.isoformat(),
        "referential_version": referential.version,
    }


# -- submissions ---------------------------------------------------------------------------------------
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


def check_submission(
    candidate_id: str,
    evaluation_id: str,
    *,
    uow: UnitOfWork,
    referential: Referential,
    pack_id: str | None = None,
    idempotency_key: str | None = None,
    max_attempts: int | None = None,
) -> None:
    """What :func:`receive_submission` refuses, checked before the file is stored: the candidate (known, not
    withdrawn), the evaluation, then the attempt limit (a replay of a hand-in already made passes)."""
    with uow:
        repo = AssessmentRepository(uow.session)
        active_candidate(repo, candidate_id)
        replay = idempotency_key and repo.submission_by_key(candidate_id, idempotency_key)
        if pack_id and max_attempts is not None and not replay:
            check_attempts(repo, candidate_id, evaluation_id, max_attempts)
    try:
        referential.evaluation(evaluation_id)
    except ReferentialLookupError:
        raise UnknownEvaluation(evaluation_id) from None


def check_attempts(
    repo: AssessmentRepository, candidate_id: str, evaluation_id: str, limit: int, *, lock: bool = False
) -> None:
    """Raise :class:`AttemptLimitReached` when the candidate has had ``limit`` submissions for the
    evaluation graded already (every one counts, whatever its verdict: a submission that runs to its
    wall-clock limit costs an attempt like any other)."""
    used = repo.graded_attempts(candidate_id, lock=lock).get(evaluation_id, 0)
    if used >= limit:
        raise AttemptLimitReached(candidate_id, evaluation_id, limit, used)


def receive_submission(
    cmd: ReceiveSubmission,
    *,
    uow: UnitOfWork,
    referential: Referential,
    artifact_url: str,
    max_attempts: int | None = None,
) -> tuple[Submission, bool]:
    """Record a stored file as a submission; ask for automated grading when a pack is named, unless the
    candidate has used their ``max_attempts`` for the evaluation (None: no limit)."""
    try:
        evaluation = referential.evaluation(cmd.evaluation_id)
    except ReferentialLookupError:
        raise UnknownEvaluation(cmd.evaluation_id) from None
    with uow:
        repo = AssessmentRepository(uow.session)
        active_candidate(repo, cmd.candidate_id)
        if cmd.idempotency_key:
            existing = repo.submission_by_key(cmd.candidate_id, cmd.idempotency_key)
            if existing is not None:
                return existing, False
        if cmd.pack_id and max_attempts is not None:
            check_attempts(repo, cmd.candidate_id, evaluation.id, max_attempts, lock=True)
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
        repo.add_submission(submission, cmd.idempotency_key)
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
        uow.emit(ev.SUBMISSION_RECEIVED, subject=cmd.candidate_id, data=received)
        if cmd.pack_id:
            bloc = referential.bloc(evaluation.bloc)
            uow.emit(
                ev.GRADING_REQUESTED,
                subject=cmd.candidate_id,
                data={
                    "submission_id": submission.id,
                    "candidate_id": submission.candidate_id,
                    "evaluation_id": evaluation.id,
                    "pack_id": cmd.pack_id,
                    "criteria": [c.id for c in bloc.evaluation_criteria(evaluation)],
                    "artifact": {
                        "url": artifact_url.format(submission_id=submission.id),
                        "sha256": submission.digest,
                        "size_bytes": submission.size_bytes,
                    },
                    "requested_at": submission.received_at.isoformat(),
                },
            )
        try:
            uow.commit()
        except Conflict:  # a concurrent twin with the same idempotency key won
            uow.rollback()
            twin = repo.submission_by_key(cmd.candidate_id, cmd.idempotency_key or "")
            if twin is None:
                raise
            return twin, False
        return submission, True


# -- events from other services ------------------------------------------------------------------------
def on_candidate_enrolled(event: CloudEvent, uow: UnitOfWork) -> None:
    data = event.data
    repo = AssessmentRepository(uow.session)
    if repo.candidate(data["candidate_id"]) is None:
        repo.add_candidate(
            id=data["candidate_id"],
            path=data["path"],
            given_name=data["given_name"],
            family_name=data["family_name"],
            enrolled_at=datetime.fromisoformat(data["enrolled_at"]),
            lms_client=data["lms_client"],
        )


def on_option_chosen(event: CloudEvent, uow: UnitOfWork) -> None:
    repo = AssessmentRepository(uow.session)
    if repo.candidate(event.data["candidate_id"]) is None:
        # enrolled is keyed like option_chosen and comes first on the same partition: this is a gap
        raise UnknownCandidate(event.data["candidate_id"])
    repo.set_option(event.data["candidate_id"], event.data["option"])


def on_candidate_withdrawn(event: CloudEvent, uow: UnitOfWork) -> None:
    repo = AssessmentRepository(uow.session)
    if repo.candidate(event.data["candidate_id"]) is None:
        raise UnknownCandidate(event.data["candidate_id"])  # enrolled comes first on the partition: a gap
    data = event.data
    repo.set_withdrawn(
        data["candidate_id"],
        datetime.fromisoformat(data["withdrawn_at"]),
        by=data.get("withdrawn_by"),  # events written before it existed carry only the role
        by_role=data["withdrawn_by_role"],
        reason=data["reason"],
    )


def on_accommodation_granted(event: CloudEvent, uow: UnitOfWork) -> None:
    """Keep the grant: its extra time factor stretches the candidate's appeal window (the latest is in force)."""
    data = event.data
    if AssessmentRepository(uow.session).candidate(data["candidate_id"]) is None:
        raise UnknownCandidate(data["candidate_id"])  # enrolled comes first on the partition: a gap
    GovernanceRepository(uow.session).add_accommodation(
        Accommodation(
            id=data["accommodation_id"],
            candidate_id=data["candidate_id"],
            extra_time_factor=float(data["extra_time_factor"]),
            evidence_reference=data["evidence_reference"],
            granted_by=data["granted_by"],
            granted_by_role=data["granted_by_role"],
            granted_at=datetime.fromisoformat(data["granted_at"]),
            reason=data.get("reason"),
        )
    )


def grading_handlers(referential: Referential, jury_policy: JuryPolicy | None = None) -> dict[str, Any]:
    """``jury_policy``: which verdicts become proposals a jury member reviews (default: jury_policy.yaml)."""
    policy = jury_policy or read_jury_policy(referential)

    def on_grading_completed(event: CloudEvent, uow: UnitOfWork) -> None:
        data = event.data
        repo = AssessmentRepository(uow.session)
        submission = repo.submission(data["submission_id"])
        if submission is None:
            raise LookupError(f"grading.completed for unknown submission {data['submission_id']}")
        if data["submission_digest"] != submission.digest:
            # the archive graded is not the one handed in (and stored, and shown to the jury and an appeal):
            # no verdict of it is recorded; the submission fails, for an officer to have it graded again
            log.error(
                "grading.completed for submission %s graded an archive of digest %s, not the one handed in (%s): "
                "verdicts not recorded",
                submission.id,
                data["submission_digest"],
                submission.digest,
            )
            reason = (
                "the grading service graded another archive than the one handed in (digest mismatch): no verdict "
                "was recorded; an officer can ask for a new grading"
            )
            report = {**data, "criteria": [], "reason": reason, "cause": "infrastructure"}
            repo.set_submission_result(submission.id, status="failed", report=report, reason=reason)
            return
        evaluation_bloc = referential.evaluation(submission.evaluation_id).bloc
        grader = f"grading-compute:{data['pack_id']}@{data['pack_version']}"
        for verdict in data["criteria"]:
            try:
                criterion = referential.criterion(verdict["criterion_id"])
            except ReferentialLookupError:
                log.warning("grading verdict for unknown criterion %s ignored", verdict["criterion_id"])
                continue
            if criterion.bloc != evaluation_bloc:
                log.warning("grading verdict for %s outside bloc %s ignored", criterion.id, evaluation_bloc)
                continue
            if propose_if_reviewed(uow, policy, submission, data, criterion, verdict):
                continue  # a person answers for it (verdict.proposed): no decision yet
            cmd = DecideCriterion(
                candidate_id=submission.candidate_id,
                criterion_id=criterion.id,
                outcome=verdict["verdict"],
                # the decision (read by the candidate, sent on in criterion.* events) quotes the values
                # rounded; the exact ones stay in the submission's report, which only staff read as is
                comment=candidate_explanation(verdict["explanation"], data.get("metrics")),
                decided_by=grader,
                decided_by_role="grading",
                submission_id=submission.id,
                decision_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{submission.id}/{criterion.id}")),
                earned_at=submission.received_at,  # the right is earned when the work was handed in
            )
            try:
                record_decision(cmd, uow, referential)
            except CriterionAlreadyValidated as exc:  # a validated criterion stays validated
                log.info("grading verdict on %s not recorded: %s", criterion.id, exc)
        repo.set_submission_result(submission.id, status="graded", report=data, reason=None)

    def on_grading_failed(event: CloudEvent, uow: UnitOfWork) -> None:
        repo = AssessmentRepository(uow.session)
        submission = repo.submission(event.data["submission_id"])
        if submission is None:
            raise LookupError(f"grading.failed for unknown submission {event.data['submission_id']}")
        repo.set_submission_result(
            submission.id, status="failed", report=event.data, reason=event.data["reason"]
        )

    # grading.completed is read in v2 only (v1 cannot carry an equality check); the v1 grading-compute
    # still writes beside it is ignored here, so each verdict is recorded once
    return {ev.GRADING_COMPLETED_V2: on_grading_completed, ev.GRADING_FAILED: on_grading_failed}


def event_handlers(referential: Referential, jury_policy: JuryPolicy | None = None) -> dict[str, Any]:
    from certifia_assessment.service_layer.thesis_audit import thesis_handlers  # it imports this module

    return {
        ev.CANDIDATE_ENROLLED: on_candidate_enrolled,
        ev.OPTION_CHOSEN: on_option_chosen,
        ev.CANDIDATE_WITHDRAWN: on_candidate_withdrawn,
        ev.ACCOMMODATION_GRANTED: on_accommodation_granted,
        **grading_handlers(referential, jury_policy),
        **thesis_handlers(),  # the audit trail's thesis entries
    }
