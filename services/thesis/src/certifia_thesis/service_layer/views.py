"""Read side: a candidate's thesis as the API shows it (no state change, nothing emitted)."""

from __future__ import annotations

from dataclasses import dataclass

from certifia_shared.db import UnitOfWork
from certifia_thesis.adapters.repository import ThesisRepository
from certifia_thesis.domain.model import Defence, KnownCandidate, Mission, Status, thesis_status


@dataclass(frozen=True)
class ThesisView:
    candidate: KnownCandidate
    status: Status
    missions: list[Mission]
    defences: list[Defence]


def known_candidate(candidate_id: str, *, uow: UnitOfWork) -> KnownCandidate | None:
    with uow:
        return ThesisRepository(uow.session).get_candidate(candidate_id)


def thesis_of(candidate_id: str, *, uow: UnitOfWork) -> ThesisView | None:
    with uow:
        repo = ThesisRepository(uow.session)
        candidate = repo.get_candidate(candidate_id)
        if candidate is None:
            return None
        missions = repo.missions_of(candidate_id)
        defences = repo.defences_of(candidate_id)
    return ThesisView(candidate, thesis_status(missions, defences), missions, defences)
