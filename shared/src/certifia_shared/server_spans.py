"""Each request's server span, opened and closed by the outermost middleware (``web._Edge``).

It continues the caller's trace (W3C ``traceparent``/``tracestate``, through the process's propagator), is
current while the route runs (the route's spans, its outbox rows and ``journey.mark_candidate`` hang on it),
is named ``"{method} {route}"`` once the route is known and carries the attributes the ASGI instrumentation
wrote (the same names: ``http.method``, ``http.route``, ``http.status_code``, ...). It replaces
``FastAPIInstrumentor``, whose generic middleware (route matching of its own, metrics no one reads, header
capture) was ~1 ms of CPU per request under bench-api (issue 15). ``/healthz``, ``/readyz`` and ``/metrics``
are not traced, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import Scope

UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})
_CARRIED = frozenset({b"traceparent", b"tracestate", b"baggage"})
_tracer = trace.get_tracer("certifia_shared.server_spans")


@dataclass
class ServerSpan:
    span: trace.Span
    token: object
    method: str

    def end(self, *, route: str | None, status: int) -> None:
        span = self.span
        try:
            if route:
                span.update_name(f"{self.method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        finally:
            span.end()
            context.detach(self.token)  # type: ignore[arg-type]


def start(scope: Scope, path: str) -> ServerSpan | None:
    """The request's span, made current; None for the paths that are not traced."""
    if path in UNTRACED:
        return None
    headers: dict[str, str] = {}
    user_agent = host = ""
    for name, value in scope.get("headers", ()):
        if name in _CARRIED:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
    parent = propagate.extract(headers) if headers else context.get_current()
    method = scope.get("method", "GET")
    attributes: dict[str, Any] = {
        "http.method": method,
        "http.scheme": scope.get("scheme", "http"),
        "http.target": scope.get("path", ""),
        "http.flavor": scope.get("http_version", "1.1"),
    }
    if host:
        attributes["http.host"] = host
    if user_agent:
        attributes["http.user_agent"] = user_agent
    server, client = scope.get("server"), scope.get("client")
    if server and len(server) > 1 and server[1] is not None:
        attributes["net.host.port"] = server[1]
    if client:
        attributes["net.peer.ip"] = client[0]
        attributes["net.peer.port"] = client[1]
    span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes)
    return ServerSpan(span, context.attach(trace.set_span_in_context(span, parent)), method)
