"""What the assessment routers take besides the shared dependencies (certifia_shared.deps, .tenancy)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from certifia_assessment.config import Settings
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared.artifacts import ArtifactStore
from certifia_shared.deps import current_settings, unit_of_work
from certifia_shared.referential import Referential


async def referential(request: Request) -> Referential:
    loaded: Referential = request.app.state.referential
    return loaded


async def artifacts(request: Request) -> ArtifactStore:
    store: ArtifactStore = request.app.state.artifacts
    return store


SettingsDep = Annotated[Settings, Depends(current_settings)]
ReferentialDep = Annotated[Referential, Depends(referential)]
ArtifactsDep = Annotated[ArtifactStore, Depends(artifacts)]
UnitOfWorkDep = Annotated[AssessmentUnitOfWork, Depends(unit_of_work)]
"""The request's unit of work (bootstrap builds AssessmentUnitOfWork; ``uow.candidates``, ``uow.decisions``...)."""
