"""Review of proposals (review, confirm_all) on the fake unit of work: the decision in the reviewer's name,
verdict.reviewed, the second reader, and the all-or-nothing batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from certifia_assessment.domain.jury_policy import parse_jury_policy
from certifia_assessment.domain.model import Submission
from certifia_assessment.domain.proposals import (
    AlreadyDecided,
    AlreadyReviewed,
    InvalidReview,
    SecondOpinionFirst,
    UnknownProposal,
)
from certifia_assessment.service_layer.events import grading_handlers
from certifia_assessment.service_layer.proposals import ReviewProposal, confirm_all, review
from certifia_assessment.service_layer.proposing import proposal_id
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.referential import load_referential

from .fakes import FakeAssessmentUnitOfWork, enrol, event_data

REF = load_referential()
RECEIVED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
CRITERION = "1.A4.C7.E4"
WHY = "Le document ne propose aucune mesure d'atténuation des risques."


def propose(uow: FakeAssessmentUnitOfWork, submission_id: str, policy: str = "jury_confirms") -> str:
    """Hand in 1.EV3 work and apply its grading.completed under ``policy``: a pending proposal."""
    submission = Submission(
        submission_id,
        "cand-1",
        "1.EV3",
        "ab" * 32,
        22,
        "application/zip",
        None,
        "b1_bias_mitigation",
        "grading",
        RECEIVED,
    )
    with uow:
        uow.submissions.add_submission(submission, None)
        uow.commit()
    data = {
        "submission_id": submission_id,
        "candidate_id": "cand-1",
        "pack_id": "b1_bias_mitigation",
        "pack_version": "1.0.0",
        "submission_digest": "ab" * 32,
        "criteria": [
            {
                "criterion_id": CRITERION,
                "verdict": "validated",
                "metric": "accuracy",
                "value": 0.86,
                "threshold": 0.8,
                "comparator": ">=",
                "explanation": "accuracy = 0.8600 (attendu >= 0.8)",
            }
        ],
        "metrics": {"accuracy": 0.86},
        "duration_s": 1.0,
        "completed_at": "2026-10-01T09:05:00+00:00",
    }
    jury_policy = parse_jury_policy({"version": "9", "evaluations": {"1.EV3": {"policy": policy}}}, REF)
    with uow:
        event = CloudEvent(
            type=ev.GRADING_COMPLETED_V2, source="/certifia/grading", subject="cand-1", data=data
        )
        grading_handlers(REF, jury_policy)[ev.GRADING_COMPLETED_V2](event, uow)
        uow.commit()
    return proposal_id(submission_id, CRITERION)


def act(
    uow: FakeAssessmentUnitOfWork, pid: str, action: str = "confirm", by: str = "jury-1", **kw: Any
) -> Any:
    cmd = ReviewProposal(pid, action, kw.get("outcome"), kw.get("comment", ""), by)  # type: ignore[arg-type]
    return review(cmd, uow=uow, referential=REF)


@pytest.fixture
def uow() -> FakeAssessmentUnitOfWork:
    fake = FakeAssessmentUnitOfWork()
    enrol(fake, "cand-1")
    return fake


def test_a_confirm_records_the_decision_in_the_jury_members_name(uow: FakeAssessmentUnitOfWork) -> None:
    pid = propose(uow, "sub-1")
    proposal, new = act(uow, pid)
    assert new and proposal.status == "decided" and [r.reviewed_by for r in proposal.reviews] == ["jury-1"]
    decision = uow.decisions.decision(proposal.decision_id)
    assert decision is not None
    assert decision.id == str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"sub-1/{CRITERION}")
    )  # one decision per verdict
    assert (decision.decided_by, decision.decided_by_role, decision.outcome) == (
        "jury-1",
        "jury",
        "validated",
    )
    assert decision.earned_at == RECEIVED and decision.submission_id == "sub-1"
    assert decision.comment.startswith(
        "Confirms the automated proposal of b1_bias_mitigation@1.0.0 (validated)"
    )
    [reviewed] = event_data(uow, ev.VERDICT_REVIEWED)
    assert (reviewed["action"], reviewed["outcome"], reviewed["decision_id"]) == (
        "confirm",
        "validated",
        decision.id,
    )
    # the decision's events (1.A4.C7.E4 alone validates competency 1.A4.C7), then verdict.reviewed
    types = [e.type for e in uow.events()]
    assert types[-3:] == [ev.CRITERION_VALIDATED, ev.COMPETENCY_VALIDATED, ev.VERDICT_REVIEWED]


def test_the_same_review_again_records_nothing_another_is_refused(uow: FakeAssessmentUnitOfWork) -> None:
    pid = propose(uow, "sub-1")
    first, _ = act(uow, pid)
    sent = len(uow.events())
    again, new = act(uow, pid)
    assert not new and again == first and len(uow.events()) == sent
    with pytest.raises(AlreadyReviewed):
        act(uow, pid, "override", outcome="rejected", comment=WHY)
    with pytest.raises(AlreadyDecided):
        act(uow, pid, by="jury-2")
    with pytest.raises(UnknownProposal):
        act(uow, "p-9")


def test_an_override_rejects_and_must_say_why(uow: FakeAssessmentUnitOfWork) -> None:
    pid = propose(uow, "sub-1")
    with pytest.raises(InvalidReview) as short:
        act(uow, pid, "override", outcome="rejected", comment="non")
    assert short.value.field == "comment" and uow.events(ev.VERDICT_REVIEWED) == []
    proposal, _ = act(uow, pid, "override", outcome="rejected", comment=WHY)
    [rejected] = event_data(uow, ev.CRITERION_REJECTED)
    assert rejected["decision_id"] == proposal.decision_id and WHY in rejected["comment"]


def test_a_second_reader_who_disagrees_escalates_to_another_jury_member(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    pid = propose(uow, "sub-1", "second_reader")
    with pytest.raises(SecondOpinionFirst):
        act(uow, pid)
    escalated, _ = act(uow, pid, "second_opinion", outcome="rejected", comment=WHY)
    assert escalated.status == "escalated" and uow.decisions.rows == {}
    [reviewed] = event_data(uow, ev.VERDICT_REVIEWED)
    assert reviewed["decision_id"] is None
    decided, _ = act(uow, pid, by="jury-2")
    assert decided.status == "decided" and len(decided.reviews) == 2


def test_confirm_all_is_all_or_nothing(uow: FakeAssessmentUnitOfWork) -> None:
    first, second = propose(uow, "sub-1"), propose(uow, "sub-2")
    with pytest.raises(UnknownProposal):
        confirm_all([first, "p-9", second], "", "jury-1", uow=uow, referential=REF)
    assert uow.events(ev.VERDICT_REVIEWED) == [] and uow.decisions.rows == {}
    assert [p.status for p in uow.proposals.find(candidate_id="cand-1")] == ["pending", "pending"]
    done = confirm_all([first, second, first], "", "jury-1", uow=uow, referential=REF)
    assert [(p.id, new) for p, new in done] == [(first, True), (second, True)]
    assert len(uow.events(ev.VERDICT_REVIEWED)) == 2
    again = confirm_all([first], "", "jury-1", uow=uow, referential=REF)
    assert [new for _, new in again] == [False]


def test_a_concurrent_review_that_moved_the_proposal_is_read_on_the_retry(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    pid = propose(uow, "sub-1")
    real_move = uow.proposals.move
    calls: list[str] = []

    def moved_by_someone_else(proposal_id: str, **kw: Any) -> bool:
        if not calls:  # the first attempt: another jury member decided it in the meantime
            calls.append("lost")
            proposal = uow._snapshot["proposals"].rows[proposal_id]
            uow._snapshot["proposals"].rows[proposal_id] = type(proposal)(
                **{**proposal.__dict__, "status": "decided"}
            )
            return False
        return real_move(proposal_id, **kw)

    uow.proposals.move = moved_by_someone_else  # type: ignore[method-assign]
    with pytest.raises(AlreadyDecided):
        act(uow, pid)
    assert calls == ["lost"] and uow.events(ev.VERDICT_REVIEWED) == []
