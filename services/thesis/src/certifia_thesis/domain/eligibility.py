"""The eligibility rule of a company mission: how long it counts, in months full-time equivalent (FTE),
against the 4 months the thesis needs. Plain Python, no I/O.

The referential asks for "une mission en entreprise de 4 mois minimum équivalent temps plein". We count:

* the mission runs from ``start_date`` to ``end_date`` **inclusive** (a contract "du 1er janvier au
  30 avril" is exactly 4 months);
* its calendar length is the number of whole calendar months from the start date (the same day of a
  later month, or that month's last day when it is shorter: 31 January + 1 month = 28/29 February),
  plus the days left over divided by the mean month, 365.25 / 12 = 30.4375 days;
* months FTE = calendar months x FTE (the share of a full-time week, 0 < FTE <= 1).

Arithmetic is exact (fractions): a mission is eligible when months FTE >= 4. The value reported is
rounded down to two decimals, so a refused mission never shows "4.00".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

MIN_MONTHS_FTE = 4
DAYS_PER_MONTH = Fraction(1461, 48)  # 365.25 / 12 = 30.4375


class MissionRefused(ValueError):
    """The mission cannot count for the thesis; ``field`` names the input to change."""

    def __init__(self, field: str, message: str, *, months_fte: float | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.months_fte = months_fte


@dataclass(frozen=True)
class MissionLength:
    calendar_months: float
    months_fte: float


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_first - timedelta(days=1)).day))


def calendar_months(start: date, end: date) -> Fraction:
    """Exact calendar length of a mission from ``start`` to ``end`` inclusive (``end >= start``)."""
    stop = end + timedelta(days=1)
    whole = (stop.year - start.year) * 12 + stop.month - start.month
    if add_months(start, whole) > stop:
        whole -= 1
    rest_days = (stop - add_months(start, whole)).days
    return whole + Fraction(rest_days) / DAYS_PER_MONTH


def floor2(value: Fraction) -> float:
    return math.floor(value * 100) / 100


def assess_mission(start: date, end: date, fte: float) -> MissionLength:
    """The mission's length, or :class:`MissionRefused` when it cannot count for the thesis."""
    if end < start:
        raise MissionRefused(
            "end_date", f"end_date {end.isoformat()} is before start_date {start.isoformat()}."
        )
    if not 0 < fte <= 1:
        raise MissionRefused("fte", f"fte must be greater than 0 and at most 1 (got {fte:g}).")
    months = calendar_months(start, end)
    months_fte = months * Fraction(str(fte))
    length = MissionLength(calendar_months=floor2(months), months_fte=floor2(months_fte))
    if months_fte < MIN_MONTHS_FTE:
        # Too short even at full time: the dates are at fault; long enough but part-time: the FTE is.
        field = "fte" if months >= MIN_MONTHS_FTE else "end_date"
        raise MissionRefused(
            field,
            f"The mission counts {length.months_fte:.2f} months full-time equivalent "
            f"({length.calendar_months:.2f} calendar months at {fte:g} FTE); the minimum is "
            f"{MIN_MONTHS_FTE} months full-time equivalent.",
            months_fte=length.months_fte,
        )
    return length
