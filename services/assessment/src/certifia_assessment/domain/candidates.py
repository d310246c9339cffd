"""The candidate as assessment sees them: known from candidate.enrolled, and withdrawn or not. Plain Python.

A withdrawal takes away no right earned before it: results of work handed in before it (a grading verdict,
an appeal already open) still land; nothing new is assessed."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class UnknownCandidate(LookupError):
    """Assessment does not know the candidate (candidate.enrolled not applied, or never sent)."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


class CandidateWithdrawn(Exception):
    """The candidate left the certification (candidate.withdrawn): nothing new is assessed for them."""

    def __init__(self, candidate_id: str, withdrawn_at: datetime) -> None:
        super().__init__(f"candidate {candidate_id} withdrew on {withdrawn_at:%Y-%m-%d}")
        self.candidate_id = candidate_id
        self.withdrawn_at = withdrawn_at


def check_active(candidate_id: str, candidate: dict[str, Any] | None) -> dict[str, Any]:
    """The candidate if known and not withdrawn; else :class:`UnknownCandidate` or :class:`CandidateWithdrawn`."""
    if candidate is None:
        raise UnknownCandidate(candidate_id)
    if candidate.get("withdrawn_at") is not None:
        raise CandidateWithdrawn(candidate_id, candidate["withdrawn_at"])
    return candidate
