"""Depositing the thesis: a new version in one unit of work, committed with its thesis.submitted event."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from certifia_shared import event_types as ev
from certifia_shared.db import retry_on_conflict
from certifia_shared.envelope import utcnow
from certifia_thesis.domain.deposit import (
    DefenceAlreadyScheduled,
    Deposit,
    check_mission_counts,
    latest,
    next_version,
    same_deposit,
)
from certifia_thesis.domain.model import UnknownMission, check_not_passed
from certifia_thesis.domain.schedule import pending
from certifia_thesis.service_layer.handlers import active_candidate
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork


@dataclass(frozen=True)
class DepositThesis:
    candidate_id: str
    mission_id: str
    title: str
    abstract: str
    sha256: str
    size_bytes: int
    filename: str | None
    submitted_by: str


def deposit_thesis(
    cmd: DepositThesis, *, uow: ThesisUnitOfWork, now: Callable[[], datetime] = utcnow
) -> tuple[Deposit, bool]:
    """A new version of the thesis (the file already stored under ``cmd.sha256``); the same deposit sent
    again returns the latest version. Refused once the defence is scheduled or passed. A concurrent
    deposit may take the same version number: the retry counts again."""
    return retry_on_conflict(lambda: _deposit_once(cmd, uow=uow, now=now))


def _deposit_once(
    cmd: DepositThesis, *, uow: ThesisUnitOfWork, now: Callable[[], datetime]
) -> tuple[Deposit, bool]:
    with uow:
        active_candidate(uow, cmd.candidate_id)
        mission = uow.missions.get(cmd.mission_id)
        if mission is None or mission.candidate_id != cmd.candidate_id:
            raise UnknownMission(cmd.mission_id)
        check_mission_counts(mission)  # raises DepositRefused(mission_id)
        deposits = uow.deposits.of(cmd.candidate_id)
        current = latest(deposits)
        if same_deposit(current, cmd.mission_id, cmd.title, cmd.abstract, cmd.sha256):
            assert current is not None
            return current, False
        defences = uow.defences.of(cmd.candidate_id)
        check_not_passed(defences)
        waiting = pending(uow.schedules.of(cmd.candidate_id), defences)
        if waiting is not None:
            raise DefenceAlreadyScheduled(waiting.scheduled_at)
        deposit = Deposit(
            id=str(uuid.uuid4()),
            version=next_version(deposits),
            submitted_at=now(),
            **dataclasses.asdict(cmd),
        )
        uow.deposits.add(deposit)
        uow.emit(ev.THESIS_SUBMITTED, subject=deposit.candidate_id, data=_submitted_payload(deposit))
        uow.commit()
        return deposit, True


def _submitted_payload(d: Deposit) -> dict[str, object]:
    return {
        "candidate_id": d.candidate_id,
        "deposit_id": d.id,
        "mission_id": d.mission_id,
        "version": d.version,
        "title": d.title,
        "sha256": d.sha256,
        "size_bytes": d.size_bytes,
        "submitted_at": d.submitted_at.isoformat(),
    }
