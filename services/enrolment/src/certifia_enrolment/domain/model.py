"""Enrolment rules: plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

Path = Literal["formation", "vae"]
Option = Literal["5A", "5B"]
WithdrawerRole = Literal["candidate", "lms", "officer", "admin"]
OPTIONS: tuple[Option, ...] = ("5A", "5B")


class EnrolmentConflict(Exception):
    """The LMS sent the same external id again with different data."""

    def __init__(self, fields: list[str], *, external_id: str) -> None:
        super().__init__(f"differs from the existing enrolment in: {', '.join(fields)}")
        self.fields = fields
        self.external_id = external_id


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
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    withdrawn_by_role: WithdrawerRole | None = None
    withdrawn_by: str | None = None  # the account: the token's subject, or the LMS client id

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def with_option(self, option: Option) -> Candidate:
        return replace(self, option=option)


class UnknownCandidate(LookupError):
    """No candidate has this id here."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


class CandidateWithdrawn(Exception):
    """The candidate has left the certification: their enrolment no longer changes."""

    def __init__(self, candidate_id: str, withdrawn_at: datetime) -> None:
        super().__init__(f"candidate {candidate_id} withdrew on {withdrawn_at.isoformat()}")
        self.candidate_id = candidate_id
        self.withdrawn_at = withdrawn_at


def ensure_active(candidate: Candidate) -> None:
    if candidate.withdrawn_at is not None:
        raise CandidateWithdrawn(candidate.id, candidate.withdrawn_at)


def withdraw(
    candidate: Candidate, *, reason: str, role: WithdrawerRole, by: str, now: datetime
) -> tuple[Candidate, bool]:
    """The candidate leaves; returns them and whether this changed anything.

    Withdrawal is final here (a return is a new enrolment decision for the certification body, not an
    undo), and a repeat changes nothing: the first date and reason stand.
    """
    if candidate.withdrawn:
        return candidate, False
    return (
        replace(
            candidate, withdrawn_at=now, withdrawal_reason=reason, withdrawn_by_role=role, withdrawn_by=by
        ),
        True,
    )


@dataclass(frozen=True)
class HeldDiploma:
    """A diploma the candidate holds (issued, not revoked), as certification announced it."""

    id: str
    option: Option | None


class CandidateCertified(Exception):
    """The candidate holds a diploma (issued, not revoked): the option it was issued for no longer changes."""

    def __init__(self, candidate_id: str, diploma: HeldDiploma) -> None:
        super().__init__(f"candidate {candidate_id} holds diploma {diploma.id}")
        self.candidate_id = candidate_id
        self.diploma = diploma


def ensure_option_open(candidate: Candidate, option: Option, *, diploma: HeldDiploma | None) -> None:
    """Once a diploma is issued (and until it is revoked) the option is frozen: changing it would make
    progress list the other option's bloc as missing while the diploma still verifies. Choosing the option
    the diploma was issued for stays possible (it puts an older change back in line with the diploma)."""
    if diploma is not None and option != diploma.option:
        raise CandidateCertified(candidate.id, diploma)


IDENTITY_FIELDS = ("given_name", "family_name", "email", "path", "cohort")


def check_same_enrolment(existing: Candidate, requested: dict[str, object]) -> None:
    """An enrolment repeated by the LMS is the same one only if its identity fields match."""
    differing = [f for f in IDENTITY_FIELDS if getattr(existing, f) != requested.get(f)]
    if differing:
        raise EnrolmentConflict(differing, external_id=existing.external_id)
