"""The one place that wires the enrolment service's real adapters."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from certifia_enrolment.adapters.orm import candidates, messaging
from certifia_enrolment.adapters.webhook_http import HttpWebhookSender
from certifia_enrolment.config import Settings
from certifia_enrolment.entrypoints.accommodations_api import router as accommodations_router
from certifia_enrolment.entrypoints.api import router
from certifia_enrolment.entrypoints.errors import ERRORS
from certifia_enrolment.entrypoints.webhooks_api import router as webhooks_router
from certifia_enrolment.service_layer.webhooks import DeliveryWorker, event_handlers
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.tenancy import TableTenants
from certifia_shared.web import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def delivery_worker(ctx: ServiceContext) -> DeliveryWorker:
    settings = ctx.settings
    assert isinstance(settings, Settings)
    policy = settings.webhook_policy()
    sender = HttpWebhookSender(
        timeout_seconds=settings.webhook_timeout_seconds, allow_private=policy.allow_private
    )
    return DeliveryWorker(
        sessions=ctx.sessions,
        sender=sender,
        policy=policy,
        poll_seconds=settings.webhook_poll_seconds,
        concurrency=settings.webhook_concurrency,
    )


def bootstrap(
    settings: Settings | None = None, *, senders: list[DeliveryWorker] | None = None
) -> ServiceContext:
    """The wired service; the webhook delivery worker it runs is appended to ``senders`` when given."""
    settings = settings or Settings()

    def workers(ctx: ServiceContext) -> list[Callable[[threading.Event], None]]:
        worker = delivery_worker(ctx)
        if senders is not None:
            senders.append(worker)
        return [worker.run]

    return build_context(
        settings,
        database_name="enrolment",
        tables=messaging,
        migrations_dir=MIGRATIONS,
        handlers=event_handlers,
        extra_workers=workers,
    )


def create_application(settings: Settings | None = None) -> FastAPI:
    senders: list[DeliveryWorker] = []
    ctx = bootstrap(settings, senders=senders)

    def readiness() -> dict[str, str]:
        checks = ctx.runtime.readiness()
        if ctx.settings.run_background_workers:
            checks["webhook_sender"] = "ok" if all(w.healthy for w in senders) else "not ready"
        return checks

    return create_app(
        settings=ctx.settings,
        title="certifia enrolment",
        routers=[router, accommodations_router, webhooks_router],
        readiness=readiness,
        errors=ERRORS,
        on_start=ctx.runtime.start,
        on_stop=ctx.runtime.stop,
        state={"ctx": ctx, "tenants": TableTenants(ctx.sessions, candidates.c.id, candidates.c.lms_client)},
    )
