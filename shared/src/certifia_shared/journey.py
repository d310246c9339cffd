"""One candidate's journey across traces: the candidate on every span, every trace linked to the journey's.

A journey (enrolment to diploma) spans many traces: each REST call starts one (the enrolment, each jury
decision, the deposit, ...), and Kafka carries it to every consumer. An operator finds them all in Jaeger by
one tag, and from any of them reaches the journey's first trace:

- ``certifia.candidate_id`` is set on a span where the candidate becomes known (the tenancy check of a
  candidate-scoped route, the outbox relay's publish and the consumer's process span, from the event's
  ``candidate_id``), and :class:`CandidateSpanProcessor` copies it from parent to child in the process.
- The journey's trace has the candidate's id as its trace id (a candidate id is a UUID: 128 bits, as a W3C
  trace id). Enrolment records its root span, "candidate journey", when it enrols the candidate
  (:func:`record_journey_start`); the root span of every other trace about the candidate links to it
  (:func:`mark_candidate`). Jaeger: ``/trace/<candidate id without dashes>``.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

CANDIDATE_ATTRIBUTE = "certifia.candidate_id"
JOURNEY_SPAN = "candidate journey"
_forced_ids: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "certifia_journey_ids", default=None
)


def journey_context(candidate_id: str) -> trace.SpanContext | None:
    """The span context of the candidate's journey root (None when the id is not a UUID)."""
    try:
        trace_id = uuid.UUID(candidate_id).int
    except (ValueError, AttributeError, TypeError):
        return None
    span_id = trace_id & 0xFFFF_FFFF_FFFF_FFFF or 1
    return trace.SpanContext(
        trace_id=trace_id,
        span_id=span_id,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )


class JourneyIdGenerator(IdGenerator):
    """Random ids, except for the journey root span (:func:`record_journey_start`), whose ids are the
    candidate's."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        forced = _forced_ids.get()
        return forced[1] if forced else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        forced = _forced_ids.get()
        return forced[0] if forced else self._random.generate_trace_id()


def _is_trace_root(span: Any) -> bool:
    parent = getattr(span, "parent", None)
    return parent is None or not parent.is_valid


def mark_candidate(candidate_id: str, span: Any = None) -> None:
    """``span`` (default: the current one) is about ``candidate_id``: the attribute, and, on a trace's root
    span, the link to the journey's trace."""
    span = span if span is not None else trace.get_current_span()
    if not span.is_recording() or not candidate_id:
        return
    span.set_attribute(CANDIDATE_ATTRIBUTE, candidate_id)
    journey = journey_context(candidate_id)
    if journey is not None and _is_trace_root(span) and span.get_span_context().trace_id != journey.trace_id:
        span.add_link(journey, {"certifia.link": "journey"})


def record_journey_start(
    candidate_id: str, *, tracer: trace.Tracer | None = None, attributes: Mapping[str, str] | None = None
) -> None:
    """Enrolment's "candidate journey" span: the root of the trace whose id is the candidate's (``tracer``:
    one of a provider built with :class:`JourneyIdGenerator`; default the process's)."""
    journey = journey_context(candidate_id)
    if journey is None:
        return
    token = _forced_ids.set((journey.trace_id, journey.span_id))
    try:
        span = (tracer or trace.get_tracer(__name__)).start_span(
            JOURNEY_SPAN,
            context=otel_context.Context(),  # a new trace, whatever is current
            attributes={CANDIDATE_ATTRIBUTE: candidate_id, **(attributes or {})},
        )
    finally:
        _forced_ids.reset(token)
    span.end()


class CandidateSpanProcessor(SpanProcessor):
    """Copies the candidate from a span's parent in this process when it starts."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        parent = trace.get_current_span(parent_context)
        attributes = getattr(parent, "attributes", None)
        if attributes and CANDIDATE_ATTRIBUTE in attributes:
            span.set_attribute(CANDIDATE_ATTRIBUTE, attributes[CANDIDATE_ATTRIBUTE])

    def on_end(self, span: ReadableSpan) -> None:
        return None
