"""The handlers of other services' events on the fake unit of work (the consumer opens it and commits):
enrolment's candidate events, grading's verdicts (and the verdicts ignored), the thesis service's audit facts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from certifia_assessment.domain.candidates import UnknownCandidate
from certifia_assessment.domain.jury_policy import JuryPolicy, parse_jury_policy
from certifia_assessment.domain.model import Submission
from certifia_assessment.service_layer.events import (
    event_handlers,
    graded_criterion,
    grading_handlers,
    on_accommodation_granted,
    on_candidate_enrolled,
    on_candidate_withdrawn,
    on_option_chosen,
)
from certifia_assessment.service_layer.proposing import proposal_id
from certifia_assessment.service_layer.thesis_audit import thesis_handlers
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.referential import load_referential
from certifia_shared.testing import enrolled_event

from .fakes import FakeAssessmentUnitOfWork, enrol, event_data

REF = load_referential()
RECEIVED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
DIGEST = "ab" * 32


def policy(name: str = "automated_final", **entry: Any) -> JuryPolicy:
    return parse_jury_policy({"version": "9.9.9", "evaluations": {"1.EV3": {"policy": name, **entry}}}, REF)


def event(type: str, **data: Any) -> CloudEvent:
    return CloudEvent(
        type=type, source="/certifia/test", subject=data.get("candidate_id", "cand-1"), data=data
    )


def apply(uow: FakeAssessmentUnitOfWork, handler: Any, e: CloudEvent) -> None:
    """The consumer's way: one unit of work, committed once the handler returned."""
    with uow:
        handler(e, uow)
        uow.commit()


@pytest.fixture
def uow() -> FakeAssessmentUnitOfWork:
    fake = FakeAssessmentUnitOfWork()
    enrol(fake, "cand-1")
    return fake


# -- enrolment's events --------------------------------------------------------------------------------
def test_an_enrolment_makes_the_candidate_known_once(uow: FakeAssessmentUnitOfWork) -> None:
    candidate = uow.candidates.candidate("cand-1")
    assert candidate is not None
    assert (candidate["path"], candidate["lms_client"], candidate["withdrawn_at"]) == (
        "formation",
        "moodle",
        None,
    )
    assert candidate["enrolled_at"] == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    apply(uow, on_candidate_enrolled, enrolled_event("cand-1", path="vae", given_name="Grace"))  # a replay
    assert uow.candidates.candidate("cand-1") == candidate
    assert uow.events() == []


def test_an_option_is_kept_for_a_known_candidate_and_a_gap_fails_loudly(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    apply(uow, on_option_chosen, event(ev.OPTION_CHOSEN, candidate_id="cand-1", option="5B"))
    assert (uow.candidates.candidate("cand-1") or {})["option"] == "5B"
    with pytest.raises(UnknownCandidate):
        apply(uow, on_option_chosen, event(ev.OPTION_CHOSEN, candidate_id="cand-2", option="5A"))
    assert uow.candidates.candidate("cand-2") is None


def test_the_first_withdrawal_stands_with_who_and_why(uow: FakeAssessmentUnitOfWork) -> None:
    first = {"withdrawn_by_role": "candidate", "withdrawn_by": "account-1", "reason": "moved abroad"}
    apply(
        uow,
        on_candidate_withdrawn,
        event(
            ev.CANDIDATE_WITHDRAWN, candidate_id="cand-1", withdrawn_at="2026-10-02T10:00:00+02:00", **first
        ),
    )
    again = {"withdrawn_by_role": "officer", "reason": "replayed"}
    apply(
        uow,
        on_candidate_withdrawn,
        event(
            ev.CANDIDATE_WITHDRAWN, candidate_id="cand-1", withdrawn_at="2026-11-01T10:00:00+00:00", **again
        ),
    )
    candidate = uow.candidates.candidate("cand-1") or {}
    assert candidate["withdrawn_at"] == datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
    assert (candidate["withdrawn_by"], candidate["withdrawn_by_role"], candidate["withdrawal_reason"]) == (
        "account-1",
        "candidate",
        "moved abroad",
    )
    with pytest.raises(UnknownCandidate):
        apply(
            uow,
            on_candidate_withdrawn,
            event(
                ev.CANDIDATE_WITHDRAWN,
                candidate_id="cand-2",
                withdrawn_at="2026-10-02T10:00:00+00:00",
                **first,
            ),
        )


def accommodation(id: str, factor: float, at: str, candidate: str = "cand-1") -> CloudEvent:
    return event(
        ev.ACCOMMODATION_GRANTED,
        accommodation_id=id,
        candidate_id=candidate,
        extra_time_factor=factor,
        adapted_formats=[],
        evidence_reference="MDPH-2026-001",
        granted_by="officer-1",
        granted_by_role="officer",
        granted_at=at,
    )


def test_the_latest_accommodation_is_in_force_and_a_replay_adds_nothing(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    apply(uow, on_accommodation_granted, accommodation("acc-1", 1.33, "2026-09-02T08:00:00+00:00"))
    apply(uow, on_accommodation_granted, accommodation("acc-2", 1.5, "2026-09-03T08:00:00+00:00"))
    apply(uow, on_accommodation_granted, accommodation("acc-1", 1.33, "2026-09-02T08:00:00+00:00"))
    assert [a.id for a in uow.governance.accommodations_of("cand-1")] == ["acc-1", "acc-2"]
    assert uow.governance.extra_time_factor("cand-1") == 1.5
    with pytest.raises(UnknownCandidate):
        apply(
            uow, on_accommodation_granted, accommodation("acc-3", 2.0, "2026-09-03T08:00:00+00:00", "cand-2")
        )


# -- grading.completed ---------------------------------------------------------------------------------
def hand_in(uow: FakeAssessmentUnitOfWork, submission_id: str = "sub-1") -> Submission:
    submission = Submission(
        id=submission_id,
        candidate_id="cand-1",
        evaluation_id="1.EV3",
        digest=DIGEST,
        size_bytes=22,
        media_type="application/zip",
        filename="solution.zip",
        pack_id="b1_bias_mitigation",
        status="grading",
        received_at=RECEIVED,
    )
    with uow:
        uow.submissions.add_submission(submission, None)
        uow.commit()
    return submission


def verdict(criterion: str, outcome: str = "validated", accuracy: float = 0.86) -> dict[str, Any]:
    return {
        "criterion_id": criterion,
        "verdict": outcome,
        "metric": "accuracy",
        "value": accuracy,
        "threshold": 0.8,
        "comparator": ">=",
        "explanation": f"accuracy = {accuracy:.4f} (attendu >= 0.8)",
    }


def completed(*verdicts: dict[str, Any], digest: str = DIGEST, submission_id: str = "sub-1") -> CloudEvent:
    return event(
        ev.GRADING_COMPLETED_V2,
        submission_id=submission_id,
        candidate_id="cand-1",
        pack_id="b1_bias_mitigation",
        pack_version="1.0.0",
        dataset_seed=4242,
        submission_digest=digest,
        criteria=list(verdicts),
        metrics={"accuracy": 0.86123},
        duration_s=1.0,
        completed_at="2026-10-01T09:05:00+00:00",
    )


def grade(uow: FakeAssessmentUnitOfWork, e: CloudEvent, jury_policy: JuryPolicy | None = None) -> None:
    apply(uow, grading_handlers(REF, jury_policy or policy())[ev.GRADING_COMPLETED_V2], e)


def test_an_automated_final_verdict_is_the_graders_decision_earned_at_the_hand_in(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    submission = hand_in(uow)
    grade(uow, completed(verdict("1.A4.C7.E4"), verdict("1.A4.C4.E2", "rejected", 0.5)))
    in_force = uow.decisions.decision_in_force("cand-1", "1.A4.C7.E4")
    assert in_force is not None
    assert (in_force.decided_by, in_force.decided_by_role) == (
        "grading-compute:b1_bias_mitigation@1.0.0",
        "grading",
    )
    assert in_force.submission_id == "sub-1" and in_force.earned_at == RECEIVED
    assert "0.8612" not in in_force.comment  # the candidate reads the values rounded
    assert [e["criterion_id"] for e in event_data(uow, ev.CRITERION_VALIDATED)] == ["1.A4.C7.E4"]
    assert [e["criterion_id"] for e in event_data(uow, ev.CRITERION_REJECTED)] == ["1.A4.C4.E2"]
    graded = uow.submissions.submission(submission.id)
    assert graded is not None and graded.status == "graded" and graded.report is not None
    assert graded.report["criteria"][0]["criterion_id"] == "1.A4.C7.E4"
    # the validation again (a replay) records nothing: a validated criterion is validated once
    sent = len(uow.events())
    grade(uow, completed(verdict("1.A4.C7.E4")))
    assert len(uow.events()) == sent and len(uow.decisions.rows) == 2


def test_verdicts_for_unknown_criteria_or_outside_the_bloc_are_ignored_and_logged(
    uow: FakeAssessmentUnitOfWork, caplog: pytest.LogCaptureFixture
) -> None:
    hand_in(uow)
    with caplog.at_level(logging.WARNING):
        grade(uow, completed(verdict("9.Z9.C9.E9"), verdict("2.A1.C1.E1"), verdict("1.A4.C7.E4")))
    assert [d.criterion_id for d in uow.decisions.rows.values()] == ["1.A4.C7.E4"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "grading verdict for unknown criterion 9.Z9.C9.E9 ignored" in warnings
    assert "grading verdict for 2.A1.C1.E1 outside bloc 1 ignored" in warnings
    assert [s.status for s in uow.submissions.submissions_of("cand-1")] == ["graded"]


def test_graded_criterion_names_the_criterion_or_none() -> None:
    assert graded_criterion(REF, verdict("1.A4.C7.E4"), "1") == REF.criterion("1.A4.C7.E4")
    assert graded_criterion(REF, verdict("1.A4.C7.E4"), "2") is None
    assert graded_criterion(REF, verdict("nope"), "1") is None


def test_a_verdict_rejecting_a_validated_criterion_is_not_recorded(
    uow: FakeAssessmentUnitOfWork, caplog: pytest.LogCaptureFixture
) -> None:
    hand_in(uow, "sub-1")
    grade(uow, completed(verdict("1.A4.C7.E4")))
    hand_in(uow, "sub-2")
    with caplog.at_level(logging.INFO):
        grade(uow, completed(verdict("1.A4.C7.E4", "rejected", 0.1), submission_id="sub-2"))
    assert [d.outcome for d in uow.decisions.decisions_of("cand-1")] == ["validated"]
    assert uow.events(ev.CRITERION_REJECTED) == []
    assert any("not recorded" in r.getMessage() for r in caplog.records)
    assert [s.status for s in uow.submissions.submissions_of("cand-1")] == ["graded", "graded"]


def test_a_verdict_on_another_archive_than_the_one_handed_in_records_nothing(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    hand_in(uow)
    grade(uow, completed(verdict("1.A4.C7.E4"), digest="cd" * 32))
    assert uow.decisions.rows == {} and uow.events() == []
    failed = uow.submissions.submission("sub-1")
    assert failed is not None and failed.status == "failed"
    assert (
        failed.report is not None
        and failed.report["criteria"] == []
        and failed.report["cause"] == "infrastructure"
    )
    assert "digest mismatch" in (failed.failure_reason or "")
    assert uow.submissions.graded_attempts("cand-1") == {}  # it costs the candidate no attempt


def test_a_verdict_under_jury_review_is_a_proposal_not_a_decision(uow: FakeAssessmentUnitOfWork) -> None:
    hand_in(uow)
    grade(uow, completed(verdict("1.A4.C7.E4")), policy("jury_confirms"))
    assert uow.decisions.rows == {}
    pid = proposal_id("sub-1", "1.A4.C7.E4")
    proposal = uow.proposals.get(pid)
    assert proposal is not None and proposal.status == "pending" and proposal.proposed_outcome == "validated"
    assert proposal.grader == "b1_bias_mitigation@1.0.0" and proposal.review_reasons == ("jury_confirms",)
    [proposed] = event_data(uow, ev.VERDICT_PROPOSED)
    assert (proposed["proposal_id"], proposed["policy"]) == (pid, "jury_confirms")
    grade(uow, completed(verdict("1.A4.C7.E4")), policy("jury_confirms"))  # a replay adds nothing
    assert len(uow.events(ev.VERDICT_PROPOSED)) == 1 and len(uow.proposals.rows) == 1


def test_an_implausible_value_is_reviewed_even_under_automated_final(uow: FakeAssessmentUnitOfWork) -> None:
    hand_in(uow)
    grade(uow, completed(verdict("1.A4.C7.E4", accuracy=1.0)), policy(plausible={"accuracy": {"max": 0.98}}))
    assert uow.decisions.rows == {}
    [proposed] = event_data(uow, ev.VERDICT_PROPOSED)
    assert proposed["review_reasons"] == ["implausible"]


def test_grading_for_an_unknown_submission_fails_loudly(uow: FakeAssessmentUnitOfWork) -> None:
    handlers = grading_handlers(REF, policy())
    with pytest.raises(LookupError, match="unknown submission sub-9"):
        apply(uow, handlers[ev.GRADING_COMPLETED_V2], completed(submission_id="sub-9"))
    failed = event(
        ev.GRADING_FAILED,
        submission_id="sub-9",
        candidate_id="cand-1",
        pack_id="p",
        reason="x",
        failed_at="2026-10-01T09:00:00+00:00",
    )
    with pytest.raises(LookupError, match="unknown submission sub-9"):
        apply(uow, handlers[ev.GRADING_FAILED], failed)


# -- grading.failed ------------------------------------------------------------------------------------
def test_on_grading_failed_fails_the_submission_with_the_reason_and_keeps_the_report(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    hand_in(uow)
    data = {
        "submission_id": "sub-1",
        "candidate_id": "cand-1",
        "pack_id": "b1_bias_mitigation",
        "reason": "wall-clock limit of 300 s reached",
        "failed_at": "2026-10-01T09:10:00+00:00",
    }
    apply(uow, grading_handlers(REF, policy())[ev.GRADING_FAILED], event(ev.GRADING_FAILED, **data))
    failed = uow.submissions.submission("sub-1")
    assert failed is not None
    assert (failed.status, failed.failure_reason, failed.report) == ("failed", data["reason"], data)
    assert uow.decisions.rows == {} and uow.events() == []
    assert uow.submissions.graded_attempts("cand-1") == {"1.EV3": 1}  # the candidate's own failure counts
    hand_in(uow, "sub-2")
    infra = {**data, "submission_id": "sub-2", "cause": "infrastructure"}
    apply(uow, grading_handlers(REF, policy())[ev.GRADING_FAILED], event(ev.GRADING_FAILED, **infra))
    assert uow.submissions.graded_attempts("cand-1") == {"1.EV3": 1}  # the infrastructure's does not


# -- the thesis service's facts ------------------------------------------------------------------------
def test_a_thesis_fact_is_kept_once_for_the_audit_trail_in_utc(uow: FakeAssessmentUnitOfWork) -> None:
    handler = thesis_handlers()[ev.DEFENCE_CANCELLED]
    cancelled = event(
        ev.DEFENCE_CANCELLED,
        defence_id="def-1",
        candidate_id="cand-1",
        reason="jury unavailable",
        cancelled_at="2026-10-05T14:00:00+02:00",
        cancelled_by="officer-1",
    )
    apply(uow, handler, cancelled)
    apply(uow, handler, cancelled)  # the same event again
    [entry] = uow.governance.thesis_entries_of("cand-1")
    assert (entry.kind, entry.account, entry.reason, entry.ref) == (
        "defence_cancelled",
        "officer-1",
        "jury unavailable",
        "def-1",
    )
    assert entry.at == datetime(2026, 10, 5, 12, 0, tzinfo=UTC) and entry.at.utcoffset() == timedelta(0)
    with pytest.raises(UnknownCandidate):
        apply(uow, handler, event(ev.DEFENCE_CANCELLED, **{**cancelled.data, "candidate_id": "cand-2"}))


def test_the_consumer_applies_enrolment_grading_v2_and_thesis_events() -> None:
    handlers = event_handlers(REF, policy())
    assert {ev.CANDIDATE_ENROLLED, ev.OPTION_CHOSEN, ev.CANDIDATE_WITHDRAWN, ev.ACCOMMODATION_GRANTED} <= set(
        handlers
    )
    assert {ev.GRADING_COMPLETED_V2, ev.GRADING_FAILED, ev.DEFENCE_CANCELLED, ev.THESIS_DEFENDED} <= set(
        handlers
    )
    assert ev.GRADING_COMPLETED not in handlers  # v1 is ignored: each verdict is recorded once
