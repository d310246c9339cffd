"""Appeals (recours) against a failed defence: who may contest what, until when, and who may resolve. No I/O.

The same flow as assessment's appeals against a rejected criterion (its own module: services never import
each other). The candidate (or an officer on their behalf) contests a failed outcome within the appeal
window after it was recorded (inclusive, times the candidate's extra-time factor), once per outcome: a
second appeal on it, open or resolved, is refused and names the first. The grounds say why (20 characters
at least). An officer who sat on that defence's jury, recorded its outcome or opened the appeal may not
resolve it (impartiality). Upheld, the failure is annulled: it no longer counts against the resit limit and
a new defence may be scheduled; dismissed, nothing changes. A resolution is final.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from certifia_thesis.domain.model import Defence

TEXT_MIN_LENGTH = 20
TEXT_MAX_LENGTH = 4000
AppealOutcome = Literal["upheld", "dismissed"]
OpenerRole = Literal["candidate", "officer", "admin"]
ResolverRole = Literal["officer", "admin"]


@dataclass(frozen=True)
class Resolution:
    outcome: AppealOutcome
    reasoning: str
    resolved_by: str  # the subject (an account id, never a name) of the resolving officer's token
    resolved_by_role: ResolverRole
    resolved_at: datetime


@dataclass(frozen=True)
class Appeal:
    id: str
    candidate_id: str
    defence_id: str
    grounds: str
    opened_by: str  # the account (token subject) that opened it
    opened_by_role: OpenerRole
    opened_at: datetime
    resolve_by: datetime  # when an officer should have resolved it (APPEAL_RESOLUTION_DAYS)
    resolution: Resolution | None = None

    @property
    def status(self) -> Literal["open", "resolved"]:
        return "open" if self.resolution is None else "resolved"


# -- refusals ------------------------------------------------------------------------------------------
class UnknownDefence(LookupError):
    """No defence of that id (its outcome keeps the scheduled defence's id)."""

    def __init__(self, defence_id: str) -> None:
        super().__init__(defence_id)
        self.defence_id = defence_id


class NoAppeal(LookupError):
    """The defence is contested by no appeal."""

    def __init__(self, defence_id: str) -> None:
        super().__init__(defence_id)
        self.defence_id = defence_id


class AppealRefused(ValueError):
    """The text sent cannot be accepted; ``field`` names it (answered 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class AppealNotAllowed(Exception):
    """The outcome cannot be contested; ``problem_type`` names the rule it breaks (answered 409)."""

    problem_type = "appeal-not-allowed"
    title = "Appeal not allowed"


class NotAFailure(AppealNotAllowed):
    problem_type = "defence-not-failed"
    title = "Defence not failed"

    def __init__(self, defence: Defence) -> None:
        super().__init__(
            f"defence {defence.id} was {defence.outcome}: only a failed defence can be contested"
        )


class AppealWindowClosed(AppealNotAllowed):
    problem_type = "appeal-window-closed"
    title = "Appeal window closed"

    def __init__(self, defence: Defence, deadline: datetime) -> None:
        super().__init__(
            f"the failed defence {defence.id} could be contested until {deadline.isoformat()}; "
            "the window has closed"
        )
        self.deadline = deadline


class AlreadyAppealed(Exception):
    """The outcome is contested already (one appeal per outcome)."""

    def __init__(self, appeal: Appeal) -> None:
        super().__init__(f"defence {appeal.defence_id} is contested by appeal {appeal.id} ({appeal.status})")
        self.appeal = appeal


class AlreadyResolved(Exception):
    """The appeal has a resolution already; a resolution is final."""

    def __init__(self, appeal: Appeal) -> None:
        assert appeal.resolution is not None
        super().__init__(f"appeal {appeal.id} was already {appeal.resolution.outcome}; a resolution is final")
        self.appeal = appeal


class NotImpartial(Exception):
    """The officer took part in the contested defence, or opened the appeal: another officer resolves it."""

    def __init__(self, appeal: Appeal, why: str) -> None:
        super().__init__(f"you {why}; another officer must resolve appeal {appeal.id}")
        self.appeal = appeal
        self.why = why


# -- rules ---------------------------------------------------------------------------------------------
def appeal_deadline(defence: Defence, window: timedelta) -> datetime:
    """The failure can be contested until the window has passed since its outcome was recorded."""
    return defence.recorded_at + window


def _text(value: str, name: str) -> str:
    value = value.strip()
    if not TEXT_MIN_LENGTH <= len(value) <= TEXT_MAX_LENGTH:
        raise AppealRefused(
            name, f"{name} has {TEXT_MIN_LENGTH} to {TEXT_MAX_LENGTH} characters (got {len(value)})."
        )
    return value


def open_appeal(
    defence: Defence,
    *,
    existing: Appeal | None,
    appeal_id: str,
    grounds: str,
    opened_by: str,
    opened_by_role: OpenerRole,
    now: datetime,
    window: timedelta,
    resolution_time: timedelta,
) -> Appeal:
    """The appeal against the failed ``defence``, or the rule it breaks. ``existing``: the appeal already
    made against it, if any. The window is inclusive: an outcome recorded at 10:00 on day D can be contested
    until 10:00 on day D + window."""
    if existing is not None:
        raise AlreadyAppealed(existing)
    if defence.outcome != "failed" or not defence.counts:
        raise NotAFailure(defence)
    deadline = appeal_deadline(defence, window)
    if now > deadline:
        raise AppealWindowClosed(defence, deadline)
    return Appeal(
        id=appeal_id,
        candidate_id=defence.candidate_id,
        defence_id=defence.id,
        grounds=_text(grounds, "grounds"),
        opened_by=opened_by,
        opened_by_role=opened_by_role,
        opened_at=now,
        resolve_by=now + resolution_time,
    )


def resolve_appeal(
    appeal: Appeal,
    *,
    contested: Defence,
    jury_accounts: Set[str],
    outcome: AppealOutcome,
    reasoning: str,
    resolved_by: str,
    resolved_by_role: ResolverRole,
    now: datetime,
) -> tuple[Appeal, bool]:
    """The appeal with its resolution, and whether the resolution is new.

    A resolution is final: the same request again (same officer, outcome and reasoning: a retry) returns
    the resolution in force; any other raises :class:`AlreadyResolved`. An officer on the defence's jury
    (``jury_accounts``), who recorded its outcome, or who opened the appeal may not resolve it."""
    reasoning = _text(reasoning, "reasoning")
    if appeal.resolution is not None:
        r = appeal.resolution
        if (r.resolved_by, r.outcome, r.reasoning) == (resolved_by, outcome, reasoning):
            return appeal, False
        raise AlreadyResolved(appeal)
    if resolved_by in jury_accounts or resolved_by == contested.recorded_by:
        raise NotImpartial(appeal, f"sat on the jury of the contested defence {contested.id}")
    if resolved_by == appeal.opened_by:
        raise NotImpartial(appeal, "opened this appeal")
    resolution = Resolution(outcome, reasoning, resolved_by, resolved_by_role, now)
    return replace(appeal, resolution=resolution), True
