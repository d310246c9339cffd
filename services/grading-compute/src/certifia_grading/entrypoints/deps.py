"""What grading-compute's routes take besides the shared dependencies (certifia_shared.deps; who may see a
candidate is certifia_shared.tenancy's VisibleCandidate); refusals are answered by ``errors.ERRORS``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from certifia_grading.config import Settings
from certifia_grading.domain import Grader
from certifia_grading.service_layer.unit_of_work import GradingUnitOfWork
from certifia_shared.deps import current_settings, unit_of_work

if TYPE_CHECKING:
    from certifia_grading.bootstrap import GradingContext


async def grader(request: Request) -> Grader:
    """The service's grader (what bootstrap wired: ``GradingContext.grader``)."""
    ctx: GradingContext = request.app.state.ctx
    return ctx.grader


GraderDep = Annotated[Grader, Depends(grader)]
UnitOfWorkDep = Annotated[GradingUnitOfWork, Depends(unit_of_work)]
SettingsDep = Annotated[Settings, Depends(current_settings)]
