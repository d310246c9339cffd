"""decide_criterion (a jury's or officer's decision) and the decision path every decision takes, on the fake
unit of work: what is recorded, which events are emitted with which payloads, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from certifia_assessment.domain.candidates import CandidateWithdrawn, UnknownCandidate
from certifia_assessment.domain.model import (
    CriterionAlreadyValidated,
    Decision,
    RejectionWithoutReason,
    UnknownCriterion,
)
from certifia_assessment.service_layer.decisions import DecideCriterion, decide_criterion
from certifia_shared import event_types as ev
from certifia_shared.db import Conflict
from certifia_shared.referential import load_referential

from .fakes import FakeAssessmentUnitOfWork, enrol, event_data

REF = load_referential()
WHY = "Le livrable ne traite pas la consigne."


@pytest.fixture
def uow() -> FakeAssessmentUnitOfWork:
    fake = FakeAssessmentUnitOfWork()
    enrol(fake, "cand-1")
    return fake


def cmd(criterion: str = "1.A1.C1.E1", outcome: str = "validated", **overrides: Any) -> DecideCriterion:
    values: dict[str, Any] = {
        "candidate_id": "cand-1",
        "criterion_id": criterion,
        "outcome": outcome,
        "comment": WHY if outcome == "rejected" else "",
        "decided_by": "jury-1",
        "decided_by_role": "jury",
        **overrides,
    }
    return DecideCriterion(**values)


def decide(uow: FakeAssessmentUnitOfWork, *args: Any, **kwargs: Any) -> tuple[Decision, bool]:
    return decide_criterion(cmd(*args, **kwargs), uow=uow, referential=REF)


def test_a_validation_is_recorded_and_announced_with_its_criterion(uow: FakeAssessmentUnitOfWork) -> None:
    decision, created = decide(uow)
    assert created and uow.committed == 2  # the enrolment, then the decision
    assert uow.decisions.decision(decision.id) == decision
    assert (decision.bloc, decision.criterion_code, decision.outcome) == ("1", "A1-C1-E1", "validated")
    assert decision.earned_at == decision.decided_at  # a decision on the spot earns the right at once
    [validated] = event_data(uow, ev.CRITERION_VALIDATED)
    assert validated == {
        "decision_id": decision.id,
        "candidate_id": "cand-1",
        "bloc": "1",
        "criterion_id": "1.A1.C1.E1",
        "criterion_code": "A1-C1-E1",
        "decided_by": "jury-1",
        "decided_by_role": "jury",
        "comment": "",
        "submission_id": None,
        "decided_at": decision.decided_at.isoformat(),
        "referential_version": REF.version,
    }
    assert uow.events(ev.COMPETENCY_VALIDATED) == []  # 1.A1.C1 needs E2 as well
    assert uow.decisions.validated_criteria("cand-1") == {"1.A1.C1.E1"}


def test_the_last_criterion_of_a_competency_validates_it(uow: FakeAssessmentUnitOfWork) -> None:
    first, _ = decide(uow, "1.A1.C1.E1", earned_at=datetime(2026, 9, 10, tzinfo=UTC))
    second, _ = decide(uow, "1.A1.C1.E2", earned_at=datetime(2026, 9, 5, tzinfo=UTC))
    [competency] = event_data(uow, ev.COMPETENCY_VALIDATED)
    assert competency["competency_id"] == "1.A1.C1" and competency["competency_code"] == "A1-C1"
    assert competency["criteria"] == ["1.A1.C1.E1", "1.A1.C1.E2"]
    assert competency["validated_at"] == second.decided_at.isoformat()
    assert uow.decisions.validated_competencies("cand-1") == {"1.A1.C1"}
    # earned when its last criterion was: the latest of the criteria's earned_at
    row = uow.decisions.competency_validations[("cand-1", "1.A1.C1")]
    assert row["earned_at"] == datetime(2026, 9, 10, tzinfo=UTC)
    assert first.decided_at <= second.decided_at


def test_validating_every_criterion_of_a_bloc_passes_it_once(uow: FakeAssessmentUnitOfWork) -> None:
    criteria = [c.id for c in REF.bloc("4").criteria]
    for criterion in criteria:
        decide(uow, criterion)
    assert len(uow.events(ev.CRITERION_VALIDATED)) == len(criteria)
    assert {e["competency_id"] for e in event_data(uow, ev.COMPETENCY_VALIDATED)} == {
        c.id for c in REF.bloc("4").competencies
    }
    [passed] = event_data(uow, ev.BLOC_PASSED)
    assert (passed["bloc"], passed["via"]) == ("4", "assessment")
    assert passed["competencies"] == [c.id for c in REF.bloc("4").competencies]
    assert passed["earned_at"] <= passed["passed_at"]
    assert set(uow.decisions.passed_blocs("cand-1")) == {"4"}
    assert uow.events()[-1].type == ev.BLOC_PASSED  # after the criterion and competency events


def test_validating_a_validated_criterion_again_records_and_emits_nothing(
    uow: FakeAssessmentUnitOfWork,
) -> None:
    first, _ = decide(uow)
    sent = len(uow.events())
    again, created = decide(uow, decided_by="jury-2")
    assert not created and again == first
    assert len(uow.events()) == sent and len(uow.decisions.rows) == 1


def test_a_rejection_says_why_and_a_new_attempt_can_validate(uow: FakeAssessmentUnitOfWork) -> None:
    with pytest.raises(RejectionWithoutReason):
        decide(uow, outcome="rejected", comment=" ")
    assert uow.events() == [] and uow.decisions.rows == {}
    rejection, _ = decide(uow, outcome="rejected")
    [rejected] = event_data(uow, ev.CRITERION_REJECTED)
    assert rejected["decision_id"] == rejection.id and rejected["comment"] == WHY
    validation, created = decide(uow)
    assert created and uow.decisions.decision_in_force("cand-1", "1.A1.C1.E1") == validation
    assert uow.decisions.latest_outcomes("cand-1") == {"1.A1.C1.E1": "validated"}


def test_a_rejection_after_a_validation_is_refused_and_leaves_nothing(uow: FakeAssessmentUnitOfWork) -> None:
    validation, _ = decide(uow)
    sent = len(uow.events())
    with pytest.raises(CriterionAlreadyValidated) as refused:
        decide(uow, outcome="rejected")
    assert refused.value.decision_id == validation.id
    assert len(uow.events()) == sent and list(uow.decisions.rows) == [validation.id]


def test_unknown_withdrawn_and_unknown_criterion_are_refused(uow: FakeAssessmentUnitOfWork) -> None:
    with pytest.raises(UnknownCandidate):
        decide(uow, candidate_id="nobody")
    with pytest.raises(UnknownCriterion) as unknown:
        decide(uow, "9.Z9.C9.E9")
    assert unknown.value.criterion_id == "9.Z9.C9.E9"
    with uow:
        uow.candidates.set_withdrawn("cand-1", datetime(2026, 10, 1, tzinfo=UTC), by_role="candidate")
        uow.commit()
    with pytest.raises(CandidateWithdrawn):
        decide(uow)
    assert uow.decisions.rows == {} and uow.events(ev.CRITERION_VALIDATED) == []


def test_a_concurrent_identical_validation_is_answered_as_a_repeat(uow: FakeAssessmentUnitOfWork) -> None:
    """The unique key refuses the second of two validations at once; the retry finds the first in force."""
    winner, _ = decide(uow, candidate_id="cand-1", criterion="1.A1.C2.E1")  # another criterion, first
    theirs = Decision(**{**winner.__dict__, "id": "theirs", "criterion_id": "1.A1.C1.E1"})
    uow.race_on_next_commit(lambda committed: committed.decisions.add_decision(theirs))
    decision, created = decide(uow)
    assert not created and decision.id == "theirs"
    assert [d["criterion_id"] for d in event_data(uow, ev.CRITERION_VALIDATED)] == ["1.A1.C2.E1"]


def test_a_conflict_that_keeps_coming_back_propagates(uow: FakeAssessmentUnitOfWork) -> None:
    calls = []

    def always_conflict(committed: Any) -> None:
        calls.append(1)
        uow.race_on_next_commit(always_conflict)

    uow.race_on_next_commit(always_conflict)
    with pytest.raises(Conflict):
        decide(uow)
    assert len(calls) == 3 and uow.decisions.rows == {}
