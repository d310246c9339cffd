"""Months full-time equivalent: the referential's "4 mois minimum équivalent temps plein"."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from certifia_thesis.domain.eligibility import (
    MIN_MONTHS_FTE,
    MissionRefused,
    add_months,
    assess_mission,
    calendar_months,
)


def test_exactly_four_calendar_months_full_time_is_eligible() -> None:
    length = assess_mission(date(2026, 1, 1), date(2026, 4, 30), 1.0)  # end date inclusive
    assert length.months_fte == 4.0 and length.calendar_months == 4.0
    assert calendar_months(date(2026, 1, 1), date(2026, 4, 30)) == MIN_MONTHS_FTE


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 15), date(2026, 5, 14)),  # mid-month to mid-month
        (date(2026, 1, 31), date(2026, 5, 30)),  # 31 Jan + 4 months = 31 May
        (date(2025, 10, 31), date(2026, 2, 27)),  # clamped: 31 Oct + 4 months = 28 Feb
        (date(2023, 11, 1), date(2024, 2, 29)),  # across a leap February
    ],
)
def test_four_whole_months_whatever_the_month_lengths(start: date, end: date) -> None:
    assert calendar_months(start, end) == 4


def test_one_day_short_of_four_months_is_refused_naming_end_date() -> None:
    with pytest.raises(MissionRefused) as refused:
        assess_mission(date(2026, 1, 1), date(2026, 4, 29), 1.0)
    assert refused.value.field == "end_date"
    assert refused.value.months_fte == 3.95  # 3 months + 29 days / 30.4375 = 3.9527..., rounded down
    assert "minimum is 4 months" in refused.value.message and "3.95" in refused.value.message


def test_3_9_months_fte_is_refused() -> None:
    # Four calendar months at 0.975 FTE = 3.9 months FTE: long enough in time, the FTE is at fault.
    with pytest.raises(MissionRefused) as refused:
        assess_mission(date(2026, 1, 1), date(2026, 4, 30), 0.975)
    assert refused.value.field == "fte" and refused.value.months_fte == 3.9
    assert "3.90 months full-time equivalent" in refused.value.message


def test_half_time_over_eight_months_counts_four_months_fte() -> None:
    length = assess_mission(date(2026, 1, 1), date(2026, 8, 31), 0.5)
    assert length.months_fte == 4.0 and length.calendar_months == 8.0


def test_half_time_over_seven_months_is_refused_and_the_dates_are_at_fault_if_both_are_short() -> None:
    with pytest.raises(MissionRefused) as refused:
        assess_mission(date(2026, 1, 1), date(2026, 7, 31), 0.5)
    assert refused.value.field == "fte"  # seven calendar months would do full time
    with pytest.raises(MissionRefused) as refused:
        assess_mission(date(2026, 1, 1), date(2026, 3, 31), 0.5)
    assert refused.value.field == "end_date"  # three months are too short even full time


def test_end_before_start_is_refused_naming_end_date() -> None:
    with pytest.raises(MissionRefused) as refused:
        assess_mission(date(2026, 6, 1), date(2026, 1, 1), 1.0)
    assert refused.value.field == "end_date" and refused.value.months_fte is None
    assert "before start_date" in refused.value.message


@pytest.mark.parametrize("fte", [0.0, -0.5, 1.01])
def test_fte_outside_0_1_is_refused(fte: float) -> None:
    with pytest.raises(MissionRefused) as refused:
        assess_mission(date(2026, 1, 1), date(2026, 12, 31), fte)
    assert refused.value.field == "fte"


def test_a_one_day_mission_counts_one_day() -> None:
    assert calendar_months(date(2026, 3, 10), date(2026, 3, 10)) == Fraction(16, 487)  # 1 / 30.4375


def test_partial_months_are_days_over_the_mean_month() -> None:
    # 1 Jan .. 15 May inclusive = 4 months + 15 days.
    assert calendar_months(date(2026, 1, 1), date(2026, 5, 15)) == 4 + Fraction(15) / Fraction(1461, 48)
    assert assess_mission(date(2026, 1, 1), date(2026, 5, 15), 1.0).months_fte == 4.49


def test_the_reported_value_never_rounds_a_refusal_up_to_four() -> None:
    # 4 months x 0.999 FTE = 3.996 months FTE: refused, and shown as 3.99 (round() would say 4.00).
    with pytest.raises(MissionRefused) as refused:
        assess_mission(date(2026, 1, 1), date(2026, 4, 30), 0.999)
    assert refused.value.months_fte == 3.99


def test_add_months_clamps_to_the_end_of_shorter_months() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 30), 2) == date(2027, 1, 30)
    assert add_months(date(2026, 12, 31), 12) == date(2027, 12, 31)


def test_four_calendar_months_full_time_is_exactly_the_minimum() -> None:
    assert calendar_months(date(2026, 1, 1), date(2026, 4, 30)) == 4
    assert calendar_months(date(2026, 1, 1), date(2026, 4, 29)) < 4
