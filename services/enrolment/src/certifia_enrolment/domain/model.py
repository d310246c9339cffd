"""Enrolment rules: plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

Path = Literal["formation", "vae"]
Option = Literal["5A", "5B"]
OPTIONS: tuple[Option, ...] = ("5A", "5B")


class EnrolmentConflict(Exception):
    """The LMS sent the same external id again with different data."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"differs from the existing enrolment in: {', '.join(fields)}")
        self.fields = fields


@dataclass(frozen=True)
class Candidate:
    id: str
    lms_client: str
    external_id: str
    given_name: str
    family_name: str
    email: str
    path: Path
    cohort: str | None
    enrolled_at: datetime
    option: Option | None = None

    def with_option(self, option: Option) -> Candidate:
        return replace(self, option=option)


IDENTITY_FIELDS = ("given_name", "family_name", "email", "path", "cohort")


def check_same_enrolment(existing: Candidate, requested: dict[str, object]) -> None:
    """An enrolment repeated by the LMS is the same one only if its identity fields match."""
    differing = [f for f in IDENTITY_FIELDS if getattr(existing, f) != requested.get(f)]
    if differing:
        raise EnrolmentConflict(differing)
