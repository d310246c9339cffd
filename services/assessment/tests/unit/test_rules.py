"""The rules behind every decision, tested directly: which competencies a validation completes, when a bloc
is passed, whether a new decision is recorded, who a candidate is to assessment, and which role a person's
decision is recorded under."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certifia_assessment.domain.candidates import CandidateWithdrawn, UnknownCandidate, check_active
from certifia_assessment.domain.model import (
    CriterionAlreadyValidated,
    Decision,
    RejectionWithoutReason,
    bloc_is_passed,
    check_decision_allowed,
    check_reasoned,
    competencies_now_validated,
)
from certifia_assessment.service_layer.appeals import opener_role, resolver_role
from certifia_assessment.service_layer.decisions import decider_role
from certifia_shared.auth import Principal
from certifia_shared.referential import load_referential

REF = load_referential()
AT = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def criteria_of(competency_id: str) -> list[str]:
    return [c.id for c in REF.criteria_validating(competency_id)]


def decision(outcome: str, *, id: str = "d-1", criterion: str = "1.A1.C1.E1") -> Decision:
    return Decision(
        id=id,
        candidate_id="cand-1",
        bloc="1",
        criterion_id=criterion,
        criterion_code="A1-C1-E1",
        outcome=outcome,  # type: ignore[arg-type]
        comment="",
        decided_by="jury-1",
        decided_by_role="jury",
        decided_at=AT,
    )


# -- competencies_now_validated ------------------------------------------------------------------------
def test_a_competency_is_validated_once_all_of_its_criteria_are() -> None:
    assert criteria_of("1.A1.C1") == ["1.A1.C1.E1", "1.A1.C1.E2"]
    assert competencies_now_validated(REF, "1", ["1.A1.C1.E1"], []) == []
    [done] = competencies_now_validated(REF, "1", ["1.A1.C1.E1", "1.A1.C1.E2"], [])
    assert (done.id, done.code) == ("1.A1.C1", "A1-C1")


def test_a_competency_validated_before_is_not_validated_again() -> None:
    validated = ["1.A1.C1.E1", "1.A1.C1.E2", "1.A1.C2.E1"]
    assert [c.id for c in competencies_now_validated(REF, "1", validated, [])] == ["1.A1.C1", "1.A1.C2"]
    assert [c.id for c in competencies_now_validated(REF, "1", validated, ["1.A1.C1"])] == ["1.A1.C2"]


def test_one_criterion_can_complete_several_competencies_at_once() -> None:
    shared = "1.A4.C1-C3.E1"
    competencies = [c.id for c in REF.bloc("1").competencies if criteria_of(c.id) == [shared]]
    assert len(competencies) >= 2  # the referential validates A4-C1 to A4-C3 by one criterion
    assert [c.id for c in competencies_now_validated(REF, "1", [shared], [])] == competencies


def test_only_the_blocs_own_competencies_count() -> None:
    every_criterion_of_bloc_3 = [c.id for c in REF.bloc("3").criteria]
    assert competencies_now_validated(REF, "1", every_criterion_of_bloc_3, []) == []
    assert {c.id for c in competencies_now_validated(REF, "3", every_criterion_of_bloc_3, [])} == {
        c.id for c in REF.bloc("3").competencies
    }


# -- bloc_is_passed ------------------------------------------------------------------------------------
def test_a_bloc_is_passed_when_every_one_of_its_competencies_is_validated() -> None:
    competencies = [c.id for c in REF.bloc("4").competencies]
    assert bloc_is_passed(REF, "4", competencies)
    assert bloc_is_passed(REF, "4", [*competencies, "1.A1.C1"])  # others do not matter
    assert not bloc_is_passed(REF, "4", competencies[:-1])
    assert not bloc_is_passed(REF, "4", [])


# -- check_decision_allowed ----------------------------------------------------------------------------
@pytest.mark.parametrize("outcome", ["validated", "rejected"])
def test_a_first_decision_and_a_new_attempt_after_a_rejection_are_recorded(outcome: str) -> None:
    assert check_decision_allowed(None, outcome) is True  # type: ignore[arg-type]
    assert check_decision_allowed(decision("rejected"), outcome) is True  # type: ignore[arg-type]


def test_validating_a_validated_criterion_again_records_nothing() -> None:
    assert check_decision_allowed(decision("validated"), "validated") is False


def test_a_rejection_cannot_undo_a_validation_and_names_it() -> None:
    with pytest.raises(CriterionAlreadyValidated) as refused:
        check_decision_allowed(decision("validated", id="d-9"), "rejected")
    assert (refused.value.criterion_id, refused.value.decision_id) == ("1.A1.C1.E1", "d-9")


def test_a_rejection_must_say_why_a_validation_need_not() -> None:
    for blank in ("", "  ", "\n"):
        with pytest.raises(RejectionWithoutReason):
            check_reasoned("rejected", blank)
        check_reasoned("validated", blank)
    check_reasoned("rejected", "Le livrable ne traite pas la consigne.")


# -- the candidate -------------------------------------------------------------------------------------
def test_an_active_candidate_passes_an_unknown_or_withdrawn_one_is_refused() -> None:
    row = {"id": "cand-1", "withdrawn_at": None}
    assert check_active("cand-1", row) is row
    with pytest.raises(UnknownCandidate) as unknown:
        check_active("cand-1", None)
    assert unknown.value.candidate_id == "cand-1"
    with pytest.raises(CandidateWithdrawn) as withdrawn:
        check_active("cand-1", {"id": "cand-1", "withdrawn_at": AT})
    assert (withdrawn.value.candidate_id, withdrawn.value.withdrawn_at) == ("cand-1", AT)
    assert "2026-10-01" in str(withdrawn.value)


# -- roles ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("roles", "decider", "opener", "resolver"),
    [
        ({"jury"}, "jury", "candidate", "admin"),
        ({"jury", "officer"}, "jury", "officer", "officer"),
        ({"officer"}, "officer", "officer", "officer"),
        ({"admin"}, "admin", "admin", "admin"),
        ({"candidate"}, "admin", "candidate", "admin"),
    ],
)
def test_the_role_a_person_acts_under(roles: set[str], decider: str, opener: str, resolver: str) -> None:
    principal = Principal("someone", frozenset(roles))
    assert decider_role(principal) == decider
    assert opener_role(principal) == opener
    assert resolver_role(principal) == resolver
