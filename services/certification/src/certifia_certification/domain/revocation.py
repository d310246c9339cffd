"""Revoking a diploma: the rule, and how a verifier is told. Plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

REASON_MAX_LENGTH = 500
RevokerRole = Literal["officer", "admin"]


@dataclass(frozen=True)
class Revocation:
    revoked_at: datetime
    reason: str
    revoked_by: str
    """The subject (an account id, never a name) of the token that revoked."""
    revoked_by_role: RevokerRole

    def statement(self) -> str:
        """What verification says, e.g. ``revoked on 2026-11-29: diploma obtained by fraud``."""
        return f"revoked on {self.revoked_at.astimezone(UTC).date().isoformat()}: {self.reason}"


def revoke(
    current: Revocation | None, *, reason: str, revoked_by: str, revoked_by_role: RevokerRole, at: datetime
) -> tuple[Revocation, bool]:
    """The diploma's revocation after this request, and whether it is new.

    Revocation is final and happens once: revoking a revoked diploma keeps the first revocation (its date,
    reason and author) and records nothing new.
    """
    if current is not None:
        return current, False
    reason = reason.strip()
    if not 1 <= len(reason) <= REASON_MAX_LENGTH:
        raise ValueError(f"a revocation reason has 1 to {REASON_MAX_LENGTH} characters")
    if not revoked_by:
        raise ValueError("a revocation names who revoked")
    return Revocation(at, reason, revoked_by, revoked_by_role), True
