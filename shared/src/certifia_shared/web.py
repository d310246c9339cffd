"""The FastAPI application every service builds: problems, auth state, health, readiness, metrics, traces."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from certifia_shared.config import ServiceSettings
from certifia_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from certifia_shared.problems import install_problem_handlers


def health_router(readiness: Callable[[], dict[str, Any]]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        checks = readiness()
        # a check is a string ("ok" or why not); other values are details shown beside them
        ready = all(v == "ok" for v in checks.values() if isinstance(v, str))
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
        )

    @router.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(
    *,
    settings: ServiceSettings,
    title: str,
    routers: list[APIRouter],
    readiness: Callable[[], dict[str, Any]],
    on_start: Callable[[], None] = lambda: None,
    on_stop: Callable[[], None] = lambda: None,
    state: dict[str, Any] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        on_start()
        try:
            yield
        finally:
            on_stop()

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    for key, value in (state or {}).items():
        setattr(app.state, key, value)
    install_problem_handlers(app)
    app.include_router(health_router(readiness))
    for router in routers:
        app.include_router(router)

    @app.middleware("http")
    async def _metrics(request: Request, call_next: Callable[[Request], Any]) -> Response:
        start = time.perf_counter()
        response: Response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        HTTP_REQUESTS.labels(settings.service_name, request.method, route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(settings.service_name, request.method, route).observe(time.perf_counter() - start)
        return response

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app
