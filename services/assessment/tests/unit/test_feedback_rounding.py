"""Feedback that teaches without leaking, and attempt limits (issue 12, item 4).

Measured before: metrics came back to the candidate to 6 decimals with exact confusion counts (a free
label oracle), and a candidate could hand in as many graded attempts as they liked. Now the candidate and
their LMS read each verdict with its metric rounded to the threshold's precision (on the side that keeps
the verdict), without raw metrics or counts; the jury, officers and admins read the exact report; the
sixth graded submission for one evaluation is refused with a problem naming the limit (through the API:
tests/integration/test_feedback_rounding_api.py)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from certifia_shared.auth import Principal
from certifia_shared.envelope import utcnow
from certifia_shared.feedback import (
    candidate_explanation,
    candidate_report,
    report_for,
    round_for_threshold,
    threshold_decimals,
)
from certifia_shared.referential import load_referential

REF = load_referential()
EXPLANATION = (
    "Rejeté — Les données sont nettoyées. Mesures : accuracy = 0.85 (attendu >= 0.85 ; non atteint : "
    "trop d'erreurs) ; mae = 0.01235 (attendu <= 0.05) ; n_rows = 150 (attendu == 150)."
)
METRICS = {
    "accuracy": 0.849963,
    "mae": 0.012345,
    "n_rows": 150.0,
    "tn": 41.0,
    "fp": 9.0,
    "fn": 13.0,
    "tp": 87.0,
}


# -- the rounding: pure --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("threshold", "decimals"), [(0.85, 2), (0.9, 1), (5, 0), (5.0, 0), (100, 0), (1e-3, 3), (0.125, 3)]
)
def test_the_precision_is_the_thresholds_number_of_decimals(threshold: float, decimals: int) -> None:
    assert threshold_decimals(threshold) == decimals


@pytest.mark.parametrize(
    ("value", "threshold", "comparator", "shown"),
    [
        (0.849963, 0.85, ">=", 0.84),  # a near miss never reads as the threshold itself
        (0.850001, 0.85, ">=", 0.85),
        (0.29, 0.29, ">=", 0.29),  # exact at the threshold (0.29 * 100 is 28.999... in floats)
        (0.987654, 0.9, ">=", 0.9),
        (0.050001, 0.05, "<=", 0.06),  # a miss above a maximum reads above it
        (0.012345, 0.05, "<=", 0.02),
        (0.999, 1, "==", 0.0),  # an equality missed reads away from the threshold, either side
        (1.001, 1, "==", 2.0),
        (150.0, 150, "==", 150.0),
        (-0.0312, 0.0, ">=", -1.0),
    ],
)
def test_a_value_is_rounded_on_the_side_that_keeps_its_verdict(
    value: float, threshold: float, comparator: str, shown: float
) -> None:
    assert round_for_threshold(value, threshold, comparator) == shown
    passes = {">=": value >= threshold, "<=": value <= threshold, "==": value == threshold}[comparator]
    shown_passes = {">=": shown >= threshold, "<=": shown <= threshold, "==": shown == threshold}[comparator]
    assert passes == shown_passes


def test_no_value_stays_no_value() -> None:
    assert round_for_threshold(None, 0.5, ">=") is None
    assert round_for_threshold(math.nan, 0.5, ">=") is None
    assert round_for_threshold(1e40, 1, ">=") is None  # beyond what can be rounded: not shown at all


def test_the_explanation_quotes_the_rounded_values_from_the_exact_ones() -> None:
    shown = candidate_explanation(EXPLANATION, METRICS)
    # the grader's own quote "0.85" (4 significant digits) was above the true 0.849963: 0.84 is shown
    assert "accuracy = 0.84 (attendu >= 0.85 ; non atteint : trop d'erreurs)" in shown
    assert "mae = 0.02 (attendu <= 0.05)" in shown and "n_rows = 150 (attendu == 150)" in shown
    assert shown.startswith("Rejeté — Les données sont nettoyées. Mesures : ")
    masked = "latency_ratio = … (attendu <= 0.5)"
    assert candidate_explanation(masked) == masked  # a value the grader masked stays masked


def report(submission_id: str = "sub-1") -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "candidate_id": "cand-1",
        "pack_id": "b2_data_cleaning",
        "pack_version": "1.0.0",
        "dataset_seed": 7,
        "submission_digest": "d" * 64,
        "criteria": [
            {
                "criterion_id": "2.A1.C1.E1",
                "verdict": "rejected",
                "metric": "accuracy",
                "value": 0.849963,
                "threshold": 0.85,
                "comparator": ">=",
                "explanation": EXPLANATION,
            }
        ],
        "metrics": METRICS,
        "duration_s": 1.234,
        "completed_at": utcnow().isoformat(),
    }


def test_a_candidate_report_keeps_the_verdicts_and_drops_the_exact_values() -> None:
    exact = report()
    shown = candidate_report(exact)
    assert shown is not None
    assert set(shown) == {
        "submission_id",
        "candidate_id",
        "pack_id",
        "pack_version",
        "submission_digest",
        "criteria",
        "completed_at",
    }
    [criterion] = shown["criteria"]
    assert (criterion["verdict"], criterion["value"], criterion["threshold"]) == ("rejected", 0.84, 0.85)
    staff = Principal("jury-1", frozenset({"jury"}))
    candidate = Principal("c1", frozenset({"candidate"}), candidate_id="cand-1")
    lms = Principal("lms-a", frozenset({"lms"}), client_id="lms-a")
    assert report_for(staff, exact) == exact
    assert report_for(candidate, exact) == shown == report_for(lms, exact)
