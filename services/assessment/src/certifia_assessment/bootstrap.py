"""The one place that wires the assessment service's real adapters: ``bootstrap()`` returns the frozen
:class:`AssessmentContext`; ``create_application`` only adapts it to FastAPI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from certifia_assessment.adapters.orm import candidates, messaging
from certifia_assessment.config import Settings
from certifia_assessment.domain.jury_policy import JuryPolicy
from certifia_assessment.entrypoints.api import router
from certifia_assessment.entrypoints.appeals_api import router as appeals_router
from certifia_assessment.entrypoints.audit_api import router as audit_router
from certifia_assessment.entrypoints.errors import ERRORS
from certifia_assessment.entrypoints.proposals_api import router as proposals_router
from certifia_assessment.entrypoints.referential_api import router as referential_router
from certifia_assessment.entrypoints.vae_api import router as vae_router
from certifia_assessment.service_layer.events import event_handlers
from certifia_assessment.service_layer.proposing import read_jury_policy
from certifia_assessment.service_layer.unit_of_work import AssessmentUnitOfWork
from certifia_shared.artifacts import ArtifactStore
from certifia_shared.referential import Referential, load_referential
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.tenancy import TableTenants
from certifia_shared.web import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
MULTIPART_ALLOWANCE = 64 * 1024
"""What a submission's form fields (evaluation and pack ids) and multipart framing add to the file."""


@dataclass(frozen=True)
class AssessmentContext(ServiceContext[AssessmentUnitOfWork]):
    """The shared wiring (its units of work are :class:`AssessmentUnitOfWork`), the referential and jury
    policy the handlers read, the submissions' file store and who may see which candidate."""

    referential: Referential
    jury_policy: JuryPolicy
    artifacts: ArtifactStore
    tenants: TableTenants


def bootstrap(
    settings: Settings | None = None, *, uow_factory: Callable[[], AssessmentUnitOfWork] | None = None
) -> AssessmentContext:
    """The wired service: its database, units of work, consumer handlers, referential, jury policy and
    stores. ``uow_factory`` (a test's fake) wires it over that unit of work instead: no database, no worker
    started (``tenants`` then answers nothing: it reads the candidates table)."""
    settings = settings or Settings()
    referential = load_referential()
    jury_policy = read_jury_policy(referential, settings.jury_policy_path or None)  # fails fast if invalid
    ctx = build_context(
        settings,
        database_name="assessment",
        tables=messaging,
        migrations_dir=MIGRATIONS,
        handlers=lambda: event_handlers(referential, jury_policy),
        unit_of_work=AssessmentUnitOfWork,
        uow_factory=uow_factory,
    )
    return ctx.extended(
        AssessmentContext,
        referential=referential,
        jury_policy=jury_policy,
        artifacts=ArtifactStore(settings.resolved_artifacts_dir()),
        tenants=TableTenants(ctx.sessions, candidates.c.id, candidates.c.lms_client),
    )


def create_application(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = bootstrap(settings)
    return create_app(
        settings=settings,
        title="certifia assessment",
        routers=[referential_router, router, appeals_router, proposals_router, vae_router, audit_router],
        readiness=ctx.runtime.readiness,
        errors=ERRORS,
        on_start=ctx.runtime.start,
        on_stop=ctx.runtime.stop,
        state={
            "ctx": ctx,
            "referential": ctx.referential,
            "artifacts": ctx.artifacts,
            "tenants": ctx.tenants,
        },
        # the route's own 413 names the submission limit; the edge refuses what could never fit unread.
        # No public paths: the referential's read API needs a token like every other route.
        body_limits={
            "/candidates/{candidate_id}/submissions": settings.max_submission_bytes + MULTIPART_ALLOWANCE
        },
    )
