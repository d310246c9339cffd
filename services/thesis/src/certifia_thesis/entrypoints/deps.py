"""What the thesis routers take besides the shared dependencies (certifia_shared.deps; who may see a candidate
is certifia_shared.tenancy's VisibleCandidate); refusals are answered by ``errors.ERRORS``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from certifia_shared.artifacts import ArtifactStore
from certifia_shared.deps import current_settings, unit_of_work
from certifia_thesis.config import Settings
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork


async def clock(request: Request) -> Callable[[], datetime]:
    """The service's clock (``utcnow``; tests set another on ``app.state.clock``)."""
    now: Callable[[], datetime] = request.app.state.clock
    return now


async def deposits(request: Request) -> ArtifactStore:
    store: ArtifactStore = request.app.state.deposits
    return store


Clock = Annotated[Callable[[], datetime], Depends(clock)]
DepositsDep = Annotated[ArtifactStore, Depends(deposits)]
SettingsDep = Annotated[Settings, Depends(current_settings)]
UnitOfWorkDep = Annotated[ThesisUnitOfWork, Depends(unit_of_work)]
"""The unit of work bootstrap wired (``ThesisUnitOfWork``: ``uow.candidates``, ``uow.missions``, ...)."""
