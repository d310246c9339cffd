"""Trace context through Kafka headers, and structured logs."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

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
