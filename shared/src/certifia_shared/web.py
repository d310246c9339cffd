"""The FastAPI application every service builds: problems, auth state, health, readiness, metrics, traces,
and the edges every route shares (the service's error map, unhandled errors, body limits, caching, the OpenAPI
security and errors).

Middleware, outermost first: ``_Edge`` (the request's server span, :mod:`certifia_shared.server_spans`; counts
every request, 500s included; answers an unhandled error
with a problem instead of dropping the connection, and a database that cannot be reached with a 503 and
Retry-After; ``Cache-Control: no-store`` on private JSON), then
``_BodyLimit`` (413 before the body is read when Content-Length is too large, or as soon as a streamed body
passes the limit).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import iter_route_contexts
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certifia_shared import server_spans
from certifia_shared.config import ServiceSettings
from certifia_shared.errors import ErrorMap, install_error_map
from certifia_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS, HTTP_UNHANDLED_ERRORS
from certifia_shared.problems import (
    MEDIA_TYPE,
    PROBLEM_SCHEMA,
    Problem,
    body_too_large,
    correlation_id,
    database_unavailable,
    install_problem_handlers,
    internal_error,
    problem_response,
)
from certifia_shared.serving import metrics_text, worker_stopped
from certifia_shared.telemetry import log_fields

log = logging.getLogger(__name__)

DATABASE_AWAY = (OperationalError, InterfaceError, PoolTimeout)
"""The database cannot be reached or its pool is exhausted (what the consumers retry, too): a 503 with
Retry-After, nothing changed, not a 500 (measured: make bench-cohort's PostgreSQL restart gave 500s)."""

MiB = 1 << 20
DEFAULT_BODY_LIMIT = 1 * MiB
"""Any route that reads a JSON (or urlencoded) body."""
UPLOAD_BODY_LIMIT = 64 * MiB
"""A route that reads multipart/form-data (a file) and that ``body_limits`` does not name."""
PUBLIC_BODY_LIMIT = 64 * 1024
"""A public route (no token): anyone may call it, so it reads little."""
ALWAYS_PUBLIC = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
)


_METRICS_CONTENT = {
    "text/plain": {"schema": {"type": "string", "description": "Prometheus text exposition format"}}
}
"""What /metrics answers (``CONTENT_TYPE_LATEST``: text/plain with the format's version)."""


_READINESS = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": {"type": "string", "enum": ["ready", "not ready"]},
                "checks": {
                    "type": "object",
                    "description": 'each check: "ok" or why not; other values are details beside them',
                },
            },
        }
    }
}
"""What /readyz answers, 200 when every check says "ok", 503 otherwise."""


def health_router(readiness: Callable[[], dict[str, Any]]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        responses={200: {"content": _READINESS}, 503: {"content": _READINESS, "description": "Not ready"}},
    )
    def readyz() -> JSONResponse:
        checks = readiness()
        # a check is a string ("ok" or why not); other values are details shown beside them
        ready = all(v == "ok" for v in checks.values() if isinstance(v, str))
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
        )

    @router.get("/metrics", response_class=PlainTextResponse, responses={200: {"content": _METRICS_CONTENT}})
    def metrics() -> Response:
        return Response(metrics_text(), media_type=CONTENT_TYPE_LATEST)

    return router


# -- which paths ---------------------------------------------------------------------------------------------
_PARAM = re.compile(r"\{([^{}:]+)(?::([^{}]+))?\}")


def _compile(entry: str) -> re.Pattern[str]:
    regex, last = "^", 0
    for param in _PARAM.finditer(entry):
        regex += re.escape(entry[last : param.start()]) + (".+" if param.group(2) == "path" else "[^/]+")
        last = param.end()
    regex += re.escape(entry[last:])
    return re.compile(regex if entry.endswith("/") else regex + "$")


class RoutePatterns:
    """Route templates as FastAPI writes them (``/diplomas/{diploma_id}/verification``: that route only) or
    prefixes ending in ``/`` (``/.well-known/``: everything below)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.entries = tuple(entries)
        self._compiled = [(entry, _compile(entry)) for entry in self.entries]

    def match(self, path: str) -> str | None:
        """The entry a request path falls under, if any."""
        return next((entry for entry, regex in self._compiled if regex.match(path)), None)

    def covers(self, template: str) -> bool:
        """Whether a route template is one of the entries, or lies under one of the prefixes."""
        return any(template == e or (e.endswith("/") and template.startswith(e)) for e in self.entries)


def route_path(scope: Scope) -> str:
    """The path the router matches (without the root path a proxy mounted the service under)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in {"", "/"}:
        return path[len(root) :] or "/"
    return path


class BodyLimits:
    """The largest body each path may send: ``per_route`` (templates) first, then upload routes, then public
    routes, then the default."""

    def __init__(
        self,
        *,
        default: int,
        public: int,
        upload: int,
        public_paths: RoutePatterns,
        upload_routes: Iterable[str] = (),
        per_route: Mapping[str, int] | None = None,
    ) -> None:
        named = {"default_body_limit": default, "public_body_limit": public, "upload_body_limit": upload}
        for what, limit in {**named, **(per_route or {})}.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise ValueError(f"body limit of {what} must be a number of bytes >= 0, not {limit!r}")
        self.default, self.public, self.upload = default, public, upload
        self._public = public_paths
        self._routes = [(_compile(t), limit) for t, limit in (per_route or {}).items()]
        self._uploads = RoutePatterns(upload_routes)

    def for_path(self, path: str) -> int:
        for regex, limit in self._routes:
            if regex.match(path):
                return limit
        if self._uploads.match(path):
            return self.upload
        return self.public if self._public.match(path) else self.default


# -- middleware ----------------------------------------------------------------------------------------------
async def _answer(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    await problem_response(problem, scope["path"])(scope, receive, send)


def _no_store(message: Message) -> Message:
    """``Cache-Control: no-store`` added to a JSON response that did not choose its own caching."""
    headers = list(message.get("headers", []))
    if any(name.lower() == b"cache-control" for name, _ in headers):
        return message
    content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if media_type == b"application/json" or media_type.endswith(b"+json"):
        return {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
    return message


class _Edge:
    """Outermost: every request counted and timed, whatever happened; unhandled errors answered."""

    def __init__(
        self, app: ASGIApp, *, service: str, public: RoutePatterns, templates: RoutePatterns
    ) -> None:
        self.app, self.service, self.public, self.templates = app, service, public, templates

    def _route(self, scope: Scope) -> str:
        """The metric's route label: the route matched, or the one a refused request was meant for."""
        matched = getattr(scope.get("route"), "path", None)
        return matched or self.templates.match(route_path(scope)) or "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = route_path(scope)
        private = self.public.match(path) is None
        sent: list[int] = []
        span = server_spans.start(scope, path)

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent.append(message["status"])
                if private:
                    message = _no_store(message)
            await send(message)

        status = 500  # the server answers 500 itself to an app that returns without a response
        try:
            await self.app(scope, receive, send_marked)
            status = sent[0] if sent else 500
        except ClientDisconnect:
            status = 499  # the client left while its request was read: nobody to answer
        except DATABASE_AWAY as exc:
            if not sent:
                status = 503
                await self._database_away(scope, receive, send_marked, exc)
            else:
                await self._failed(scope, receive, send_marked, exc, answered=True)
        except Exception as exc:
            await self._failed(scope, receive, send_marked, exc, answered=bool(sent))
        finally:
            route = self._route(scope)
            HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], route).observe(time.perf_counter() - start)
            if span is not None:
                span.end(route=getattr(scope.get("route"), "path", None), status=status)

    async def _database_away(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        correlation = correlation_id()
        log.warning(
            "database unavailable on %s %s (correlation id %s): %s",
            scope["method"],
            scope["path"],
            correlation,
            type(exc).__name__,
            extra=log_fields(
                correlation_id=correlation, route=self._route(scope), exception=type(exc).__name__
            ),
        )
        try:
            await _answer(scope, receive, send, database_unavailable(correlation))
        except Exception:  # the client is gone
            log.debug("could not send the 503 for correlation id %s", correlation, exc_info=True)

    async def _failed(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception, *, answered: bool
    ) -> None:
        correlation = correlation_id()
        route = self._route(scope)
        span = trace.get_current_span()
        if span.is_recording():
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        log.error(
            "unhandled error on %s %s (correlation id %s)",
            scope["method"],
            scope["path"],
            correlation,
            exc_info=exc,
            extra=log_fields(correlation_id=correlation, route=route, exception=type(exc).__name__),
        )
        HTTP_UNHANDLED_ERRORS.labels(self.service, scope["method"], route, type(exc).__name__).inc()
        if answered:
            return  # the status line is gone: the server closes the connection on the truncated response
        try:
            await _answer(scope, receive, send, internal_error(correlation))
        except Exception:  # the client is gone; the error is logged above
            log.debug("could not send the 500 for correlation id %s", correlation, exc_info=True)


class _BodyCut(Exception):
    """Raised to the app reading a body past its limit (FastAPI turns it into a 400 that is never sent)."""


class _StreamGuard:
    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.received = 0
        self.cut = False
        self.started = False

    async def receive(self) -> Message:
        if self.cut:
            raise _BodyCut(self.limit)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.cut = True
                raise _BodyCut(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if self.cut and not self.started:
            return  # what the app answers to a body it could not read is replaced by the 413
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class _BodyLimit:
    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(route_path(scope))
        declared = (Headers(scope=scope).get("content-length") or "").strip()
        if declared.isdigit() and int(declared) > limit:
            await _answer(scope, receive, send, body_too_large(limit))  # the body is never read
            return
        guard = _StreamGuard(receive, send, limit)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.cut:
                raise
        if guard.cut and not guard.started:
            await _answer(scope, receive, send, body_too_large(limit))


# -- OpenAPI -------------------------------------------------------------------------------------------------
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request body: it could not be parsed as the media type it declares",
    401: "No bearer token, or one that is expired or invalid",
    403: "The token's roles do not allow this",
    404: "Not found (or not visible to this caller)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "Unsupported media type (the body is not of the type this endpoint reads)",
    422: "Invalid input: the fields at fault are listed in errors",
    500: "Internal error, logged under the correlation id given",
    503: "The database cannot be reached, or (with a token) the identity provider's keys cannot be fetched to "
    "check it: nothing changed, retry after Retry-After seconds",
}
_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
_WRITES = {"post", "put", "patch", "delete"}


def _problem_statuses(method: str, operation: dict[str, Any], public: bool, operational: bool) -> list[int]:
    """``operational``: health, readiness, metrics and the docs, which read no database (no 503 of it)."""
    statuses = [404, 500] if public else [401, 403, 404, 500, 503]
    if public and not operational:
        statuses.append(503)  # its database away
    if method in _WRITES:
        statuses.append(409)
    if "requestBody" in operation:
        statuses += [400, 413, 415]
    if "requestBody" in operation or operation.get("parameters"):
        statuses.append(422)
    return sorted(statuses)


REPLAYED = "The same request again (or a change to what it created): what is recorded, nothing created"


def replayed(model: Any, description: str = REPLAYED) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route that answers 201 when it creates and 200 otherwise (a replay, a reschedule):
    the 200 documented with the same ``model`` as the 201."""
    return {200: {"model": model, "description": description}}


def _is_generic(content: dict[str, Any] | None) -> bool:
    """No content, FastAPI's validation error, or an empty JSON schema: a problem document replaces it."""
    if not content:
        return True
    schema = (
        content.get("application/json", {}).get("schema") if set(content) == {"application/json"} else None
    )
    return schema in ({}, {"$ref": "#/components/schemas/HTTPValidationError"})


def _drop_unused(schemas: dict[str, Any], document: dict[str, Any], name: str) -> None:
    """Remove a component schema nothing refers to any more (FastAPI's validation error, now a Problem)."""
    if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps(document):
        del schemas[name]


def document_edges(schema: dict[str, Any], *, public: RoutePatterns, openid_connect_url: str | None) -> None:
    """Add the security schemes and the problem responses to a generated OpenAPI document, in place."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemes = components.setdefault("securitySchemes", {})
    schemes["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Authorization: Bearer <token>; the roles it carries decide what each endpoint allows",
    }
    requirement: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    if openid_connect_url:
        schemes["openIdConnect"] = {"type": "openIdConnect", "openIdConnectUrl": openid_connect_url}
        requirement.append({"openIdConnect": []})
    for path, item in schema.get("paths", {}).items():
        is_public = public.covers(path)
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            if not is_public:
                operation.setdefault("security", [dict(r) for r in requirement])
            responses = operation.setdefault("responses", {})
            for status in _problem_statuses(method, operation, is_public, path in ALWAYS_PUBLIC):
                response = responses.setdefault(str(status), {"description": _PROBLEM_DESCRIPTIONS[status]})
                if _is_generic(response.get("content")):
                    response["content"] = {MEDIA_TYPE: {"schema": PROBLEM_REF}}
                else:  # a route's own error content (an HTML page) stays; the problem is documented beside it
                    response["content"].setdefault(MEDIA_TYPE, {"schema": PROBLEM_REF})
    _drop_unused(schemas, schema, "HTTPValidationError")
    _drop_unused(schemas, schema, "ValidationError")


def _install_openapi(app: FastAPI, *, public: RoutePatterns, openid_connect_url: str | None) -> None:
    generate = app.openapi  # FastAPI's own: caches the document until the routes change
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not documented or documented[0] is not schema:
            document_edges(schema, public=public, openid_connect_url=openid_connect_url)
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# -- the app -------------------------------------------------------------------------------------------------
def _routes(app: FastAPI) -> list[Any]:
    return [r for r in iter_route_contexts(app.routes) if getattr(r, "path", None)]


def _upload_routes(app: FastAPI) -> list[str]:
    uploads = []
    for route in _routes(app):
        body_field = getattr(route.original_route, "body_field", None)
        if getattr(getattr(body_field, "field_info", None), "media_type", None) == "multipart/form-data":
            uploads.append(route.path)
    return uploads


def _check_declared(app: FastAPI, public_paths: Iterable[str], body_limits: Mapping[str, int]) -> None:
    """A route template in ``public_paths`` or ``body_limits`` that no route has is a typo: fail at start."""
    templates = {route.path for route in _routes(app)}
    unknown = [p for p in public_paths if not p.endswith("/") and p not in templates]
    unknown += [p for p in body_limits if p not in templates]
    if unknown:
        raise ValueError(
            f"no route has the path {', '.join(sorted(set(unknown)))}: write the route template exactly "
            "(e.g. /candidates/{candidate_id}/thesis/deposit), or a prefix ending in '/' for public_paths"
        )


NO_ERRORS: ErrorMap = MappingProxyType({})


def create_app(
    *,
    settings: ServiceSettings,
    title: str,
    routers: list[APIRouter],
    readiness: Callable[[], dict[str, Any]],
    on_start: Callable[[], None] = lambda: None,
    on_stop: Callable[[], None] = lambda: None,
    state: dict[str, Any] | None = None,
    public_paths: Iterable[str] = (),
    body_limits: Mapping[str, int] | None = None,
    default_body_limit: int = DEFAULT_BODY_LIMIT,
    upload_body_limit: int = UPLOAD_BODY_LIMIT,
    public_body_limit: int = PUBLIC_BODY_LIMIT,
    openid_connect_url: str | None = None,
    errors: ErrorMap = NO_ERRORS,
) -> FastAPI:
    """``public_paths``: the routes that need no token (templates, or prefixes ending in ``/``; health,
    readiness, metrics and the docs always are): no security in OpenAPI, no forced ``no-store``,
    ``public_body_limit``. ``body_limits``: ``{route template: bytes}`` for the routes that need their own
    (an upload: its file limit plus a little for the multipart framing). ``openid_connect_url``: also
    document an OpenID Connect scheme. ``errors``: the service's map ``{domain error: problem factory}``
    (:mod:`certifia_shared.errors`), over the shared defaults: routes let those errors propagate."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        on_start()
        try:
            yield
        finally:
            on_stop()
            worker_stopped()

    # FastAPI's own telemetry off: the server span is _Edge's (certifia_shared.server_spans), the metrics and
    # the logging of errors are the service's own; its spans per dependency and endpoint would be three more
    # spans a request
    app = FastAPI(
        title=title,
        version="0.1.0",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    for key, value in (state or {}).items():
        setattr(app.state, key, value)
    install_problem_handlers(app)
    install_error_map(app, errors)
    app.include_router(health_router(readiness))
    for router in routers:
        app.include_router(router)

    public_paths = tuple(public_paths)
    _check_declared(app, public_paths, body_limits or {})
    public = RoutePatterns((*ALWAYS_PUBLIC, *public_paths))
    limits = BodyLimits(
        default=default_body_limit,
        public=public_body_limit,
        upload=upload_body_limit,
        public_paths=public,
        upload_routes=_upload_routes(app),
        per_route=body_limits,
    )
    app.add_middleware(_BodyLimit, limits=limits)
    templates = RoutePatterns(route.path for route in _routes(app))
    app.add_middleware(_Edge, service=settings.service_name, public=public, templates=templates)  # outermost
    _install_openapi(app, public=public, openid_connect_url=openid_connect_url)
    return app
