"""Suspending a diploma or a bloc certificate while it is looked into (an appeal, an investigation), and lifting
the suspension. Plain Python, no I/O.

Unlike revocation (final), a suspension is reversible: while it holds, verification reports the credential
suspended (since when, why) and its entry in the suspension status list is set; once lifted, the credential
verifies again. Every suspension and every lifting is kept in the credential's history (who, when, why).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from certifia_certification.domain.revocation import REASON_MAX_LENGTH, Revocation, RevokerRole

SuspenderRole = RevokerRole
"""Officers and admins suspend and lift, as they revoke."""
Action = Literal["suspended", "lifted"]
CredentialKind = Literal["diploma", "bloc_certificate"]


@dataclass(frozen=True)
class Suspension:
    suspended_at: datetime
    reason: str
    suspended_by: str
    """The subject (an account id, never a name) of the token that suspended."""
    suspended_by_role: SuspenderRole

    def statement(self) -> str:
        """What verification says, e.g. ``suspended on 2026-12-01: appeal under review``."""
        return f"suspended on {self.suspended_at.astimezone(UTC).date().isoformat()}: {self.reason}"


@dataclass(frozen=True)
class SuspensionRecord:
    """One line of a credential's suspension history."""

    action: Action
    at: datetime
    reason: str
    by: str
    by_role: SuspenderRole


class AlreadyRevoked(ValueError):
    """A revoked credential is not suspended (revocation is final): there is nothing left to suspend."""

    def __init__(self, kind: CredentialKind, credential_id: str, revocation: Revocation) -> None:
        super().__init__(f"{kind} {credential_id} was {revocation.statement()}")
        self.kind, self.credential_id, self.revocation = kind, credential_id, revocation


def _checked(reason: str, by: str) -> str:
    reason = reason.strip()
    if not 1 <= len(reason) <= REASON_MAX_LENGTH:
        raise ValueError(f"a suspension reason has 1 to {REASON_MAX_LENGTH} characters")
    if not by:
        raise ValueError("a suspension names who decided it")
    return reason


def suspend(
    current: Suspension | None, *, reason: str, by: str, by_role: SuspenderRole, at: datetime
) -> tuple[Suspension, SuspensionRecord | None]:
    """The suspension after this request, and the history line to record (None: nothing changes).

    Suspending a suspended credential keeps the suspension in force (its date, reason and author).
    """
    if current is not None:
        return current, None
    reason = _checked(reason, by)
    return Suspension(at, reason, by, by_role), SuspensionRecord("suspended", at, reason, by, by_role)


def lift(
    current: Suspension | None, *, reason: str, by: str, by_role: SuspenderRole, at: datetime
) -> SuspensionRecord | None:
    """The history line of lifting the suspension in force (None: the credential is not suspended, so
    nothing changes)."""
    if current is None:
        return None
    return SuspensionRecord("lifted", at, _checked(reason, by), by, by_role)
