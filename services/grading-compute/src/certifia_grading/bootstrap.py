"""The one place that wires grading-compute's real adapters (the grader's sandbox, Ray, Triton, Kafka)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI

from certifia_grading.adapters.artifacts import ArtifactFetcher
from certifia_grading.adapters.orm import candidates, messaging
from certifia_grading.adapters.runner import LocalGrader, RayGrader
from certifia_grading.adapters.sandbox import make_sandbox
from certifia_grading.config import Settings
from certifia_grading.domain import Grader, GradingOutcome, hidden
from certifia_grading.entrypoints.api import router
from certifia_grading.entrypoints.errors import ERRORS
from certifia_grading.service_layer.events import event_handlers
from certifia_grading.service_layer.jobs import (
    Grade,
    GradingWorker,
    recover_interrupted_jobs,
)
from certifia_grading.service_layer.unit_of_work import GradingUnitOfWork
from certifia_shared.oidc_client import ClientCredentials
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.tenancy import TableTenants
from certifia_shared.web import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass(frozen=True)
class GradingContext(ServiceContext[GradingUnitOfWork]):
    """grading-compute's wiring: the shared one and the grader (bubblewrap injected, Triton when configured)."""

    grader: Grader


def make_grader(settings: Settings) -> Grader:
    """The grader, with bubblewrap as its sandbox (``SANDBOX=false``: unsandboxed, never in production)."""
    inference: Any = None
    if settings.use_triton and settings.triton_url:
        from certifia_grading.adapters.triton_repository import TritonRepositoryInference

        inference = TritonRepositoryInference(
            url=settings.triton_url,
            model_repository=Path(settings.triton_model_repository),
            backend=settings.triton_backend,
        )
    elif settings.use_triton:
        from certifia_grading.adapters.triton import TritonInference

        inference = TritonInference()
    return Grader(
        Path(settings.packs_dir) if settings.packs_dir else None,
        sandbox=make_sandbox(settings.sandbox),
        inference=inference,
        secret=settings.grading_secret_bytes(),
    )


class SameHiddenData:
    """A grader elsewhere (a Ray worker) builds its own, with the secret of its own environment:
    an outcome committed to other hidden data than this service's is an infrastructure error, never a
    verdict (a worker without GRADING_SECRET would grade on the published development secret)."""

    def __init__(self, grader: Grader, grade: Grade) -> None:
        self.grader = grader
        self.grade = grade

    def __call__(self, pack_id: str, archive: bytes, *, time_factor: float = 1.0) -> GradingOutcome:
        outcome = self.grade(pack_id, archive, time_factor=time_factor)
        if outcome.dataset_commitment and outcome.dataset_commitment != self.grader.commitment(pack_id):
            raise RuntimeError(
                f"the worker that graded pack {pack_id} derives hidden data from another grading secret: "
                "give the Ray workers this service's GRADING_SECRET"
            )
        return outcome


def job_grader(settings: Settings, grader: Grader) -> Grade:
    """Where the jobs are graded: by this grader in this process, or on Ray (a grader per worker)."""
    if not settings.use_ray:
        return LocalGrader(grader)
    from certifia_grading.adapters.ray_executor import RayGradingExecutor

    # a local Ray's workers inherit this environment (a cluster's workers need GRADING_SECRET set there)
    secret = settings.grading_secret.get_secret_value().strip()
    if secret:
        os.environ[hidden.ENVIRONMENT_VARIABLE] = secret
    else:  # development: the workers use the development secret, as this grader does
        os.environ.pop(hidden.ENVIRONMENT_VARIABLE, None)
    executor = RayGradingExecutor(address=settings.ray_address or None)
    on_ray = RayGrader(
        grader, executor, settings.packs_dir or None, settings.sandbox, model_packs_here=settings.use_triton
    )
    return SameHiddenData(grader, on_ray)


def start_inference(grader: Grader) -> None:
    """Start (or reach) Triton with the service, not at the first model job: a broken server shows at start-up."""
    start = getattr(grader.inference, "start", None)
    if callable(start):
        start()


def grading_readiness(settings: Settings, grader: Grader) -> dict[str, str]:
    """Triton and Ray, when this service was configured to use them."""
    checks = {}
    running = getattr(grader.inference, "running", None)
    if running is not None:
        checks["triton"] = "ok" if running else "not running"
    if settings.use_ray and settings.run_background_workers:
        import ray

        checks["ray"] = "ok" if ray.is_initialized() else "not running"
    return checks


def bootstrap(
    settings: Settings | None = None, *, uow_factory: Callable[[], GradingUnitOfWork] | None = None
) -> GradingContext:
    """The wired service: its database, units of work, consumer handlers, grader and grading workers.
    ``uow_factory`` (a test's fake) wires it over that unit of work instead: no database, and no worker is
    built or started (no interrupted job recovered, no Triton or Ray reached)."""
    settings = settings or Settings()
    grader = make_grader(settings)

    def workers(ctx: ServiceContext[GradingUnitOfWork]) -> list[Callable[[threading.Event], None]]:
        recover_interrupted_jobs(ctx.uow(), max_attempts=settings.job_max_attempts)
        start_inference(grader)
        grade = job_grader(settings, grader)
        fetch = ArtifactFetcher(
            token=ClientCredentials(
                settings.oidc_issuer,
                settings.service_client_id,
                settings.service_client_secret.get_secret_value(),
                token_url=settings.service_token_url,
            ),
            allowed_hosts={h.strip() for h in settings.artifact_hosts.split(",") if h.strip()},
            max_bytes=settings.artifact_max_bytes,
        )
        return [
            GradingWorker(
                uow_factory=ctx.uow_factory,
                fetch=fetch,
                grade=grade,
                max_attempts=settings.job_max_attempts,
                max_in_flight_per_candidate=settings.grading_max_in_flight_per_candidate,
                max_attempts_per_evaluation=settings.grading_max_attempts_per_evaluation,
            ).run
            for _ in range(max(1, settings.grading_workers))
        ]

    ctx = build_context(
        settings,
        database_name="grading",
        tables=messaging,
        migrations_dir=MIGRATIONS,
        handlers=event_handlers,
        unit_of_work=GradingUnitOfWork,
        extra_workers=workers if settings.run_background_workers and uow_factory is None else None,
        uow_factory=uow_factory,
    )
    return ctx.extended(GradingContext, grader=grader)


def create_application(settings: Settings | None = None) -> FastAPI:
    """The wiring of :func:`bootstrap`, adapted to FastAPI."""
    ctx = bootstrap(settings or Settings())
    settings = cast(Settings, ctx.settings)

    def stop() -> None:
        ctx.runtime.stop()
        close = getattr(ctx.grader.inference, "close", None)
        if callable(close):
            close()

    return create_app(
        settings=settings,
        title="certifia grading-compute",
        routers=[router],
        readiness=lambda: {**ctx.runtime.readiness(), **grading_readiness(settings, ctx.grader)},
        errors=ERRORS,
        on_start=ctx.runtime.start,
        on_stop=stop,
        state={
            "ctx": ctx,
            "tenants": TableTenants(ctx.sessions, candidates.c.candidate_id, candidates.c.lms_client),
        },
    )
