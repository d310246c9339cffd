"""OpenTelemetry set-up, trace context through Kafka headers, and structured (JSON) logs."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from certifia_shared.journey import CandidateSpanProcessor, JourneyIdGenerator

_configured = False
_log_stream: TextIO | None = (
    None  # None: sys.stdout, read when the handler is made (a server's logs are its output)
)
SPANS_FILE_DELAY_MS = 200  # how late a finished span may reach CERTIFIA_SPANS_FILE (and at exit, all of them)
_lock = threading.Lock()


class JsonLinesSpanExporter(SpanExporter):
    """Writes finished spans as JSON lines: lets the e2e suite follow one trace across processes."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            ctx = span.get_span_context()
            parent = span.parent
            lines.append(
                json.dumps(
                    {
                        "service": span.resource.attributes.get("service.name"),
                        "name": span.name,
                        "trace_id": format(ctx.trace_id, "032x") if ctx else None,
                        "span_id": format(ctx.span_id, "016x") if ctx else None,
                        "parent_id": format(parent.span_id, "016x") if parent else None,
                        "kind": str(span.kind),
                        "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
                        "links": [
                            {
                                "trace_id": format(link.context.trace_id, "032x"),
                                "span_id": format(link.context.span_id, "016x"),
                            }
                            for link in span.links
                        ],
                    }
                )
            )
        with self._lock, open(self._path, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        return SpanExportResult.SUCCESS


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the current trace and span ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        span_ctx = trace.get_current_span().get_span_context()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if span_ctx.is_valid:
            entry["trace_id"] = format(span_ctx.trace_id, "032x")
            entry["span_id"] = format(span_ctx.span_id, "016x")
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_telemetry(
    service: str, *, otlp_endpoint: str = "", spans_file: str = "", log_level: str = "INFO"
) -> None:
    """Configure tracing and logging once per process."""
    global _configured
    with _lock:
        if _configured:
            return
        provider = TracerProvider(
            resource=Resource.create({"service.name": service}), id_generator=JourneyIdGenerator()
        )
        provider.add_span_processor(CandidateSpanProcessor())  # first: exporters see its attribute
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
            )
            from certifia_shared.metrics_push import start_push

            start_push(service, otlp_endpoint, resource=provider.resource)  # /metrics, to the collector too
        if spans_file:  # batched off the request thread: written synchronously, it took 18% of an enrolment
            provider.add_span_processor(
                BatchSpanProcessor(
                    JsonLinesSpanExporter(spans_file), schedule_delay_millis=SPANS_FILE_DELAY_MS
                )
            )
        trace.set_tracer_provider(provider)
        handler = logging.StreamHandler(_log_stream or sys.stdout)
        handler.setFormatter(JsonLogFormatter(service))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(log_level.upper())
        for noisy in ("kafka", "uvicorn.access", "alembic", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        _configured = True


def logs_to_stderr() -> None:
    """A command's logs go to stderr, so its stdout carries only its answer (a script reads it): set before
    the service is wired, and the handlers already made are pointed there too."""
    global _log_stream
    _log_stream = sys.stderr
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
            handler.setStream(sys.stderr)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject_trace_headers() -> dict[str, str]:
    """The current trace context as W3C ``traceparent``/``tracestate`` entries."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_trace_context(headers: dict[str, str]) -> otel_context.Context:
    return propagate.extract(headers)


def log_fields(**fields: Any) -> dict[str, Any]:
    """``logger.info("...", extra=log_fields(topic=..., offset=...))`` puts the fields in the JSON line."""
    return {"fields": fields}
