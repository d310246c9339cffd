"""An automated verdict names every check it made (issue 17: the structured metric/threshold named only its
first check), and says what the automated checks do not measure (issue 17 item 1)."""

from __future__ import annotations

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.spec import Check, CriterionSpec
from certifia_grading.domain.verdicts import judge

CRITERION = CriterionSpec(
    id="1.A4.C7.E4",
    summary="Le biais est atténué.",
    checks=(
        Check("demographic_parity_difference", "<=", 0.1, "biais"),
        Check("equalized_odds_difference", "<=", 0.1, "biais"),
        Check("accuracy", ">=", 0.8, "qualité"),
    ),
    not_measured="le document de stratégie",
)


def test_every_check_is_in_the_verdict_with_its_value_and_outcome() -> None:
    verdict = judge(
        CRITERION, {"demographic_parity_difference": 0.05, "equalized_odds_difference": 0.2, "accuracy": 0.9}
    )
    assert verdict.verdict == "rejected" and verdict.metric == "equalized_odds_difference"
    assert [
        (c["metric"], c["value"], c["threshold"], c["comparator"], c["passed"]) for c in verdict.checks
    ] == [
        ("demographic_parity_difference", 0.05, 0.1, "<=", True),
        ("equalized_odds_difference", 0.2, 0.1, "<=", False),
        ("accuracy", 0.9, 0.8, ">=", True),
    ]


def test_the_explanation_says_what_is_not_measured() -> None:
    verdict = judge(
        CRITERION, {"demographic_parity_difference": 0.0, "equalized_odds_difference": 0.0, "accuracy": 1}
    )
    assert verdict.explanation.endswith("Hors du contrôle automatique : le document de stratégie")


def test_the_bias_pack_declares_that_the_strategy_document_is_for_the_jury() -> None:
    [criterion] = Grader(sandbox=BwrapSandbox()).spec("b1_bias_mitigation").criteria
    assert "jury" in criterion.not_measured and "1.EV3" in criterion.not_measured
