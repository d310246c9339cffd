"""Scheduling the oral defence: the jury, the date, rescheduling. No I/O.

The jury has 2 to 6 members, exactly one president, no one twice (names compared without case or extra
spaces). The defence takes place in the future and at least ``reading_days`` days after the deposit, so
the jury can read the thesis. One scheduled defence receives one outcome; until then an officer may
reschedule it (same defence id, the new date, place and jury replace the old ones). A withdrawal cancels a
defence still to come; a cancelled defence waits for no outcome. Its duration is the standard one times the
candidate's extra-time factor (:mod:`accommodation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from certifia_thesis.domain.accommodation import DEFAULT_DEFENCE_MINUTES, Accommodation, defence_minutes
from certifia_thesis.domain.deposit import Deposit
from certifia_thesis.domain.model import Defence

JuryRole = Literal["president", "member", "company_tutor"]
CancelReason = Literal["candidate_withdrawn"]
MIN_JURY, MAX_JURY = 2, 6


@dataclass(frozen=True)
class JuryMember:
    name: str
    role: JuryRole
    account: str | None = (
        None  # the member's account (token subject), when known: who may not judge an appeal
    )


@dataclass(frozen=True)
class DefenceSchedule:
    id: str  # the defence id: the outcome recorded for this defence carries it too
    candidate_id: str
    deposit_id: str
    scheduled_at: datetime
    location: str
    jury: tuple[JuryMember, ...]
    scheduled_by: str
    created_at: datetime
    updated_at: datetime
    standard_minutes: int = DEFAULT_DEFENCE_MINUTES
    accommodation: Accommodation | None = None  # the candidate's, applied to the duration
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None  # the account that cancelled it ("enrolment" when the event names none)
    cancel_reason: CancelReason | None = None

    @property
    def duration_minutes(self) -> int:
        return defence_minutes(self.standard_minutes, self.accommodation)

    def jury_accounts(self) -> frozenset[str]:
        return frozenset(m.account for m in self.jury if m.account)

    def jury_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.jury)


class ScheduleRefused(ValueError):
    """The schedule cannot be accepted as sent; ``field`` names the input to change (answered 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class NoDeposit(Exception):
    """No thesis was deposited: there is nothing to defend yet."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def check_jury(jury: Sequence[JuryMember]) -> None:
    if not MIN_JURY <= len(jury) <= MAX_JURY:
        raise ScheduleRefused("jury", f"The jury has {MIN_JURY} to {MAX_JURY} members (got {len(jury)}).")
    presidents = sum(m.role == "president" for m in jury)
    if presidents != 1:
        raise ScheduleRefused("jury", f"The jury has exactly one president (got {presidents}).")
    seen: set[str] = set()
    for member in jury:
        if _key(member.name) in seen:
            raise ScheduleRefused("jury", f"{member.name!r} is listed twice in the jury.")
        seen.add(_key(member.name))


def check_date(scheduled_at: datetime, deposit: Deposit, now: datetime, reading_days: int) -> None:
    """In the future, and at least ``reading_days`` days after the deposit of the thesis defended."""
    if scheduled_at <= now:
        raise ScheduleRefused(
            "scheduled_at",
            f"scheduled_at {scheduled_at.isoformat()} is not in the future; schedule a defence to come.",
        )
    earliest = deposit.submitted_at + timedelta(days=reading_days)
    if scheduled_at < earliest:
        raise ScheduleRefused(
            "scheduled_at",
            f"The jury needs {reading_days} days to read the thesis deposited on "
            f"{deposit.submitted_at.isoformat()} (version {deposit.version}): schedule the defence on or after "
            f"{earliest.isoformat()}.",
        )


def pending(schedules: Sequence[DefenceSchedule], defences: Sequence[Defence]) -> DefenceSchedule | None:
    """The scheduled defence still waiting for its outcome, if any (at most one at a time)."""
    decided = {d.id for d in defences}
    waiting = [s for s in schedules if s.id not in decided and s.cancelled_at is None]
    return max(waiting, key=lambda s: s.created_at, default=None)


def same_schedule(
    current: DefenceSchedule, scheduled_at: datetime, location: str, jury: Sequence[JuryMember]
) -> bool:
    """The pending schedule sent again unchanged (a retry): nothing to replace, nothing to emit."""
    return (current.scheduled_at, current.location, current.jury) == (scheduled_at, location, tuple(jury))


def cancelled_on_withdrawal(
    schedules: Sequence[DefenceSchedule],
    defences: Sequence[Defence],
    *,
    withdrawn_at: datetime,
    by: str,
    at: datetime,
) -> DefenceSchedule | None:
    """The defence a withdrawal cancels (at ``at``): the one waiting for its outcome, if still to come when
    the candidate withdrew (one already held waits for its outcome as before)."""
    waiting = pending(schedules, defences)
    if waiting is None or waiting.scheduled_at <= withdrawn_at:
        return None
    return replace(waiting, cancelled_at=at, cancelled_by=by, cancel_reason="candidate_withdrawn")
