"""Accommodations for a disabled candidate (décret 2021-389): plain Python, no I/O.

A certification officer (or an admin) grants them on the strength of evidence the certification body keeps
(the MDPH notice, a medical opinion): enrolment stores only its reference, never the document. The latest
grant is the one in force; a new grant replaces it and the earlier ones stay as history. A factor of 1.0
with no adapted format and no adapted defence takes the accommodations away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

AdaptedFormat = Literal[
    "large_print",
    "screen_reader",
    "oral_instead_of_written",
    "written_instead_of_oral",
    "sign_language_interpreter",
    "assistive_software",
    "rest_breaks",
]
ADAPTED_FORMATS: tuple[AdaptedFormat, ...] = (
    "large_print",
    "screen_reader",
    "oral_instead_of_written",
    "written_instead_of_oral",
    "sign_language_interpreter",
    "assistive_software",
    "rest_breaks",
)
GranterRole = Literal["officer", "admin"]
MIN_FACTOR = 1.0
MAX_FACTOR = 3.0


@dataclass(frozen=True)
class Accommodation:
    id: str
    candidate_id: str
    extra_time_factor: float
    adapted_formats: tuple[AdaptedFormat, ...]
    adapted_defence: str | None
    evidence_reference: str
    reason: str
    granted_by: str
    granted_by_role: GranterRole
    granted_at: datetime
    superseded_at: datetime | None = None

    @property
    def in_force(self) -> bool:
        return self.superseded_at is None


def granted_payload(a: Accommodation) -> dict[str, object]:
    """``candidate.accommodation_granted``'s payload (contracts/events/...accommodation_granted.v1)."""
    return {
        "accommodation_id": a.id,
        "candidate_id": a.candidate_id,
        "extra_time_factor": a.extra_time_factor,
        "adapted_formats": list(a.adapted_formats),
        "adapted_defence": a.adapted_defence,
        "evidence_reference": a.evidence_reference,
        "granted_by": a.granted_by,
        "granted_by_role": a.granted_by_role,
        "granted_at": a.granted_at.isoformat(),
        "reason": a.reason,
    }
