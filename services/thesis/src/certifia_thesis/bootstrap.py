"""The one place that wires the thesis service's real adapters: ``bootstrap()`` returns the frozen
:class:`ThesisContext`; ``create_application()`` only adapts it to FastAPI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from certifia_shared.artifacts import ArtifactStore
from certifia_shared.envelope import utcnow
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.tenancy import TableTenants
from certifia_shared.web import create_app
from certifia_thesis.adapters.orm import candidates, messaging
from certifia_thesis.config import Settings
from certifia_thesis.entrypoints import api, appeals_api, deposit_api
from certifia_thesis.entrypoints.errors import ERRORS
from certifia_thesis.service_layer.events import HANDLERS
from certifia_thesis.service_layer.unit_of_work import ThesisUnitOfWork

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
MULTIPART_ALLOWANCE = 64 * 1024
"""What the deposit's form fields (title, abstract, mission id) and multipart framing add to the PDF."""


@dataclass(frozen=True)
class ThesisContext(ServiceContext[ThesisUnitOfWork]):
    """The shared wiring, plus the content-addressed store the deposited theses are kept in."""

    deposits: ArtifactStore


def bootstrap(
    settings: Settings | None = None, *, uow_factory: Callable[[], ThesisUnitOfWork] | None = None
) -> ThesisContext:
    """The wired service: its database, units of work, consumer handlers and the deposits' store.
    ``uow_factory`` (a test's fake) wires it over that unit of work instead: no database, no worker started."""
    settings = settings or Settings()
    ctx = build_context(
        settings,
        database_name="thesis",
        tables=messaging,
        migrations_dir=MIGRATIONS,
        handlers=lambda: dict(HANDLERS),
        unit_of_work=ThesisUnitOfWork,
        uow_factory=uow_factory,
    )
    return ctx.extended(ThesisContext, deposits=ArtifactStore(settings.resolved_deposits_dir()))


def create_application(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = bootstrap(settings)
    return create_app(
        settings=ctx.settings,
        title="certifia thesis",
        routers=[api.router, deposit_api.router, appeals_api.router],
        readiness=ctx.runtime.readiness,
        errors=ERRORS,
        on_start=ctx.runtime.start,
        on_stop=ctx.runtime.stop,
        state={
            "ctx": ctx,
            "clock": utcnow,
            "deposits": ctx.deposits,
            "tenants": TableTenants(ctx.sessions, candidates.c.id, candidates.c.lms_client),
        },
        # the route's own 413 names the thesis limit; the edge refuses what could never fit before reading it
        body_limits={
            "/candidates/{candidate_id}/thesis/deposit": settings.max_thesis_bytes + MULTIPART_ALLOWANCE
        },
    )
