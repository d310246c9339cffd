"""The jury policy file (contracts/referential/jury_policy.yaml): the default rule, explicit entries, the
refusals of the loader, and which verdicts need a person (review_reasons). No database."""

from __future__ import annotations

from typing import Any

import pytest

from certifia_assessment.domain.jury_policy import (
    JuryPolicyError,
    load_jury_policy,
    parse_jury_policy,
    review_reasons,
)
from certifia_assessment.service_layer.proposing import default_jury_policy_path, read_jury_policy
from certifia_shared.referential import load_referential

REF = load_referential()


def verdict(metric: str = "accuracy", value: float | None = 0.86) -> dict[str, Any]:
    return {"criterion_id": "1.A4.C7.E4", "verdict": "validated", "metric": metric, "value": value}


def test_the_shipped_policy_puts_every_document_or_oral_evaluation_under_jury_review() -> None:
    policy = read_jury_policy(REF)
    assert policy.version == "1.0.0"
    assert default_jury_policy_path().name == "jury_policy.yaml"
    assert set(policy.evaluations) == {e.id for e in REF.evaluations}
    ev3 = policy.of("1.EV3")  # the case: a written risk-strategy document
    assert (ev3.policy, ev3.explicit, ev3.plausible["accuracy"].max) == ("jury_confirms", True, 0.98)
    assert policy.of("2.EV1").policy == "jury_confirms"  # written_report, by the default rule
    assert policy.of("5B.EV2").policy == "jury_confirms"  # infrastructure + oral: the oral needs a person
    with pytest.raises(JuryPolicyError):
        policy.of("9.EV9")


def test_the_default_rule_is_automated_final_for_evaluations_without_a_human_deliverable() -> None:
    policy = parse_jury_policy({"version": "2.0.0", "default": {"human_deliverables": ["document"]}}, REF)
    assert policy.of("1.EV3").policy == "jury_confirms"  # deliverables: [document]
    assert policy.of("2.EV1").policy == "automated_final"  # written_report is not listed here
    explicit = parse_jury_policy(
        {
            "version": "2.0.0",
            "default": {"human_deliverables": ["document"]},
            "evaluations": {"1.EV3": {"policy": "second_reader"}, "2.EV1": {"policy": "jury_confirms"}},
        },
        REF,
    )
    assert (explicit.of("1.EV3").policy, explicit.of("2.EV1").policy) == ("second_reader", "jury_confirms")


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"version": "1", "evaluations": {"1.EV99": {"policy": "jury_confirms"}}}, "1.EV99"),
        ({"version": "1", "evaluations": {"1.EV3": {"policy": "jury_decides"}}}, "jury_decides"),
        ({"version": "1", "default": {"human": "trust_the_machine"}}, "trust_the_machine"),
        ({"version": "1", "default": {"human_deliverables": ["poem"]}}, "poem"),
        ({"version": "1", "evaluations": {"1.EV3": {"plausible": {"accuracy": {"maxi": 1}}}}}, "accuracy"),
        ({"version": "1", "evaluations": {"1.EV3": {"plausible": {"accuracy": {"max": "high"}}}}}, "numbers"),
        ({"evaluations": {}}, "version"),
        (["not", "a", "mapping"], "mapping"),
    ],
)
def test_the_loader_refuses_an_unknown_evaluation_policy_or_deliverable_naming_it(
    data: Any, names: str
) -> None:
    with pytest.raises(JuryPolicyError, match=names):
        parse_jury_policy(data, REF)


def test_the_loader_refuses_invalid_yaml() -> None:
    with pytest.raises(JuryPolicyError, match="YAML"):
        load_jury_policy("version: [unclosed", REF)


def test_a_value_outside_the_plausible_range_flags_the_verdict_even_under_automated_final() -> None:
    policy = parse_jury_policy(
        {
            "version": "1",
            "default": {"human_deliverables": []},
            "evaluations": {"1.EV3": {"plausible": {"accuracy": {"min": 0.1, "max": 0.98}}}},
        },
        REF,
    ).of("1.EV3")
    assert policy.policy == "automated_final"
    assert review_reasons(policy, verdict(value=0.9), {"accuracy": 0.9}) == []
    assert review_reasons(policy, verdict(value=1.0), {}) == ["implausible"]  # the verdict's own value
    assert review_reasons(policy, verdict("f1", 0.8), {"accuracy": 1.0}) == ["implausible"]  # the report's
    assert review_reasons(policy, verdict(value=0.05), None) == ["implausible"]  # below min
    assert review_reasons(policy, verdict(value=None), {"accuracy": None}) == []  # nothing measured
    confirms = read_jury_policy(REF).of("1.EV3")
    assert review_reasons(confirms, verdict(value=0.86), {}) == ["jury_confirms"]
    assert review_reasons(confirms, verdict(value=1.0), {}) == ["jury_confirms", "implausible"]
