"""The invariants make bench-cohort judges a run by (bench/cohort_checks.py, issue 15, item 1): each must fail
on the loss or duplicate it is there to catch, and pass on a clean run with redeliveries. The run itself is
`make bench-cohort` / `make test-cohort`."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cohort_checks", ROOT / "bench" / "cohort_checks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["cohort_checks"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


cc = _module()
OPTION_CRITERIA = {"1": ["c1a", "c1b"], "2": ["c2a"], "3": ["c3a"], "4": ["c4a"], "5B": ["c5a"]}


def event(type_: str, subject: str, id_: str, t: int = 0, **data: Any) -> Any:
    return cc.BusEvent("certifia.x", type_, id_, subject, t, {"candidate_id": subject, **data})


def clean_run(candidates: list[str]) -> tuple[list[Any], list[Any]]:
    """What the topics hold after a cohort where everything went right."""
    events, plans = [], []
    for cid in candidates:
        criteria = [c for cs in OPTION_CRITERIA.values() for c in cs]
        plans.append(cc.CandidatePlan(cid, "demo-lms", "5B", frozenset(criteria)))
        for c in criteria:
            events.append(
                event(cc.CRITERION_VALIDATED, cid, f"v-{cid}-{c}", criterion_id=c, decision_id=f"d-{cid}-{c}")
            )
        for bloc in OPTION_CRITERIA:
            events.append(event(cc.BLOC_PASSED, cid, f"p-{cid}-{bloc}", bloc=bloc))
            events.append(event(cc.BLOC_CERTIFICATE_ISSUED, cid, f"b-{cid}-{bloc}", bloc=bloc))
        events.append(event(cc.THESIS_DEFENDED, cid, f"t-{cid}"))
        events.append(event(cc.DIPLOMA_ISSUED, cid, f"dip-{cid}"))
    return events, plans


def failing(checks: list[Any]) -> dict[str, str]:
    return {c.name: c.detail for c in checks if not c.passed}


def test_a_clean_run_passes_and_a_relay_redelivery_is_not_a_duplicate() -> None:
    events, plans = clean_run(["a", "b"])
    redelivered = events + events[:7]  # the relay crashed after sending, before marking: the same ids again
    assert failing(cc.bus_checks(redelivered, plans)) == {}
    assert cc.redeliveries(redelivered) == 7


def test_a_second_diploma_for_one_candidate_fails() -> None:
    events, plans = clean_run(["a", "b"])
    events.append(event(cc.DIPLOMA_ISSUED, "a", "dip-a-again"))
    assert "1 twice ['a']" in failing(cc.bus_checks(events, plans))["diplomas"]


def test_a_lost_bloc_certificate_fails() -> None:
    events, plans = clean_run(["a"])
    events = [e for e in events if e.id != "b-a-3"]
    assert "1 missing" in failing(cc.bus_checks(events, plans))["bloc_certificates"]


def test_a_duplicated_or_lost_decision_fails() -> None:
    events, plans = clean_run(["a"])
    twin = event(cc.CRITERION_VALIDATED, "a", "v-twin", criterion_id="c1a", decision_id="d-twin")
    assert "1 duplicated" in failing(cc.bus_checks([*events, twin], plans))["decisions_on_the_bus"]
    lost = [e for e in events if e.id != "v-a-c2a"]
    assert "1 lost" in failing(cc.bus_checks(lost, plans))["decisions_on_the_bus"]


def test_events_of_candidates_outside_the_cohort_are_not_counted() -> None:
    events, plans = clean_run(["a"])
    others, _ = clean_run(["someone-else"])
    assert failing(cc.bus_checks(events + others, plans)) == {}


def delivery(webhook_id: str, event_id: str, status: int = 204, valid: bool = True) -> Any:
    return cc.Delivery(webhook_id, status, event_id, "a", "diploma.issued", valid)


def test_webhooks_retried_after_refusals_are_delivered_once() -> None:
    deliveries = [delivery("w1", "e1", 503), delivery("w1", "e1"), delivery("w2", "e2")]
    check = cc.webhook_check("demo-lms", deliveries, {"e1", "e2"})
    assert check.passed and check.figures["refused_by_the_receiver"] == 1


def test_a_webhook_accepted_twice_under_its_id_is_counted_not_failed() -> None:
    check = cc.webhook_check("demo-lms", [delivery("w1", "e1"), delivery("w1", "e1")], {"e1"})
    assert check.passed and check.figures["accepted_again_same_webhook_id"] == 1


@pytest.mark.parametrize(
    ("deliveries", "expected", "says"),
    [
        ([delivery("w1", "e1")], {"e1", "e2"}, "1 never delivered"),
        ([delivery("w1", "e1"), delivery("w9", "e1")], {"e1"}, "1 under two webhook ids"),
        ([delivery("w1", "e1", valid=False)], {"e1"}, "1 bad signatures"),
        ([delivery("w1", "e1"), delivery("w2", "e-other")], {"e1"}, "1 unexpected"),
        ([delivery("w1", "e1", 503)], {"e1"}, "1 never delivered"),
    ],
)
def test_webhook_losses_duplicates_and_forgeries_fail(
    deliveries: list[Any], expected: set[str], says: str
) -> None:
    check = cc.webhook_check("demo-lms", deliveries, expected)
    assert not check.passed and says in check.detail


def test_latency_is_from_the_rest_answer_to_the_first_record() -> None:
    starts = {"a": 1_000.0, "b": 2_000.0, "c": 3_000.0}
    ends = [
        event(cc.DIPLOMA_ISSUED, "a", "x", t=1_500),
        event(cc.DIPLOMA_ISSUED, "a", "y", t=9_000),
        event(cc.DIPLOMA_ISSUED, "b", "z", t=2_250),
    ]
    assert sorted(cc.latencies_s(starts, ends, lambda e: e.subject)) == [0.25, 0.5]  # c: none yet, not 0


def sample(t: float, lag: int | None, decisions: int) -> Any:
    return cc.Sample(t, {"g1": lag, "g2": 0 if lag is not None else None}, decisions, 0)


def test_recovery_after_a_fault_measures_lag_and_rate_coming_back() -> None:
    samples = [sample(t, 5, 10 * t) for t in range(0, 30)]  # 10 decisions/s, lag 5
    samples += [sample(t, None, 300) for t in range(30, 35)]  # the broker away: no lag, no decisions
    samples += [sample(t, 400 - 40 * (t - 35), 300 + 10 * (t - 35)) for t in range(35, 60)]  # draining
    got = cc.recovery(samples, at=30.0, ready_after=5.0)
    assert got["lag_before"] == 5 and got["lag_peak_after"] == 400
    assert got["lag_back_after_s"] == 15.0  # t=45: 0 <= 5 + 10
    assert got["decision_rate_before_per_s"] == 10.0
    assert got["decision_rate_back_after_s"] is not None and 0 < got["decision_rate_back_after_s"] <= 6


def test_a_fault_that_never_recovers_says_so() -> None:
    samples = [sample(t, 5, 10 * t) for t in range(0, 30)] + [sample(t, 900, 300) for t in range(30, 60)]
    got = cc.recovery(samples, at=30.0, ready_after=None)
    assert got["lag_back_after_s"] is None and got["decision_rate_back_after_s"] is None


def test_lag_peaks_per_group_and_percentiles() -> None:
    samples = [sample(1, 3, 0), sample(2, 40, 0), sample(3, None, 0), sample(4, 7, 0)]
    assert cc.lag_peaks(samples)["g1"] == {"lag": 40, "at_s": 2}
    assert cc.percentiles([]) == {"n": 0}
    assert cc.percentiles([1.0, 2.0, 3.0, 4.0])["p50"] == 2.5


def test_a_record_is_read_from_its_cloudevents_headers() -> None:
    record = SimpleNamespace(
        topic="certifia.certification",
        headers=[("ce_type", cc.DIPLOMA_ISSUED.encode()), ("ce_id", b"e1"), ("ce_subject", b"a")],
        value=b'{"candidate_id": "a", "diploma_id": "d1"}',
        timestamp=1234,
    )
    got = cc.BusEvent.of(record)
    assert (got.type, got.id, got.subject, got.timestamp_ms, got.data["diploma_id"]) == (
        cc.DIPLOMA_ISSUED,
        "e1",
        "a",
        1234,
        "d1",
    )


def member(*partitions: int) -> dict[str, Any]:
    return {
        "member_assignment": {
            "assigned_partitions": [{"topic": "certifia.assessment", "partitions": list(partitions)}]
        }
    }


def test_scale_out_needs_every_instance_in_the_group_holding_partitions() -> None:
    assert cc.spread_check({"certifia.certification": [member(0, 1), member(2)]}, 2).passed
    idle = cc.spread_check({"certifia.certification": [member(0, 1, 2), member()]}, 2)
    assert not idle.passed and "[3, 0]" in idle.detail
    alone = cc.spread_check({"certifia.certification": [member(0, 1, 2)]}, 2)
    assert not alone.passed and "1 members" in alone.detail


def test_a_rejection_passes_only_where_automated_grading_rejected_first() -> None:
    events, plans = clean_run(["a"])
    rejection = event(cc.CRITERION_REJECTED, "a", "r-a-c2a", criterion_id="c2a", decision_id="d-r")
    assert (
        "1 rejections not as graded"
        in failing(cc.bus_checks([*events, rejection], plans))["decisions_on_the_bus"]
    )
    graded = [cc.CandidatePlan("a", "demo-lms", "5B", plans[0].criteria, frozenset({"c2a"}))]
    assert failing(cc.bus_checks([*events, rejection], graded)) == {}
    assert "1 rejections not as graded" in failing(cc.bus_checks(events, graded))["decisions_on_the_bus"]


def _cohort_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cohort_bench", ROOT / "bench" / "cohort.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["cohort_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_a_retried_request_builds_its_body_again_so_a_defence_time_stays_in_the_future() -> None:
    """CI's N=50 run: a defence scheduled 2 s ahead was retried through the PostgreSQL restart with the
    same, by then past, time and refused 422. The body of a retried request is built afresh per try."""
    import threading

    import httpx

    cohort = _cohort_module()
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(503 if len(bodies) == 1 else 201, json={})

    stack = SimpleNamespace(url=lambda service, instance: "http://127.0.0.1:1", instances_of=lambda s: [1])
    client = cohort.Client(stack, cohort.Counters(), threading.Event())
    client.http = httpx.Client(transport=httpx.MockTransport(answer))
    tries = iter(range(10))
    client.call("POST", "thesis", "/schedule", None, json_each_try=lambda: {"try": next(tries)})
    assert [b'try":0' in bodies[0], b'try":1' in bodies[1]] == [True, True], bodies
    assert client.counters.retries == 1


@pytest.mark.parametrize(("candidates", "walkers"), [(50, 32), (500, 32), (10, 10), (3, 3), (1, 1)])
def test_some_candidates_wait_for_each_fault_and_the_last_for_the_end(candidates: int, walkers: int) -> None:
    faults = 7
    plan = cc.reserve(candidates, walkers, faults)
    assert 0 not in plan, "at least one candidate walks from the start"
    held = sorted(plan)
    assert held == list(range(candidates - len(plan), candidates)), "the held are the last of the queue"
    assert [plan[i] for i in held] == sorted(plan[i] for i in held), "in the order their faults come"
    gates = Counter(plan.values())
    if candidates >= 50:
        assert set(gates) == set(range(faults + 1)), "a candidate starts with every fault, and after the last"
        assert gates[faults] == max(1, min(walkers, candidates // 10))
    elif candidates > 1:
        assert gates[faults] >= 1, "the recovery after the last fault is measured under load"
