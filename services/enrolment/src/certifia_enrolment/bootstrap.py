"""The one place that wires the enrolment service's real adapters: ``bootstrap()`` returns the frozen
:class:`EnrolmentContext`; ``create_application()`` only adapts it to FastAPI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from certifia_enrolment.adapters.orm import candidates, messaging
from certifia_enrolment.adapters.webhook_http import HttpWebhookSender
from certifia_enrolment.config import Settings
from certifia_enrolment.entrypoints.accommodations_api import router as accommodations_router
from certifia_enrolment.entrypoints.api import router
from certifia_enrolment.entrypoints.errors import ERRORS
from certifia_enrolment.entrypoints.webhooks_api import router as webhooks_router
from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_enrolment.service_layer.webhooks import DeliveryWorker, event_handlers
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.tenancy import TableTenants
from certifia_shared.web import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class EnrolmentContext(ServiceContext[EnrolmentUnitOfWork]):
    """The shared wiring, plus the webhook delivery worker the runtime runs beside the relay and consumer."""

    delivery_worker: DeliveryWorker

    def readiness(self) -> dict[str, str]:
        checks = self.runtime.readiness()
        if self.settings.run_background_workers:
            checks["webhook_sender"] = "ok" if self.delivery_worker.healthy else "not ready"
        return checks


def delivery_worker(ctx: ServiceContext[EnrolmentUnitOfWork]) -> DeliveryWorker:
    """A webhook delivery worker over ``ctx``'s database, as the settings configure it."""
    settings = ctx.settings
    assert isinstance(settings, Settings)
    policy = settings.webhook_policy()
    sender = HttpWebhookSender(
        timeout_seconds=settings.webhook_timeout_seconds, allow_private=policy.allow_private
    )
    return DeliveryWorker(
        uow_factory=ctx.uow,
        sender=sender,
        policy=policy,
        poll_seconds=settings.webhook_poll_seconds,
        concurrency=settings.webhook_concurrency,
    )


def bootstrap(
    settings: Settings | None = None, *, uow_factory: Callable[[], EnrolmentUnitOfWork] | None = None
) -> EnrolmentContext:
    """The wired service: its database, units of work, consumer handlers and webhook delivery worker.
    ``uow_factory`` (a test's fake) wires it over that unit of work instead: no database, no worker started."""
    settings = settings or Settings()
    workers: list[DeliveryWorker] = []

    def extra_workers(ctx: ServiceContext[EnrolmentUnitOfWork]) -> list[Callable[[threading.Event], None]]:
        workers.append(delivery_worker(ctx))
        return [workers[0].run]

    ctx = build_context(
        settings,
        database_name="enrolment",
        tables=messaging,
        migrations_dir=MIGRATIONS,
        handlers=event_handlers,
        unit_of_work=EnrolmentUnitOfWork,
        extra_workers=extra_workers,
        uow_factory=uow_factory,
    )
    return ctx.extended(EnrolmentContext, delivery_worker=workers[0])


def create_application(settings: Settings | None = None) -> FastAPI:
    ctx = bootstrap(settings)
    return create_app(
        settings=ctx.settings,
        title="certifia enrolment",
        routers=[router, accommodations_router, webhooks_router],
        readiness=ctx.readiness,
        errors=ERRORS,
        on_start=ctx.runtime.start,
        on_stop=ctx.runtime.stop,
        state={"ctx": ctx, "tenants": TableTenants(ctx.sessions, candidates.c.id, candidates.c.lms_client)},
    )
