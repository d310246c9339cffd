"""The one place that wires the enrolment service's real adapters."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from certifia_enrolment.adapters.orm import messaging
from certifia_enrolment.config import Settings
from certifia_enrolment.entrypoints.api import router
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.web import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def bootstrap(settings: Settings | None = None) -> ServiceContext:
    settings = settings or Settings()
    return build_context(settings, database_name="enrolment", tables=messaging, migrations_dir=MIGRATIONS)


def create_application(settings: Settings | None = None) -> FastAPI:
    ctx = bootstrap(settings)
    return create_app(
        settings=ctx.settings,
        title="certifia enrolment",
        routers=[router],
        readiness=ctx.runtime.readiness,
        on_start=ctx.runtime.start,
        on_stop=ctx.runtime.stop,
        state={"ctx": ctx},
    )
