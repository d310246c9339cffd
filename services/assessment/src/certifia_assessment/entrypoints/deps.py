"""What the assessment routers take besides the shared dependencies (certifia_shared.deps, .tenancy)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from certifia_assessment.adapters.repository import AssessmentRepository
from certifia_assessment.config import Settings
from certifia_shared.artifacts import ArtifactStore
from certifia_shared.db import UnitOfWork
from certifia_shared.deps import current_settings
from certifia_shared.problems import not_found
from certifia_shared.referential import Referential


def referential(request: Request) -> Referential:
    loaded: Referential = request.app.state.referential
    return loaded


def artifacts(request: Request) -> ArtifactStore:
    store: ArtifactStore = request.app.state.artifacts
    return store


SettingsDep = Annotated[Settings, Depends(current_settings)]
ReferentialDep = Annotated[Referential, Depends(referential)]
ArtifactsDep = Annotated[ArtifactStore, Depends(artifacts)]


def known_candidate(uow: UnitOfWork, candidate_id: str) -> dict[str, Any]:
    """The candidate as assessment knows them (withdrawn or not), or the candidate's 404."""
    with uow:
        candidate = AssessmentRepository(uow.session).candidate(candidate_id)
    if candidate is None:
        raise not_found("Candidate", candidate_id, "candidate_id")
    return candidate
