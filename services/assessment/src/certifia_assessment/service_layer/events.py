"""Handlers of other services' events (the Kafka consumer calls each inside its unit of work, then commits):
enrolment's candidate.enrolled, option.chosen, candidate.withdrawn and accommodation.granted; grading's
grading.completed (v2) and grading.failed; the thesis service's facts for the audit trail (thesis_audit)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from certifia_assessment.domain.candidates import UnknownCandidate
from certifia_assessment.domain.governance import Accommodation
from certifia_assessment.domain.jury_policy import JuryPolicy
from certifia_assessment.domain.model import CriterionAlreadyValidated, Submission
from certifia_assessment.service_layer.decisions import DecideCriterion, record_decision
from certifia_assessment.service_layer.proposing import propose_if_reviewed, read_jury_policy
from certifia_assessment.service_layer.thesis_audit import thesis_handlers
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.envelope import CloudEvent, event_time
from certifia_shared.feedback import candidate_explanation
from certifia_shared.referential import Criterion, Referential, ReferentialLookupError

log = logging.getLogger(__name__)


def _known(uow: AssessmentUnitOfWork, candidate_id: str) -> None:
    if uow.candidates.candidate(candidate_id) is None:
        # enrolled is keyed like the other candidate events and comes first on the same partition: a gap
        raise UnknownCandidate(candidate_id)


def on_candidate_enrolled(event: CloudEvent, uow: AssessmentUnitOfWork) -> None:
    data = event.data
    if uow.candidates.candidate(data["candidate_id"]) is None:
        uow.candidates.add_candidate(
            id=data["candidate_id"],
            path=data["path"],
            given_name=data["given_name"],
            family_name=data["family_name"],
            enrolled_at=event_time(data["enrolled_at"]),
            lms_client=data["lms_client"],
        )


def on_option_chosen(event: CloudEvent, uow: AssessmentUnitOfWork) -> None:
    _known(uow, event.data["candidate_id"])
    uow.candidates.set_option(event.data["candidate_id"], event.data["option"])


def on_candidate_withdrawn(event: CloudEvent, uow: AssessmentUnitOfWork) -> None:
    data = event.data
    _known(uow, data["candidate_id"])
    uow.candidates.set_withdrawn(
        data["candidate_id"],
        event_time(data["withdrawn_at"]),
        by=data.get("withdrawn_by"),  # events written before it existed carry only the role
        by_role=data["withdrawn_by_role"],
        reason=data["reason"],
    )


def on_accommodation_granted(event: CloudEvent, uow: AssessmentUnitOfWork) -> None:
    """Keep the grant: its extra time factor stretches the candidate's appeal window (the latest is in force)."""
    data = event.data
    _known(uow, data["candidate_id"])
    uow.governance.add_accommodation(
        Accommodation(
            id=data["accommodation_id"],
            candidate_id=data["candidate_id"],
            extra_time_factor=float(data["extra_time_factor"]),
            evidence_reference=data["evidence_reference"],
            granted_by=data["granted_by"],
            granted_by_role=data["granted_by_role"],
            granted_at=event_time(data["granted_at"]),
            reason=data.get("reason"),
        )
    )


def graded_criterion(
    referential: Referential, verdict: dict[str, Any], evaluation_bloc: str
) -> Criterion | None:
    """The criterion a grading verdict is about, or None when the verdict is ignored: a criterion the
    referential does not know, or one outside the evaluation's bloc (logged)."""
    try:
        criterion = referential.criterion(verdict["criterion_id"])
    except ReferentialLookupError:
        log.warning("grading verdict for unknown criterion %s ignored", verdict["criterion_id"])
        return None
    if criterion.bloc != evaluation_bloc:
        log.warning("grading verdict for %s outside bloc %s ignored", criterion.id, evaluation_bloc)
        return None
    return criterion


def _graded_another_archive(uow: AssessmentUnitOfWork, submission: Submission, data: dict[str, Any]) -> None:
    """The archive graded is not the one handed in (and stored, and shown to the jury and an appeal): no
    verdict of it is recorded; the submission fails, for an officer to have it graded again."""
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
    uow.submissions.set_submission_result(submission.id, status="failed", report=report, reason=reason)


def grading_handlers(
    referential: Referential, jury_policy: JuryPolicy | None = None
) -> dict[str, Handler[AssessmentUnitOfWork]]:
    """``jury_policy``: which verdicts become proposals a jury member reviews (default: jury_policy.yaml)."""
    policy = jury_policy or read_jury_policy(referential)

    def on_grading_completed(event: CloudEvent, uow: AssessmentUnitOfWork) -> None:
        data = event.data
        submission = uow.submissions.submission(data["submission_id"])
        if submission is None:
            raise LookupError(f"grading.completed for unknown submission {data['submission_id']}")
        if data["submission_digest"] != submission.digest:
            _graded_another_archive(uow, submission, data)
            return
        evaluation_bloc = referential.evaluation(submission.evaluation_id).bloc
        grader = f"grading-compute:{data['pack_id']}@{data['pack_version']}"
        for verdict in data["criteria"]:
            criterion = graded_criterion(referential, verdict, evaluation_bloc)
            if criterion is None:
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
        uow.submissions.set_submission_result(submission.id, status="graded", report=data, reason=None)

    def on_grading_failed(event: CloudEvent, uow: AssessmentUnitOfWork) -> None:
        submission = uow.submissions.submission(event.data["submission_id"])
        if submission is None:
            raise LookupError(f"grading.failed for unknown submission {event.data['submission_id']}")
        uow.submissions.set_submission_result(
            submission.id, status="failed", report=event.data, reason=event.data["reason"]
        )

    # grading.completed is read in v2 only (v1 cannot carry an equality check); the v1 grading-compute
    # still writes beside it is ignored here, so each verdict is recorded once
    return {ev.GRADING_COMPLETED_V2: on_grading_completed, ev.GRADING_FAILED: on_grading_failed}


def event_handlers(
    referential: Referential, jury_policy: JuryPolicy | None = None
) -> dict[str, Handler[AssessmentUnitOfWork]]:
    return {
        ev.CANDIDATE_ENROLLED: on_candidate_enrolled,
        ev.OPTION_CHOSEN: on_option_chosen,
        ev.CANDIDATE_WITHDRAWN: on_candidate_withdrawn,
        ev.ACCOMMODATION_GRANTED: on_accommodation_granted,
        **grading_handlers(referential, jury_policy),
        **thesis_handlers(),  # the audit trail's thesis entries
    }
