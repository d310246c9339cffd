"""An operator follows one candidate's journey across traces (issue 14, item 5), on the spans every service
writes (``CERTIFIA_SPANS_FILE``, the same spans it sends over OTLP): each names the candidate, and the root of
each trace links to the journey's trace, whose id is the candidate's. Measured before: no span named its
candidate; a journey was some dozens of unrelated traces."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

import pytest

from certifia_shared.journey import CANDIDATE_ATTRIBUTE, JOURNEY_SPAN

pytestmark = pytest.mark.e2e
SERVICES = {"enrolment", "assessment", "grading-compute", "thesis", "certification"}


def spans(stack: Any, settle_s: float = 1.0, timeout_s: float = 15.0) -> list[dict[str, Any]]:
    """Every span the services wrote, once the files stop growing: each service writes its spans in
    batches, up to 200 ms after they end (certifia_shared.telemetry.SPANS_FILE_DELAY_MS)."""
    deadline, seen = time.monotonic() + timeout_s, -1
    while True:
        found = [
            json.loads(line)
            for path in sorted((stack.state_dir / "spans").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        if len(found) == seen or time.monotonic() > deadline:
            return found
        seen = len(found)
        time.sleep(settle_s)


def test_every_trace_of_a_journey_names_the_candidate_and_links_to_the_journey(stack: Any, demo: Any) -> None:
    result = demo.run(option="5B")
    cid = result["candidate_id"]
    journey = cid.replace("-", "")
    everything = spans(stack)
    mine = [s for s in everything if s["attributes"].get(CANDIDATE_ATTRIBUTE) == cid]

    assert {s["service"] for s in mine} == SERVICES
    [root] = [s for s in mine if s["name"] == JOURNEY_SPAN]
    assert (root["trace_id"], root["service"], root["parent_id"]) == (journey, "enrolment", None)

    traces = {s["trace_id"] for s in mine} - {journey}
    assert len(traces) > 20  # the enrolment, every jury decision, the submissions, the deposit, ...
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in everything:
        if s["trace_id"] in traces:
            by_trace[s["trace_id"]].append(s)
    unlinked = [
        s["name"]
        for s in mine
        if s["parent_id"] is None
        and s["trace_id"] != journey
        and journey not in {x["trace_id"] for x in s["links"]}
    ]
    assert unlinked == []
    # every request, publish and consume span of those traces names the candidate, across all services
    unnamed = [
        (s["service"], s["name"])
        for group in by_trace.values()
        for s in group
        if s["kind"].rsplit(".", 1)[-1] in {"SERVER", "PRODUCER", "CONSUMER"}
        and s["attributes"].get(CANDIDATE_ATTRIBUTE) != cid
    ]
    assert unnamed == []
    roots = [s for group in by_trace.values() for s in group if s["parent_id"] is None]
    assert {r["trace_id"] for r in roots if journey in {x["trace_id"] for x in r["links"]}} == traces
