"""A candidate's progress towards the certification: a projection of other services' events.

Plain Python, no I/O. Events may arrive in any order across topics (a bloc may be passed before the
candidate's enrolment reaches us), so every fact is kept as soon as it is learnt and nothing waits for
another fact to be accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.status_list import StatusEntry
from certifia_certification.domain.suspension import Suspension
from certifia_shared.envelope import as_utc

Path = Literal["formation", "vae"]
Outcome = Literal["passed", "failed"]


@dataclass(frozen=True)
class Enrolment:
    given_name: str
    family_name: str
    email: str
    path: Path
    enrolled_at: datetime

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class BlocPass:
    bloc: str
    via: str
    passed_at: datetime
    referential_version: str
    competencies: tuple[str, ...] = ()
    earned_at: datetime | None = None
    """When the rights behind the pass were earned (the hand-in, or the appeal, whose decision completed
    the bloc); None for events written before assessment sent it."""

    @property
    def acquired_at(self) -> datetime:
        """What a withdrawal is judged against: ``earned_at``, else ``passed_at``."""
        return self.earned_at if self.earned_at is not None else self.passed_at


@dataclass(frozen=True)
class Defence:
    defence_id: str
    mission_id: str
    outcome: Outcome
    defended_at: datetime


@dataclass(frozen=True)
class BlocCertificate:
    certificate_id: str
    candidate_id: str
    bloc: str
    issued_at: datetime
    credential: dict[str, Any] | None = None
    """The signed OB 3.0 credential (None for certificates recorded before they were credentials)."""
    status: StatusEntry | None = None
    suspension_status: StatusEntry | None = None
    """Its entry in a suspension status list; None for certificates issued before suspension existed."""
    revocation: Revocation | None = None
    suspension: Suspension | None = None
    """The suspension in force, if any."""


@dataclass(frozen=True)
class Diploma:
    diploma_id: str
    candidate_id: str
    path: Path
    option: str | None
    blocs: tuple[str, ...]
    thesis_defence_id: str | None
    issued_at: datetime
    credential: dict[str, Any]
    status: StatusEntry | None = None
    """Its entry in a revocation status list; None for diplomas issued before status lists."""
    revocation: Revocation | None = None
    suspension_status: StatusEntry | None = None
    """Its entry in a suspension status list; None for diplomas issued before suspension existed."""
    suspension: Suspension | None = None
    """The suspension in force, if any."""


@dataclass
class CandidateProgress:
    candidate_id: str
    enrolment: Enrolment | None = None
    option: str | None = None
    option_chosen_at: datetime | None = None
    blocs: dict[str, BlocPass] = field(default_factory=dict)
    thesis: Defence | None = None
    certificates: dict[str, BlocCertificate] = field(default_factory=dict)
    diploma: Diploma | None = None
    withdrawn_at: datetime | None = None

    @property
    def path(self) -> Path | None:
        return self.enrolment.path if self.enrolment else None

    def record_enrolment(self, enrolment: Enrolment) -> bool:
        """The first enrolment wins (enrolment is idempotent upstream; a replay changes nothing)."""
        if self.enrolment is not None:
            return False
        self.enrolment = enrolment
        return True

    def diploma_in_force(self) -> Diploma | None:
        """The diploma, unless none was issued or it was revoked."""
        return self.diploma if self.diploma is not None and self.diploma.revocation is None else None

    def option_locked(self, option: str) -> bool:
        """A diploma in force fixes the option it was awarded on: a later choice of another one (enrolment
        refuses it now; an event from before that) changes nothing."""
        diploma = self.diploma_in_force()
        return diploma is not None and diploma.option is not None and option != diploma.option

    def record_option(self, option: str, chosen_at: datetime) -> bool:
        """The latest choice wins, judged by when it was made, not by when it reached us; once a diploma is
        in force, its option stays (``option_locked``)."""
        if self.option_locked(option):
            return False
        if self.option_chosen_at is not None and as_utc(chosen_at) < as_utc(self.option_chosen_at):
            return False
        changed = option != self.option
        self.option, self.option_chosen_at = option, chosen_at
        return changed

    def record_bloc_pass(self, bloc_pass: BlocPass) -> bool:
        """A bloc is passed once; the first decision is kept."""
        if bloc_pass.bloc in self.blocs:
            return False
        self.blocs[bloc_pass.bloc] = bloc_pass
        return True

    def record_defence(self, defence: Defence) -> bool:
        """A passed defence is final; a later (re-)defence replaces a failed one."""
        current = self.thesis
        if current is not None and (current.outcome == "passed" or current.defence_id == defence.defence_id):
            return False
        if (
            current is None
            or defence.outcome == "passed"
            or as_utc(defence.defended_at) > as_utc(current.defended_at)
        ):
            self.thesis = defence
            return True
        return False

    def record_withdrawal(self, at: datetime) -> bool:
        """The candidate left (candidate.withdrawn); the first date stands."""
        if self.withdrawn_at is not None:
            return False
        self.withdrawn_at = at
        return True

    def passed_before_withdrawal(self, bloc: str) -> bool:
        """A bloc earned before the withdrawal is acquired (its certificate is due, whenever its event
        arrives, even when the decision came after: an appeal opened before, upheld after); one earned
        after it earns nothing. Judged by ``earned_at``, else ``passed_at``."""
        return self.withdrawn_at is None or as_utc(self.blocs[bloc].acquired_at) <= as_utc(self.withdrawn_at)

    def blocs_without_certificate(self, order: tuple[str, ...]) -> list[str]:
        """Passed blocs that have no certificate yet and were passed before any withdrawal, in the
        referential's order."""
        rank = {b: i for i, b in enumerate(order)}
        pending = [b for b in self.blocs if b not in self.certificates and self.passed_before_withdrawal(b)]
        return sorted(pending, key=lambda b: (rank.get(b, len(rank)), b))
