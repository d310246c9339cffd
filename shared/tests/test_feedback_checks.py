"""A candidate reads every check of an automated verdict (issue 17: only the first was named), each value
rounded like the verdict's own, and whose failure a failed grading was and the accommodation applied."""

from __future__ import annotations

from certifia_shared.feedback import candidate_report

REPORT = {
    "submission_id": "s-1",
    "candidate_id": "c-1",
    "pack_id": "b1_bias_mitigation",
    "pack_version": "1.1.0",
    "submission_digest": "a" * 64,
    "metrics": {"demographic_parity_difference": 0.0512345, "accuracy": 0.849963},
    "accommodation": {"extra_time_factor": 1.5, "applied_to": ["sandbox_time_limits"]},
    "criteria": [
        {
            "criterion_id": "1.A4.C7.E4",
            "verdict": "rejected",
            "metric": "accuracy",
            "value": 0.849963,
            "threshold": 0.85,
            "comparator": ">=",
            "explanation": "Rejeté — accuracy = 0.849963 (attendu >= 0.85 ; non atteint : qualité).",
            "checks": [
                {
                    "metric": "demographic_parity_difference",
                    "value": 0.0512345,
                    "threshold": 0.1,
                    "comparator": "<=",
                    "passed": True,
                },
                {
                    "metric": "accuracy",
                    "value": 0.849963,
                    "threshold": 0.85,
                    "comparator": ">=",
                    "passed": False,
                },
            ],
        }
    ],
}


def test_every_check_reaches_the_candidate_rounded_on_the_side_that_keeps_its_outcome() -> None:
    [criterion] = candidate_report(REPORT)["criteria"]  # type: ignore[index]
    assert criterion["checks"] == [
        {
            "metric": "demographic_parity_difference",
            "threshold": 0.1,
            "comparator": "<=",
            "passed": True,
            "value": 0.1,
        },
        {"metric": "accuracy", "threshold": 0.85, "comparator": ">=", "passed": False, "value": 0.84},
    ]


def test_the_accommodation_and_the_cause_of_a_failure_reach_the_candidate() -> None:
    assert candidate_report(REPORT)["accommodation"] == REPORT["accommodation"]  # type: ignore[index]
    failed = {**REPORT, "criteria": [], "reason": "could not be fetched", "cause": "infrastructure"}
    assert candidate_report(failed)["cause"] == "infrastructure"  # type: ignore[index]
