"""Appeals (recours) against a rejected criterion: who may contest what, until when, and who may resolve.

A candidate contests the decision in force on one criterion when it is a rejection, within a window after
it. A decision is contested once: a second appeal on it, open or resolved, is refused and names the first
(a dismissal is final here; a new attempt, i.e. a new decision, can be contested anew). An officer who took
the contested decision, or opened the appeal on the candidate's behalf, may not resolve it (impartiality). Upheld, the criterion is validated by a
new decision (the service layer records it through the usual decision path); dismissed, nothing else
changes. Plain Python, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from certifia_assessment.domain.model import Decision

TEXT_MIN_LENGTH = 20
TEXT_MAX_LENGTH = 4000
AppealOutcome = Literal["upheld", "dismissed"]
OpenerRole = Literal["candidate", "officer", "admin"]
ResolverRole = Literal["officer", "admin"]


@dataclass(frozen=True)
class Resolution:
    outcome: AppealOutcome
    reasoning: str
    resolved_by: str
    """The subject (an account id, never a name) of the resolving officer's token."""
    resolved_by_role: ResolverRole
    resolved_at: datetime
    decision_id: str | None = None
    """Upheld: the decision that validates the criterion; dismissed: None."""


@dataclass(frozen=True)
class Appeal:
    id: str
    candidate_id: str
    decision_id: str
    bloc: str
    criterion_id: str
    criterion_code: str
    grounds: str
    opened_by: str
    opened_by_role: OpenerRole
    opened_at: datetime
    resolution: Resolution | None = None

    @property
    def status(self) -> Literal["open", "resolved"]:
        return "open" if self.resolution is None else "resolved"


# -- refusals ------------------------------------------------------------------------------------------
class AppealNotAllowed(Exception):
    """The decision cannot be contested; ``problem_type`` names the rule it breaks."""

    problem_type = "appeal-not-allowed"


class NotARejection(AppealNotAllowed):
    problem_type = "decision-not-a-rejection"

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            f"decision {decision.id} {decision.outcome} criterion {decision.criterion_id}: "
            "only a rejection can be contested"
        )


class DecisionSuperseded(AppealNotAllowed):
    problem_type = "decision-superseded"

    def __init__(self, decision: Decision, in_force: Decision) -> None:
        super().__init__(
            f"decision {decision.id} is no longer in force on {decision.criterion_id}: decision "
            f"{in_force.id} ({in_force.outcome}) came after it; only the decision in force can be contested"
        )
        self.in_force = in_force


class AppealWindowClosed(AppealNotAllowed):
    problem_type = "appeal-window-closed"

    def __init__(self, decision: Decision, deadline: datetime) -> None:
        super().__init__(
            f"decision {decision.id} could be contested until {deadline.isoformat()}; the window has closed"
        )
        self.deadline = deadline


class AlreadyAppealed(Exception):
    """The decision is contested already (one appeal per decision)."""

    def __init__(self, appeal: Appeal) -> None:
        super().__init__(
            f"decision {appeal.decision_id} is contested by appeal {appeal.id} ({appeal.status})"
        )
        self.appeal = appeal


class AlreadyResolved(Exception):
    """The appeal has a resolution already; a resolution is final."""

    def __init__(self, appeal: Appeal) -> None:
        assert appeal.resolution is not None
        super().__init__(f"appeal {appeal.id} was already {appeal.resolution.outcome}; a resolution is final")
        self.appeal = appeal


ImpartialityRule = Literal["took-the-decision", "opened-the-appeal"]


class NotImpartial(Exception):
    """The officer took part on one side and may not judge the appeal: they took the contested decision (for
    a jury decision: they are the deciding jury member), or they opened the appeal on the candidate's behalf.
    ``rule`` names which."""

    def __init__(self, decision: Decision, rule: ImpartialityRule = "took-the-decision") -> None:
        what = (
            f"you took the contested decision {decision.id}"
            if rule == "took-the-decision"
            else f"you opened this appeal against decision {decision.id} on the candidate's behalf"
        )
        super().__init__(f"{what}; another officer must resolve this appeal")
        self.decision = decision
        self.rule: ImpartialityRule = rule


class UnknownDecision(LookupError):
    """No decision with this id for this candidate."""

    def __init__(self, candidate_id: str, decision_id: str) -> None:
        super().__init__(decision_id)
        self.candidate_id = candidate_id
        self.decision_id = decision_id


class UnknownAppeal(LookupError):
    def __init__(self, appeal_id: str) -> None:
        super().__init__(appeal_id)
        self.appeal_id = appeal_id


# -- rules ---------------------------------------------------------------------------------------------
def appeal_deadline(decision: Decision, window: timedelta) -> datetime:
    return decision.decided_at + window


def _text(value: str, name: str) -> str:
    value = value.strip()
    if not TEXT_MIN_LENGTH <= len(value) <= TEXT_MAX_LENGTH:
        raise ValueError(f"{name} has {TEXT_MIN_LENGTH} to {TEXT_MAX_LENGTH} characters")
    return value


def open_appeal(
    decision: Decision,
    *,
    in_force: Decision,
    existing: Appeal | None,
    appeal_id: str,
    grounds: str,
    opened_by: str,
    opened_by_role: OpenerRole,
    now: datetime,
    window: timedelta,
) -> Appeal:
    """The appeal against ``decision``, or the rule it breaks.

    ``in_force`` is the decision in force on the criterion (a validation, else the latest decision);
    ``existing`` the appeal already made against ``decision``, if any. The window is inclusive: a decision
    taken at 10:00 on day D can be contested until 10:00 on day D + window.
    """
    if existing is not None:
        raise AlreadyAppealed(existing)
    if decision.outcome != "rejected":
        raise NotARejection(decision)
    if in_force.id != decision.id:
        raise DecisionSuperseded(decision, in_force)
    deadline = appeal_deadline(decision, window)
    if now > deadline:
        raise AppealWindowClosed(decision, deadline)
    return Appeal(
        id=appeal_id,
        candidate_id=decision.candidate_id,
        decision_id=decision.id,
        bloc=decision.bloc,
        criterion_id=decision.criterion_id,
        criterion_code=decision.criterion_code,
        grounds=_text(grounds, "grounds"),
        opened_by=opened_by,
        opened_by_role=opened_by_role,
        opened_at=now,
    )


def resolve_appeal(
    appeal: Appeal,
    *,
    contested: Decision,
    outcome: AppealOutcome,
    reasoning: str,
    resolved_by: str,
    resolved_by_role: ResolverRole,
    now: datetime,
) -> tuple[Appeal, bool]:
    """The appeal with its resolution, and whether the resolution is new.

    A resolution is final: the same request again (same officer, outcome and reasoning: a retry) returns
    the resolution in force and records nothing; any other raises :class:`AlreadyResolved`. An officer who
    took the contested decision, or opened the appeal for the candidate, may not resolve it
    (:class:`NotImpartial`).
    """
    reasoning = _text(reasoning, "reasoning")
    if appeal.resolution is not None:
        r = appeal.resolution
        if (r.resolved_by, r.outcome, r.reasoning) == (resolved_by, outcome, reasoning):
            return appeal, False
        raise AlreadyResolved(appeal)
    if contested.decided_by == resolved_by:
        raise NotImpartial(contested, "took-the-decision")
    if appeal.opened_by_role != "candidate" and appeal.opened_by == resolved_by:
        raise NotImpartial(contested, "opened-the-appeal")
    resolution = Resolution(outcome, reasoning, resolved_by, resolved_by_role, now)
    return replace(appeal, resolution=resolution), True
