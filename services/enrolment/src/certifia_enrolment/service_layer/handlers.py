"""Enrolment use cases. Each runs in one unit of work: state change and event commit together."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from certifia_enrolment.domain.model import (
    Candidate,
    Option,
    Path,
    UnknownCandidate,
    WithdrawerRole,
    check_same_enrolment,
    ensure_active,
    ensure_option_open,
    withdraw,
)
from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.db import Conflict, retry_on_conflict
from certifia_shared.envelope import utcnow


@dataclass(frozen=True)
class EnrolCandidate:
    lms_client: str
    external_id: str
    given_name: str
    family_name: str
    email: str
    path: Path
    cohort: str | None


@dataclass(frozen=True)
class ChooseOption:
    candidate_id: str
    option: Option


@dataclass(frozen=True)
class WithdrawCandidate:
    candidate_id: str
    reason: str
    role: WithdrawerRole
    by: str  # the account: the token's subject, or the LMS client id


def enrol_candidate(cmd: EnrolCandidate, *, uow: EnrolmentUnitOfWork) -> tuple[Candidate, bool]:
    """Enrol once per (LMS client, external id); a repeat returns the existing candidate. The insert comes
    first and gives way to the existing one (a repeat, or a concurrent twin that won the key), which is
    then read; should it not be seen yet, or a conflict come at commit, the retry reads theirs."""

    def attempt() -> tuple[Candidate, bool]:
        with uow:
            candidate = Candidate(id=str(uuid.uuid4()), enrolled_at=utcnow(), **asdict(cmd))
            if uow.candidates.add_new(candidate):
                uow.emit(ev.CANDIDATE_ENROLLED, subject=candidate.id, data=_enrolled_payload(candidate))
                uow.commit()
                return candidate, True
            existing = uow.candidates.by_external_id(cmd.lms_client, cmd.external_id)
            if existing is None:
                raise Conflict("uq_candidates_lms_external")  # theirs is not visible yet: again
            check_same_enrolment(existing, asdict(cmd))
            return existing, False

    return retry_on_conflict(attempt)


def choose_option(cmd: ChooseOption, *, uow: EnrolmentUnitOfWork) -> tuple[Candidate, bool]:
    """Record the option bloc; choosing the same option again changes nothing and emits nothing. Once the
    candidate holds a diploma (not revoked), another option is refused."""
    with uow:
        candidate = uow.candidates.get(cmd.candidate_id)
        if candidate is None:
            raise UnknownCandidate(cmd.candidate_id)
        ensure_active(candidate)
        if candidate.option == cmd.option:
            return candidate, False
        ensure_option_open(candidate, cmd.option, diploma=uow.diplomas.in_force(candidate.id))
        uow.candidates.set_option(candidate.id, cmd.option)
        uow.emit(
            ev.OPTION_CHOSEN,
            subject=candidate.id,
            data={"candidate_id": candidate.id, "option": cmd.option, "chosen_at": utcnow().isoformat()},
        )
        uow.commit()
        return candidate.with_option(cmd.option), True


def withdraw_candidate(cmd: WithdrawCandidate, *, uow: EnrolmentUnitOfWork) -> tuple[Candidate, bool]:
    """Record the withdrawal and emit candidate.withdrawn, once; a repeat returns the first withdrawal."""
    with uow:
        candidate = uow.candidates.get(cmd.candidate_id)
        if candidate is None:
            raise UnknownCandidate(cmd.candidate_id)
        withdrawn, changed = withdraw(candidate, reason=cmd.reason, role=cmd.role, by=cmd.by, now=utcnow())
        if not changed:
            return candidate, False
        if not uow.candidates.record_withdrawal(
            withdrawn
        ):  # a concurrent request withdrew them first: theirs stands
            uow.rollback()
            current = uow.candidates.get(cmd.candidate_id)
            assert current is not None
            return current, False
        assert withdrawn.withdrawn_at is not None
        uow.emit(
            ev.CANDIDATE_WITHDRAWN,
            subject=candidate.id,
            data={
                "candidate_id": candidate.id,
                "withdrawn_at": withdrawn.withdrawn_at.isoformat(),
                "reason": cmd.reason,
                "withdrawn_by_role": cmd.role,
                "withdrawn_by": cmd.by,
            },
        )
        uow.commit()
        return withdrawn, True


def _enrolled_payload(c: Candidate) -> dict[str, object]:
    return {
        "candidate_id": c.id,
        "external_id": c.external_id,
        "lms_client": c.lms_client,
        "given_name": c.given_name,
        "family_name": c.family_name,
        "email": c.email,
        "path": c.path,
        "cohort": c.cohort,
        "enrolled_at": c.enrolled_at.isoformat(),
    }
