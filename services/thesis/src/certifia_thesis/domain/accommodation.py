"""A disabled candidate's accommodations, as far as the thesis goes (décret 2021-389). No I/O.

From candidate.accommodation_granted (the latest grant counts): ``extra_time_factor`` multiplies every time
limit that applies to the candidate, here the defence's duration and the appeal window; ``adapted_defence``
says to the jury how the defence is adapted. A factor of 1.0 with no adapted defence is no accommodation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

DEFAULT_DEFENCE_MINUTES = 60
"""The defence's standard duration (presentation and questions), before any extra time."""


@dataclass(frozen=True)
class Accommodation:
    extra_time_factor: float = 1.0
    adapted_defence: str | None = None

    @property
    def applied_to(self) -> tuple[str, ...]:
        """What the accommodation changes in this service: the defence's duration when there is extra time."""
        return ("defence_duration",) if self.extra_time_factor > 1 else ()

    @property
    def any(self) -> bool:
        return self.extra_time_factor > 1 or bool(self.adapted_defence)


def of(extra_time_factor: float, adapted_defence: str | None) -> Accommodation | None:
    """The accommodation in force, or None when there is none (factor 1.0, no adapted defence)."""
    accommodation = Accommodation(extra_time_factor, adapted_defence or None)
    return accommodation if accommodation.any else None


def defence_minutes(standard_minutes: int, accommodation: Accommodation | None) -> int:
    """The defence's duration: the standard one times the extra-time factor, rounded up to the minute."""
    if accommodation is None:
        return standard_minutes
    return math.ceil(Fraction(standard_minutes) * Fraction(str(accommodation.extra_time_factor)))


def extended(window: timedelta, extra_time_factor: float) -> timedelta:
    """A time limit of the candidate's (the appeal window) times the extra-time factor."""
    return window * extra_time_factor
