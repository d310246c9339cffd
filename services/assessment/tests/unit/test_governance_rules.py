"""Governance rules without a database: the appeal window an accommodation stretches, and the checks read from
an automated verdict (the API around them: tests/integration/test_appeal_governance.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certifia_assessment.domain.checks import checks_of
from certifia_assessment.domain.governance import appeal_window


@pytest.mark.parametrize(
    ("factor", "days"), [(1.0, 30), (1.1, 33), (1.33, 40), (1.5, 45), (3.0, 90), (None, 30)]
)
def test_the_appeal_window_is_rounded_up_to_whole_days(factor: float | None, days: int) -> None:
    assert appeal_window(timedelta(days=30), factor) == timedelta(days=days)


def test_checks_carried_by_the_verdict_are_read_as_they_are() -> None:
    """grading-compute now writes every check in the verdict (``checks``): read before the explanation."""
    checks = [
        {
            "metric": "demographic_parity_difference",
            "value": 0.05,
            "threshold": 0.1,
            "comparator": "<=",
            "passed": True,
        },
        {"metric": "accuracy", "value": 0.7, "threshold": 0.8, "comparator": ">=", "passed": False},
    ]
    verdict = {
        "criterion_id": "1.A4.C7.E4",
        "verdict": "rejected",
        "metric": "accuracy",
        "explanation": "…",
        "checks": checks,
    }
    assert checks_of(verdict, {}, exact=True) == [{**c} for c in checks]
    assert [c["value"] for c in checks_of(verdict, {}, exact=False)] == [0.1, 0.7]
