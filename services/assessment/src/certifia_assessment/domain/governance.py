"""Governance rules around decisions: deadlines (the appeal window, stretched by an accommodation; the time an
officer has to resolve an appeal), when a right was earned against a withdrawal, and the audit trail's entry.
Plain Python, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from certifia_assessment.domain.appeals import Appeal
from certifia_assessment.domain.model import Decision

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Accommodation:
    """What candidate.accommodation_granted tells assessment: the time factor (the latest grant is in force)."""

    id: str
    candidate_id: str
    extra_time_factor: float
    evidence_reference: str
    granted_by: str
    granted_by_role: str
    granted_at: datetime
    reason: str | None = None


def appeal_window(base: timedelta, extra_time_factor: float | None) -> timedelta:
    """APPEAL_WINDOW_DAYS times the candidate's extra time factor, rounded up to whole days (30 days x 1.33:
    40 days); ``base`` unchanged without a factor above 1. Decimal, so that 30 x 1.1 is 33, not 34."""
    if not extra_time_factor or extra_time_factor <= 1:
        return base
    days = Decimal(base // DAY) * Decimal(str(extra_time_factor))
    return timedelta(days=math.ceil(days))


def appealable_until(decision: Decision, in_force: Decision | None, window: timedelta) -> datetime | None:
    """Until when ``decision`` can be contested: a rejection in force, ``window`` after it; None otherwise
    (a validation, or a rejection a later decision replaced)."""
    if decision.outcome != "rejected" or in_force is None or in_force.id != decision.id:
        return None
    return decision.decided_at + window


def resolve_by(appeal: Appeal, resolution_window: timedelta) -> datetime:
    """The date an officer should have resolved the appeal by (APPEAL_RESOLUTION_DAYS after its opening)."""
    return appeal.opened_at + resolution_window


def is_overdue(appeal: Appeal, resolution_window: timedelta, now: datetime) -> bool:
    return appeal.resolution is None and now > resolve_by(appeal, resolution_window)


def upheld_earned_at(appeal: Appeal, contested: Decision) -> datetime:
    """When the right an upheld appeal records was earned: with the contested decision (its hand-in, else its
    own time), the right to contest being earned with it. Never later than the appeal's opening, and known
    without knowing of a withdrawal: an appeal may be opened and upheld before candidate.withdrawn reaches
    assessment (measured: judged by the opening then, a pass earned before the withdrawal earned nothing)."""
    assert contested.id == appeal.decision_id, "the appeal contests this decision"
    return min(contested.earned, appeal.opened_at)


def earned_before_withdrawal(decision: Decision, withdrawn_at: datetime | None) -> bool:
    """Whether the candidate may still act on ``decision`` (contest it) after a withdrawal: it records work
    handed in (or a decision taken) before it."""
    return withdrawn_at is None or decision.earned <= withdrawn_at


@dataclass(frozen=True)
class AuditEntry:
    """One line of a candidate's audit trail: who did what, when, and why."""

    at: datetime
    kind: str
    """decision, vae_decision, appeal_opened, appeal_resolved, withdrawal, accommodation_granted; from the
    thesis service: defence_scheduled, defence_outcome, defence_cancelled, defence_appeal_opened,
    defence_appeal_resolved"""
    account: str | None
    role: str | None
    reason: str | None
    """The comment, grounds, reasoning or reason given."""
    evidence_reference: str | None = None
    outcome: str | None = None
    bloc: str | None = None
    criterion_id: str | None = None
    ref: str | None = None
    """The id of the record (a decision, an appeal, an accommodation, a defence, a defence appeal)."""
    grade: float | None = None
    """A defence outcome's grade (out of 20), when the jury gave one."""
    defence_id: str | None = None
    """The defence a thesis entry is about (the one contested, for a defence appeal)."""
