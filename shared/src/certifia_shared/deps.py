"""Typed dependencies every service's routes take (full-stack-fastapi-template's ``api/deps.py``)::

    def decide(candidate_id: VisibleCandidate, body: ..., uow: UnitOfWorkDep, settings: SettingsDep): ...

These are ``async``: plain lookups, run on the event loop. A sync dependency is a trip through the thread
pool and back, each (issue 15: a candidate-scoped read made four). ``require`` and ``VisibleCandidate`` are
``async`` too and send to the thread pool only what may block: fetching the issuer's keys, reading the
directory for an LMS.

``VisibleCandidate`` (who may see the candidate) lives in :mod:`certifia_shared.tenancy`. A service whose
routes read its own settings class declares ``Annotated[Settings, Depends(current_settings)]``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from certifia_shared.config import ServiceSettings
from certifia_shared.db import UnitOfWork
from certifia_shared.service import ServiceContext


async def service_context(request: Request) -> ServiceContext:
    """What ``bootstrap()`` wired (``app.state.ctx``)."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def unit_of_work(request: Request) -> UnitOfWork:
    """A unit of work for this request (FastAPI gives the same one to every parameter of one request; each
    ``with uow:`` is its own transaction)."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx.uow()


async def current_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


Ctx = Annotated[ServiceContext, Depends(service_context)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(unit_of_work)]
SettingsDep = Annotated[ServiceSettings, Depends(current_settings)]
