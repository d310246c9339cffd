"""Thesis rules: known candidates, company missions, defences and the thesis status. No I/O.

The deposit and the scheduling of the defence are in :mod:`deposit` and :mod:`schedule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

Outcome = Literal["passed", "failed"]
Status = Literal[
    "no_mission",
    "mission_registered",
    "thesis_deposited",
    "defence_scheduled",
    "defended_passed",
    "defended_failed",
]

CLOCK_SKEW = timedelta(minutes=5)
MAX_GRADE = 20.0  # the referential grades out of 20
MISSION_DETAILS = ("title", "tutor", "fte")


@dataclass(frozen=True)
class KnownCandidate:
    """What the thesis service keeps of a candidate enrolled elsewhere (from candidate.enrolled)."""

    id: str
    lms_client: str
    path: str
    given_name: str
    family_name: str
    withdrawn_at: datetime | None = None  # from candidate.withdrawn: nothing new is accepted after it
    # from candidate.accommodation_granted (the latest grant counts): extra time and an adapted defence
    extra_time_factor: float = 1.0
    adapted_defence: str | None = None


@dataclass(frozen=True)
class Mission:
    id: str
    candidate_id: str
    company: str
    title: str | None
    tutor: str | None
    start_date: date
    end_date: date
    fte: float
    months_fte: float
    registered_at: datetime


@dataclass(frozen=True)
class Defence:
    id: str
    candidate_id: str
    mission_id: str
    outcome: Outcome
    grade: float | None
    jury: tuple[str, ...]
    defended_at: datetime
    recorded_at: datetime
    recorded_by: str  # the account (token subject) that recorded the outcome
    recorded_by_role: str | None = None
    annulled_at: datetime | None = None  # a failure annulled by an upheld appeal no longer counts
    annulled_by_appeal: str | None = None

    @property
    def counts(self) -> bool:
        """Whether the outcome stands (an upheld appeal annuls a failure)."""
        return self.annulled_at is None


class MissionConflict(Exception):
    """The same mission (company and dates) was registered before with other details."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"differs from the registered mission in: {', '.join(fields)}")
        self.fields = fields


class ThesisAlreadyPassed(Exception):
    """The candidate already passed the defence: the outcome is final."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(f"candidate {candidate_id!r} already passed the thesis defence")
        self.candidate_id = candidate_id


class UnknownCandidate(LookupError):
    """No candidate.enrolled for this candidate was applied here."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


class UnknownMission(LookupError):
    """No mission of that id (or not the candidate's)."""

    def __init__(self, mission_id: str) -> None:
        super().__init__(mission_id)
        self.mission_id = mission_id


class WithdrawalOfUnknownCandidate(LookupError):
    """candidate.withdrawn for a candidate whose candidate.enrolled was never applied here (both travel
    on one partition, enrolled first): retried, then dead-lettered with this reason for ops to look at."""


class AccommodationOfUnknownCandidate(LookupError):
    """candidate.accommodation_granted for a candidate whose candidate.enrolled was never applied here."""


class CandidateWithdrawn(Exception):
    """The candidate withdrew from the certification: no deposit, scheduling or outcome after that."""

    def __init__(self, candidate_id: str, withdrawn_at: datetime) -> None:
        super().__init__(f"candidate {candidate_id!r} withdrew on {withdrawn_at.isoformat()}")
        self.candidate_id = candidate_id
        self.withdrawn_at = withdrawn_at


class DefenceNotScheduled(Exception):
    """No scheduled defence waits for an outcome (none scheduled, or its outcome is already recorded)."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(f"no scheduled defence of candidate {candidate_id!r} waits for an outcome")
        self.candidate_id = candidate_id


class DefenceNotHeldYet(Exception):
    """The scheduled defence has not taken place yet: its outcome cannot be recorded before."""

    def __init__(self, scheduled_at: datetime) -> None:
        super().__init__(scheduled_at.isoformat())
        self.scheduled_at = scheduled_at


class DefenceRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ResitLimitReached(Exception):
    """The candidate failed as many defences as the regulation allows (not counting annulled failures)."""

    def __init__(self, candidate_id: str, limit: int, failures: int) -> None:
        super().__init__(f"candidate {candidate_id!r} failed {failures} defences; the limit is {limit}")
        self.candidate_id = candidate_id
        self.limit = limit
        self.failures = failures


def check_active(candidate: KnownCandidate) -> None:
    if candidate.withdrawn_at is not None:
        raise CandidateWithdrawn(candidate.id, candidate.withdrawn_at)


def check_grade(outcome: Outcome, grade: float | None, pass_mark: float) -> None:
    """The grade is out of 20 with at most 2 decimals; passed needs at least the pass mark, failed less."""
    if grade is None:
        return
    if not 0 <= grade <= MAX_GRADE or abs(grade * 100 - round(grade * 100)) > 1e-6:
        raise DefenceRefused(
            "grade",
            f"grade is a mark out of {MAX_GRADE:g} (0 to {MAX_GRADE:g}) with at most 2 decimals (got {grade:g}).",
        )
    if outcome == "passed" and grade < pass_mark:
        raise DefenceRefused(
            "grade",
            f"A passed defence needs a grade of at least {pass_mark:g}/{MAX_GRADE:g} (the pass mark); "
            f"{grade:g} is a fail: record outcome 'failed', or correct the grade.",
        )
    if outcome == "failed" and grade >= pass_mark:
        raise DefenceRefused(
            "grade",
            f"A failed defence has a grade below {pass_mark:g}/{MAX_GRADE:g} (the pass mark); "
            f"{grade:g} is a pass: record outcome 'passed', or correct the grade.",
        )


def failures(defences: Sequence[Defence]) -> list[Defence]:
    """The failed defences that count against the resit limit (an annulled failure does not)."""
    return [d for d in defences if d.outcome == "failed" and d.counts]


def check_resit_allowed(candidate_id: str, defences: Sequence[Defence], max_attempts: int) -> None:
    """A new defence may be scheduled while fewer than ``max_attempts`` defences were failed."""
    failed = len(failures(defences))
    if failed >= max_attempts:
        raise ResitLimitReached(candidate_id, max_attempts, failed)


def check_held(scheduled_at: datetime, now: datetime) -> None:
    """An outcome is recorded once the scheduled time has come (clock skew tolerated)."""
    if now + CLOCK_SKEW < scheduled_at:
        raise DefenceNotHeldYet(scheduled_at)


def check_same_mission(existing: Mission, requested: dict[str, object]) -> None:
    """A mission repeated with the same company and dates is the same one only if its details match."""
    differing = [f for f in MISSION_DETAILS if getattr(existing, f) != requested.get(f)]
    if differing:
        raise MissionConflict(differing)


def same_defence(previous: Sequence[Defence], requested: Defence) -> Defence | None:
    """A defence already recorded with the same mission, outcome, grade, jury and date (a retry)."""
    for d in previous:
        if (d.mission_id, d.outcome, d.grade, d.jury, d.defended_at) == (
            requested.mission_id,
            requested.outcome,
            requested.grade,
            requested.jury,
            requested.defended_at,
        ):
            return d
    return None


def check_not_passed(previous: Sequence[Defence]) -> None:
    """A passed defence is final: nothing about the thesis changes after it."""
    passed = next((d for d in previous if d.outcome == "passed"), None)
    if passed is not None:
        raise ThesisAlreadyPassed(passed.candidate_id)


def check_defence_allowed(previous: Sequence[Defence], defended_at: datetime, now: datetime) -> None:
    """A passed defence is final; a failed one may be followed by a resit. No defence in the future."""
    check_not_passed(previous)
    if defended_at > now + CLOCK_SKEW:
        raise DefenceRefused(
            "defended_at", f"defended_at {defended_at.isoformat()} is in the future; record a held defence."
        )


def ordered(defences: Sequence[Defence]) -> list[Defence]:
    return sorted(defences, key=lambda d: (d.defended_at, d.recorded_at))


def thesis_status(
    missions: Sequence[Mission],
    defences: Sequence[Defence],
    *,
    deposited: bool = False,
    scheduled: bool = False,
) -> Status:
    """Where the thesis stands; ``scheduled``: a defence waits for its outcome (a resit after a failure).
    An annulled failure (upheld appeal) is as if it had not happened."""
    defences = [d for d in defences if d.counts]
    if any(d.outcome == "passed" for d in defences):
        return "defended_passed"
    if scheduled:
        return "defence_scheduled"
    if defences:
        return "defended_failed"
    if deposited:
        return "thesis_deposited"
    return "mission_registered" if missions else "no_mission"
