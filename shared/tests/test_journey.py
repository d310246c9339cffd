"""One candidate's journey across traces (issue 14, item 5): the candidate on every span, each trace's root
linked to the journey's trace, whose id is the candidate's. Measured before: no span named its candidate,
so an operator could find one trace of a journey (by its id) and none of the others."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from certifia_shared.journey import (
    CANDIDATE_ATTRIBUTE,
    CandidateSpanProcessor,
    JourneyIdGenerator,
    journey_context,
    mark_candidate,
    record_journey_start,
)

CID = str(uuid.uuid4())


@pytest.fixture
def traced() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=JourneyIdGenerator())
    provider.add_span_processor(CandidateSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_the_journey_root_has_the_candidate_id_as_its_trace_id(
    traced: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = traced
    with tracer.start_as_current_span("POST /candidates"):  # the current trace is not the journey's
        record_journey_start(CID, tracer=tracer, attributes={"certifia.lms_client": "lms-a"})
    root = next(s for s in exporter.get_finished_spans() if s.name == "candidate journey")
    journey = journey_context(CID)
    assert journey is not None and root.context is not None
    assert format(root.context.trace_id, "032x") == CID.replace("-", "")
    assert (root.context.trace_id, root.context.span_id) == (journey.trace_id, journey.span_id)
    assert root.parent is None and root.attributes is not None
    assert root.attributes[CANDIDATE_ATTRIBUTE] == CID and root.attributes["certifia.lms_client"] == "lms-a"
    # ids are random again after it
    with tracer.start_as_current_span("next"):
        pass
    later = exporter.get_finished_spans()[-1]
    assert later.context is not None and later.context.trace_id != journey.trace_id


def test_a_trace_root_marked_for_a_candidate_links_to_the_journey_and_its_children_carry_the_candidate(
    traced: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = traced
    with tracer.start_as_current_span("POST /candidates/{candidate_id}/decisions"):
        mark_candidate(CID)  # what the tenancy check does
        with tracer.start_as_current_span("outbox write"), tracer.start_as_current_span("nested"):
            pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert all((s.attributes or {}).get(CANDIDATE_ATTRIBUTE) == CID for s in spans.values())
    root = spans["POST /candidates/{candidate_id}/decisions"]
    journey = journey_context(CID)
    assert journey is not None
    assert [(link.context.trace_id, link.context.span_id) for link in root.links] == [
        (journey.trace_id, journey.span_id)
    ]
    assert spans["nested"].links == () or list(spans["nested"].links) == []


def test_a_span_continuing_another_trace_gets_the_candidate_but_no_link(
    traced: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = traced
    remote = trace.set_span_in_context(
        trace.NonRecordingSpan(
            trace.SpanContext(trace_id=7, span_id=9, is_remote=True, trace_flags=trace.TraceFlags(1))
        )
    )
    with tracer.start_as_current_span("bloc.passed process", context=remote) as span:  # a consumer's
        mark_candidate(CID, span)
    [consumed] = exporter.get_finished_spans()
    assert (consumed.attributes or {})[CANDIDATE_ATTRIBUTE] == CID and list(consumed.links) == []


def test_a_candidate_id_that_is_not_a_uuid_is_named_but_not_linked(
    traced: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = traced
    assert journey_context("cand-1") is None
    with tracer.start_as_current_span("GET /candidates/{candidate_id}/progress"):
        mark_candidate("cand-1")
        record_journey_start("cand-1", tracer=tracer)  # nothing: no journey trace without a UUID
    [span] = exporter.get_finished_spans()
    assert (span.attributes or {})[CANDIDATE_ATTRIBUTE] == "cand-1" and list(span.links) == []
