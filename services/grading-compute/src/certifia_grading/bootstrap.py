"""The one place that wires grading-compute's real adapters (engine, sandbox, Ray, Triton, Kafka)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from certifia_grading.adapters.artifacts import ArtifactFetcher
from certifia_grading.adapters.orm import candidates, messaging
from certifia_grading.adapters.runner import LocalGrader, RayGrader
from certifia_grading.config import Settings
from certifia_grading.engine import GradingEngine, GradingOutcome, hidden
from certifia_grading.entrypoints.api import router
from certifia_grading.entrypoints.errors import ERRORS
from certifia_grading.service_layer.events import event_handlers
from certifia_grading.service_layer.jobs import (
    Grade,
    GradingWorker,
    recover_interrupted_jobs,
)
from certifia_shared.oidc_client import ClientCredentials
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.tenancy import TableTenants
from certifia_shared.web import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def make_engine(settings: Settings) -> GradingEngine:
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
    return GradingEngine(
        Path(settings.packs_dir) if settings.packs_dir else None,
        sandbox=settings.sandbox,
        inference=inference,
        secret=settings.grading_secret_bytes(),
    )


class SameHiddenData:
    """A grader elsewhere (a Ray worker) builds its own engine, with the secret of its own environment:
    an outcome committed to other hidden data than this service's is an infrastructure error, never a
    verdict (a worker without GRADING_SECRET would grade on the published development secret)."""

    def __init__(self, engine: GradingEngine, grade: Grade) -> None:
        self.engine = engine
        self.grade = grade

    def __call__(self, pack_id: str, archive: bytes, *, time_factor: float = 1.0) -> GradingOutcome:
        outcome = self.grade(pack_id, archive, time_factor=time_factor)
        if outcome.dataset_commitment and outcome.dataset_commitment != self.engine.commitment(pack_id):
            raise RuntimeError(
                f"the worker that graded pack {pack_id} derives hidden data from another grading secret: "
                "give the Ray workers this service's GRADING_SECRET"
            )
        return outcome


def make_grader(settings: Settings, engine: GradingEngine) -> Grade:
    if not settings.use_ray:
        return LocalGrader(engine)
    from certifia_grading.adapters.ray_executor import RayGradingExecutor

    # a local Ray's workers inherit this environment (a cluster's workers need GRADING_SECRET set there)
    secret = settings.grading_secret.get_secret_value().strip()
    if secret:
        os.environ[hidden.ENVIRONMENT_VARIABLE] = secret
    else:  # development: the workers use the development secret, as this engine does
        os.environ.pop(hidden.ENVIRONMENT_VARIABLE, None)
    executor = RayGradingExecutor(address=settings.ray_address or None)
    grader = RayGrader(
        engine, executor, settings.packs_dir or None, settings.sandbox, model_packs_here=settings.use_triton
    )
    return SameHiddenData(engine, grader)


def start_inference(engine: GradingEngine) -> None:
    """Start (or reach) Triton with the service, not at the first model job: a broken server shows at start-up."""
    start = getattr(engine.inference, "start", None)
    if callable(start):
        start()


def grading_readiness(settings: Settings, engine: GradingEngine) -> dict[str, str]:
    """Triton and Ray, when this service was configured to use them."""
    checks = {}
    running = getattr(engine.inference, "running", None)
    if running is not None:
        checks["triton"] = "ok" if running else "not running"
    if settings.use_ray and settings.run_background_workers:
        import ray

        checks["ray"] = "ok" if ray.is_initialized() else "not running"
    return checks


def bootstrap(settings: Settings | None = None) -> tuple[ServiceContext, GradingEngine]:
    settings = settings or Settings()
    engine = make_engine(settings)

    def workers(ctx: ServiceContext) -> list[Callable[[threading.Event], None]]:
        recover_interrupted_jobs(ctx.uow(), max_attempts=settings.job_max_attempts)
        start_inference(engine)
        grader = make_grader(settings, engine)
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
                uow_factory=ctx.uow,
                fetch=fetch,
                grade=grader,
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
        extra_workers=workers if settings.run_background_workers else None,
    )
    return ctx, engine


def create_application(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx, engine = bootstrap(settings)

    def stop() -> None:
        ctx.runtime.stop()
        close = getattr(engine.inference, "close", None)
        if callable(close):
            close()

    return create_app(
        settings=settings,
        title="certifia grading-compute",
        routers=[router],
        readiness=lambda: {**ctx.runtime.readiness(), **grading_readiness(settings, engine)},
        errors=ERRORS,
        on_start=ctx.runtime.start,
        on_stop=stop,
        state={
            "ctx": ctx,
            "engine": engine,
            "tenants": TableTenants(ctx.sessions, candidates.c.candidate_id, candidates.c.lms_client),
        },
    )
