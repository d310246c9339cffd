"""The thesis deposit: what a deposited file must be, when a deposit is allowed, its versions. No I/O.

A deposit is the professional thesis as a PDF, for one of the candidate's missions (which must count for
the thesis: >= 4 months FTE, see :mod:`duration`). Each deposit is a new version; the latest counts.
Once the defence is scheduled the thesis is frozen: the jury reads what was deposited (after a failed
defence, a revised version may be deposited for the resit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from certifia_thesis.domain.eligibility import MissionRefused, assess_mission
from certifia_thesis.domain.model import Mission

PDF_MAGIC = b"%PDF-"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Deposit:
    id: str
    candidate_id: str
    mission_id: str
    version: int
    title: str
    abstract: str
    sha256: str
    size_bytes: int
    filename: str | None
    submitted_at: datetime
    submitted_by: str


class DepositRefused(ValueError):
    """The deposit cannot be accepted as sent; ``field`` names the input to change (answered 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidThesisFile(DepositRefused):
    """The file itself cannot be the thesis (empty, not a PDF, too large): ``field`` is ``file``."""

    def __init__(self, message: str) -> None:
        super().__init__("file", message)


class ThesisFileTooLarge(InvalidThesisFile):
    """The file exceeds the configured maximum (answered 413)."""

    def __init__(self, size: int, max_bytes: int) -> None:
        super().__init__(f"The thesis file is {size} bytes or more; the maximum is {max_bytes} bytes.")
        self.max_bytes = max_bytes


class DefenceAlreadyScheduled(Exception):
    """The defence is scheduled: the deposited thesis is what the jury reads, it can no longer change."""

    def __init__(self, scheduled_at: datetime) -> None:
        super().__init__(scheduled_at.isoformat())
        self.scheduled_at = scheduled_at


def check_thesis_file(content: bytes, max_bytes: int) -> None:
    """A non-empty PDF (it starts with ``%PDF-``) of at most ``max_bytes`` bytes."""
    if len(content) > max_bytes:
        raise ThesisFileTooLarge(len(content), max_bytes)
    if not content:
        raise InvalidThesisFile("The thesis file is empty.")
    if not content.startswith(PDF_MAGIC):
        raise InvalidThesisFile("The thesis must be a PDF file (its content does not start with %PDF-).")


def check_mission_counts(mission: Mission) -> None:
    """The mission must count for the thesis (the same rule as at registration: >= 4 months FTE)."""
    try:
        assess_mission(mission.start_date, mission.end_date, mission.fte)
    except MissionRefused as exc:
        raise DepositRefused(
            "mission_id", f"Mission {mission.id!r} cannot count for the thesis: {exc}"
        ) from exc


def next_version(deposits: Sequence[Deposit]) -> int:
    return max((d.version for d in deposits), default=0) + 1


def latest(deposits: Sequence[Deposit]) -> Deposit | None:
    return max(deposits, key=lambda d: d.version, default=None)


def same_deposit(current: Deposit | None, mission_id: str, title: str, abstract: str, sha256: str) -> bool:
    """The latest deposit sent again unchanged (a retry): no new version."""
    return current is not None and (current.mission_id, current.title, current.abstract, current.sha256) == (
        mission_id,
        title,
        abstract,
        sha256,
    )
