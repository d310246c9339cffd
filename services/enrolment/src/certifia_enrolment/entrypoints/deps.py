"""The typed dependencies of enrolment's routes (full-stack-fastapi-template's ``api/deps.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from certifia_enrolment.config import Settings
from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_enrolment.service_layer.webhooks import WebhookPolicy
from certifia_shared.deps import unit_of_work

UnitOfWorkDep = Annotated[EnrolmentUnitOfWork, Depends(unit_of_work)]
"""The request's unit of work: bootstrap wires ``EnrolmentUnitOfWork`` (``uow.candidates``, ...)."""


async def webhook_policy(request: Request) -> WebhookPolicy:
    settings: Settings = request.app.state.settings
    return settings.webhook_policy()


Policy = Annotated[WebhookPolicy, Depends(webhook_policy)]
