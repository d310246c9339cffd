"""Trace context through Kafka headers, and structured logs."""

from __future__ import annotations

import json
import logging
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from certifia_shared.config import ServiceSettings
from certifia_shared.envelope import CloudEvent, from_kafka, headers_dict
from certifia_shared.telemetry import (
    JsonLogFormatter,
    extract_trace_context,
    inject_trace_headers,
    log_fields,
)

TRACER = TracerProvider().get_tracer(__name__)


def test_no_span_no_headers() -> None:
    assert "traceparent" not in inject_trace_headers()


def test_trace_context_round_trip_through_kafka_headers() -> None:
    event = CloudEvent(type="t", source="/s", subject="c-1", data={})
    with TRACER.start_as_current_span("produce") as span:
        sent = span.get_span_context()
        headers = event.kafka_headers(inject_trace_headers())
    h = headers_dict(headers)
    assert h["traceparent"].split("-")[1] == format(sent.trace_id, "032x")
    assert from_kafka(headers, event.kafka_value()) == event  # trace headers do not disturb the event
    received = trace.get_current_span(extract_trace_context(h)).get_span_context()
    assert received.is_remote
    assert (received.trace_id, received.span_id) == (sent.trace_id, sent.span_id)
    # a consumer span started in that context belongs to the same trace, as a child
    with TRACER.start_as_current_span("consume", context=extract_trace_context(h)) as child:
        assert child.get_span_context().trace_id == sent.trace_id
        assert child.parent is not None and child.parent.span_id == sent.span_id  # type: ignore[attr-defined]


def test_extract_of_nothing_is_an_empty_context() -> None:
    assert not trace.get_current_span(extract_trace_context({})).get_span_context().is_valid


def test_json_logs_carry_fields_and_trace_ids() -> None:
    formatter = JsonLogFormatter("svc")
    record = logging.LogRecord("certifia.test", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.__dict__.update(log_fields(topic="certifia.enrolment", offset=3))
    with TRACER.start_as_current_span("op") as span:
        entry = json.loads(formatter.format(record))
    assert entry["msg"] == "hello you" and entry["service"] == "svc" and entry["level"] == "INFO"
    assert entry["topic"] == "certifia.enrolment" and entry["offset"] == 3
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_a_dead_letters_command_logs_on_stderr_and_answers_alone_on_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI, 2026-12-03: kafka-python logged "Metadata refresh: failed Cancelled" while a replay closed its
    consumer; the log line came first on stdout, and the script reading the replay's answer failed."""
    from certifia_shared import deadletters, telemetry

    monkeypatch.setenv("OIDC_ISSUER", "https://login.example.org/realms/certifia")
    monkeypatch.setattr(telemetry, "_log_stream", None, raising=False)
    root = logging.getLogger()
    server_handler = logging.StreamHandler(sys.stdout)  # what setup_telemetry makes for a server
    server_handler.setFormatter(telemetry.JsonLogFormatter("thesis"))
    root.addHandler(server_handler)
    try:

        def build(settings: ServiceSettings) -> Any:
            logging.getLogger("kafka.cluster").error("Metadata refresh: failed Cancelled")
            return SimpleNamespace(runtime=SimpleNamespace(consumer=None))

        assert deadletters.cli(["list"], ServiceSettings(), build) == 0
        logging.getLogger("kafka.cluster").error("after the answer")
    finally:
        root.removeHandler(server_handler)
    out, err = capsys.readouterr()
    assert out == ""
    assert "Metadata refresh" in err and "after the answer" in err
    assert telemetry._log_stream is sys.stderr  # a handler made later, by setup_telemetry, goes there too
