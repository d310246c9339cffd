"""receive_submission and check_submission on the fake unit of work: the submission and its events, the
idempotent replay, the attempt limit, and what is refused before the file is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from certifia_assessment.domain.candidates import CandidateWithdrawn, UnknownCandidate
from certifia_assessment.domain.model import AttemptLimitReached, Submission, UnknownEvaluation
from certifia_assessment.service_layer.submissions import (
    ReceiveSubmission,
    check_submission,
    receive_submission,
)
from certifia_shared import event_types as ev
from certifia_shared.referential import load_referential

from .fakes import FakeAssessmentUnitOfWork, enrol, event_data

REF = load_referential()
URL = "http://assessment.test/submissions/{submission_id}/artifact"


@pytest.fixture
def uow() -> FakeAssessmentUnitOfWork:
    fake = FakeAssessmentUnitOfWork()
    enrol(fake, "cand-1")
    return fake


def cmd(**overrides: Any) -> ReceiveSubmission:
    values: dict[str, Any] = {
        "candidate_id": "cand-1",
        "evaluation_id": "2.EV1",
        "digest": "ab" * 32,
        "size_bytes": 22,
        "media_type": "application/zip",
        "filename": "solution.zip",
        "pack_id": "b2",
        "idempotency_key": None,
        **overrides,
    }
    return ReceiveSubmission(**values)


def receive(
    uow: FakeAssessmentUnitOfWork, stored: list[str] | None = None, **kwargs: Any
) -> tuple[Submission, bool]:
    max_attempts = kwargs.pop("max_attempts", None)
    store = (lambda: stored.append("stored")) if stored is not None else None
    return receive_submission(
        cmd(**kwargs), uow=uow, referential=REF, artifact_url=URL, max_attempts=max_attempts, store=store
    )


def test_a_hand_in_with_a_pack_is_recorded_and_asks_for_grading(uow: FakeAssessmentUnitOfWork) -> None:
    submission, created = receive(uow)
    assert created and submission.status == "grading"
    assert uow.submissions.submission(submission.id) == submission
    [received] = event_data(uow, ev.SUBMISSION_RECEIVED)
    assert received == {
        "submission_id": submission.id,
        "candidate_id": "cand-1",
        "evaluation_id": "2.EV1",
        "digest": "ab" * 32,
        "size_bytes": 22,
        "media_type": "application/zip",
        "received_at": submission.received_at.isoformat(),
        "filename": "solution.zip",
    }
    [requested] = event_data(uow, ev.GRADING_REQUESTED)
    evaluation = REF.evaluation("2.EV1")
    assert requested["pack_id"] == "b2" and requested["evaluation_id"] == "2.EV1"
    assert requested["criteria"] == [c.id for c in REF.bloc("2").evaluation_criteria(evaluation)]
    assert requested["artifact"] == {
        "url": f"http://assessment.test/submissions/{submission.id}/artifact",
        "sha256": "ab" * 32,
        "size_bytes": 22,
    }


def test_without_a_pack_nothing_is_graded_and_without_a_filename_none_is_sent(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    submission, _ = receive(uow, pack_id=None, filename=None)
    assert submission.status == "received"
    [received] = event_data(uow, ev.SUBMISSION_RECEIVED)
    assert "filename" not in received
    assert uow.events(ev.GRADING_REQUESTED) == []


def test_the_same_idempotency_key_again_answers_the_first_submission(uow: FakeAssessmentUnitOfWork) -> None:
    first, _ = receive(uow, idempotency_key="k1")
    again, created = receive(uow, idempotency_key="k1", digest="cd" * 32)
    assert not created and again == first
    assert len(uow.events(ev.SUBMISSION_RECEIVED)) == 1
    other, created = receive(uow, idempotency_key="k2")
    assert created and other.id != first.id


def test_a_concurrent_twin_with_the_same_key_is_answered_with_the_winner(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    twin = Submission(
        id="twin",
        candidate_id="cand-1",
        evaluation_id="2.EV1",
        digest="ab" * 32,
        size_bytes=22,
        media_type="application/zip",
        filename=None,
        pack_id="b2",
        status="grading",
        received_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    uow.race_on_next_commit(lambda committed: committed.submissions.add_submission(twin, "k1"))
    submission, created = receive(uow, idempotency_key="k1")
    assert not created and submission == twin
    assert uow.events(ev.SUBMISSION_RECEIVED) == []  # ours rolled back; the twin's events are its own
    assert [s.id for s in uow.submissions.submissions_of("cand-1")] == ["twin"]


def test_the_attempt_limit_counts_graded_hand_ins_but_not_infrastructure_failures(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    for i in range(2):
        receive(uow, max_attempts=2, idempotency_key=f"k{i}")
    with pytest.raises(AttemptLimitReached) as refused:
        receive(uow, max_attempts=2, idempotency_key="k2")
    assert (refused.value.limit, refused.value.used, refused.value.evaluation_id) == (2, 2, "2.EV1")
    assert len(uow.events(ev.SUBMISSION_RECEIVED)) == 2
    # what the limit does not stop: a replay, another evaluation, a hand-in without a pack
    assert receive(uow, max_attempts=2, idempotency_key="k1")[1] is False
    assert receive(uow, max_attempts=2, evaluation_id="2.EV2")[1] is True
    assert receive(uow, max_attempts=2, pack_id=None)[1] is True
    # a grading that failed for the infrastructure gives the attempt back
    first = uow.submissions.submission_by_key("cand-1", "k0")
    assert first is not None
    with uow:
        report = {"cause": "infrastructure", "reason": "worker lost"}
        uow.submissions.set_submission_result(first.id, status="failed", report=report, reason="worker lost")
        uow.commit()
    assert uow.submissions.graded_attempts("cand-1") == {"2.EV1": 1, "2.EV2": 1}
    assert receive(uow, max_attempts=2, idempotency_key="k3")[1] is True


def test_refusals_come_before_the_file_is_stored(uow: FakeAssessmentUnitOfWork) -> None:
    stored: list[str] = []
    with pytest.raises(UnknownCandidate):
        receive(uow, stored, candidate_id="nobody")
    with pytest.raises(UnknownEvaluation) as unknown:
        receive(uow, stored, evaluation_id="9.EV9")
    assert unknown.value.evaluation_id == "9.EV9"
    receive(uow, stored, max_attempts=1)
    assert stored == ["stored"]
    with pytest.raises(AttemptLimitReached):
        receive(uow, stored, max_attempts=1)
    with uow:
        uow.candidates.set_withdrawn("cand-1", datetime(2026, 10, 1, tzinfo=UTC), by_role="candidate")
        uow.commit()
    with pytest.raises(CandidateWithdrawn):
        receive(uow, stored)
    assert stored == ["stored"] and len(uow.events(ev.SUBMISSION_RECEIVED)) == 1


def test_check_submission_lets_a_replay_through_the_limit(uow: FakeAssessmentUnitOfWork) -> None:
    receive(uow, max_attempts=1, idempotency_key="k1")
    check = {"uow": uow, "referential": REF, "pack_id": "b2", "max_attempts": 1}
    check_submission("cand-1", "2.EV1", idempotency_key="k1", **check)  # the hand-in made: passes
    with pytest.raises(AttemptLimitReached):
        check_submission("cand-1", "2.EV1", idempotency_key="k2", **check)
    check_submission("cand-1", "2.EV1", **{**check, "pack_id": None})  # ungraded: no limit
    with pytest.raises(UnknownEvaluation):
        check_submission("cand-1", "9.EV9", **{**check, "pack_id": None})


def test_a_withdrawal_between_the_check_and_the_record_is_refused(uow: FakeAssessmentUnitOfWork) -> None:
    def withdraw_while_storing() -> None:
        uow.candidates.rows["cand-1"] = {**uow.candidates.rows["cand-1"], "withdrawn_at": datetime.now(UTC)}

    with pytest.raises(CandidateWithdrawn):
        receive_submission(cmd(), uow=uow, referential=REF, artifact_url=URL, store=withdraw_while_storing)
    assert uow.submissions.rows == {} and uow.events() == []
