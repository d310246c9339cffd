"""b5b_inference_cache: the scorer catches each way of gaming a cache log (unit tests on hand-made logs),
and the reference and weak submissions are graded as expected in the real sandbox (integration).

Here, what runs in this process (no sandbox, no child process); tests/integration/test_pack_b5b_inference_cache.py has the rest.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache
from typing import Any

import numpy as np
import pytest

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader, SubmissionError
from certifia_grading.domain.model import CriterionVerdict
from certifia_grading.domain.spec import Dataset, ScoreContext, Submission, load_module
from certifia_grading.domain.verdicts import judge

PACK = "b5b_inference_cache"
ENGINE = Grader(sandbox=BwrapSandbox())
SPEC = ENGINE.spec(PACK)
MODULE: Any = load_module(SPEC)
DATASET = ENGINE.dataset(PACK)
CTX = ScoreContext(inference=ENGINE.inference, spec=SPEC)
CHECKS = {c.metric: c for c in SPEC.criteria[0].checks}
RULES = ("ttl", "model", "update")


@cache
def cache_log(honour: tuple[str, ...] = RULES, *, eager: bool = True, evict: bool = True) -> dict[str, Any]:
    """An LRU cache written apart from the reference, with switches to break one rule at a time."""
    trace, params = DATASET.inputs["trace"], DATASET.inputs["params"]
    held: OrderedDict[str, tuple[int, int]] = OrderedDict()  # key -> (born_ms, version), LRU first
    updated: dict[str, int] = {}
    log: dict[str, list[Any]] = {"hits": [], "stored": [], "removed": []}
    for now, kind, key, version in trace[["t_ms", "kind", "key", "version"]].itertuples(index=False):
        if kind == "update":
            updated[key] = now

        def obsolete(k: str, now: int = now, version: int = version) -> bool:
            born, made_by = held[k]
            return (
                ("ttl" in honour and now - born >= params["ttl_ms"])
                or ("model" in honour and made_by != version)
                or ("update" in honour and updated.get(k, -1) > born)
            )

        looked_up = [key] if kind == "request" and key in held else []
        gone = [k for k in (held if eager else looked_up) if obsolete(k)]
        for k in gone:
            del held[k]
        hit = kind == "request" and key in held
        store = kind == "request" and not hit
        if hit:
            held.move_to_end(key)
        if store:
            if evict and len(held) >= params["capacity"]:
                gone.append(held.popitem(last=False)[0])
            held[key] = (now, version)
        log["hits"].append(int(hit))
        log["stored"].append(int(store))
        log["removed"].append(gone)
    return log


def grade(
    log: dict[str, Any], dataset: Dataset = DATASET
) -> tuple[dict[str, float | None], CriterionVerdict]:
    metrics = MODULE.score(Submission(outputs=log), dataset, CTX)
    return metrics, judge(SPEC.criteria[0], metrics)


def is_request() -> np.ndarray:
    return np.asarray(DATASET.hidden["kinds"] == "request")


def test_a_correct_cache_written_apart_validates_and_matches_the_lru_baseline() -> None:
    metrics, verdict = grade(cache_log())
    assert verdict.verdict == "validated", verdict.explanation
    assert metrics["hit_rate_ratio"] == pytest.approx(1.0)  # the scorer's LRU agrees with this one
    assert metrics["stale_entry_share"] == 0 and metrics["peak_occupancy"] == 1.0
    assert 0.2 < metrics["hit_rate"] <= metrics["optimal_hit_rate"]


@pytest.mark.parametrize("ignored", RULES)
def test_serving_after_ttl_expiry_deployment_or_update_is_a_stale_hit_of_that_rule(ignored: str) -> None:
    metrics, verdict = grade(cache_log(tuple(r for r in RULES if r != ignored)))
    assert metrics["stale_hits"] and metrics["stale_hits"] > 10
    assert metrics[f"stale_hits_{ignored}"] == metrics["stale_hits"]
    assert all(metrics[f"stale_hits_{r}"] == 0 for r in RULES if r != ignored)
    assert metrics["phantom_hits"] == 0
    assert (verdict.verdict, verdict.metric) == ("rejected", "stale_hits")
    assert "non atteint" in verdict.explanation


def test_always_miss_is_caught_by_the_hit_rate_only() -> None:
    n = len(DATASET.hidden["t"])
    metrics, verdict = grade({"hits": [0] * n, "stored": [0] * n, "removed": [[] for _ in range(n)]})
    failing = [m for m, check in CHECKS.items() if not check.passes(metrics[m])]
    assert failing == ["hit_rate_ratio"] and metrics["hit_rate_ratio"] == 0
    assert verdict.verdict == "rejected"


def test_always_hit_is_caught_as_phantom_hits() -> None:
    n = len(DATASET.hidden["t"])
    hits = is_request().astype(int).tolist()
    metrics, verdict = grade({"hits": hits, "stored": [0] * n, "removed": [[] for _ in range(n)]})
    assert metrics["phantom_hits"] == sum(hits) and metrics["hit_rate"] == 0
    assert (verdict.verdict, verdict.metric) == ("rejected", "phantom_hits")


def test_never_evicting_is_caught_by_the_capacity_check() -> None:
    metrics, verdict = grade(cache_log(evict=False))
    assert metrics["peak_occupancy"] > 1.5
    assert metrics["stale_hits"] == 0 and metrics["stale_entry_share"] == 0
    assert (verdict.verdict, verdict.metric) == ("rejected", "peak_occupancy")


def test_checking_validity_only_on_read_keeps_obsolete_entries_and_is_caught() -> None:
    metrics, verdict = grade(cache_log(eager=False))
    assert metrics["stale_hits"] == 0 and metrics["phantom_hits"] == 0
    assert metrics["stale_entry_share"] > 2 * CHECKS["stale_entry_share"].threshold
    assert (verdict.verdict, verdict.metric) == ("rejected", "stale_entry_share")


@pytest.mark.parametrize("lie", ["hide_stores", "report_hit_key_removed"])
def test_a_log_that_hides_the_cache_state_is_caught_as_phantom_hits(lie: str) -> None:
    log = cache_log()
    if lie == "hide_stores":  # reports an empty cache while still serving from it
        fake = {**log, "stored": [0] * len(log["stored"])}
    else:  # claims to drop the key just before serving it
        removed = [
            [*gone, key] if hit else gone
            for gone, hit, key in zip(log["removed"], log["hits"], DATASET.hidden["keys"], strict=True)
        ]
        fake = {**log, "removed": removed}
    metrics, verdict = grade(fake)
    assert metrics["phantom_hits"] == sum(log["hits"]) and metrics["hit_rate"] == 0
    assert (verdict.verdict, verdict.metric) == ("rejected", "phantom_hits")


def test_exact_metrics_on_a_hand_made_trace() -> None:
    ttl = DATASET.inputs["params"]["ttl_ms"]
    kinds = np.array(["request", "request", "update", "request", "request", "deploy", "request", "request"])
    keys = ["a", "a", "a", "a", "a", "", "b", "b"]
    t = np.array([0, 1000, 2000, 3000, ttl + 10, ttl + 20, ttl + 30, ttl + 40])
    tiny = MODULE.events_dataset(t, kinds, keys, capacity=1)
    log = {"hits": [0, 1, 0, 1, 1, 0, 0, 1], "stored": [1, 0, 0, 0, 0, 0, 1, 0], "removed": [[]] * 8}
    metrics, _ = grade(log, tiny)
    # "a" is held after events 0-7 and obsolete from event 2 (its update): 6 of its 8; "b" valid after 6 and 7.
    assert metrics["stale_entry_share"] == pytest.approx(6 / 10)
    assert metrics["peak_occupancy"] == 2.0  # a and b are both held at the end, capacity 1
    assert (metrics["stale_hits"], metrics["stale_hits_update"], metrics["stale_hits_ttl"]) == (2, 2, 1)
    assert metrics["stale_hits_model"] == 0 and metrics["phantom_hits"] == 0
    assert metrics["hit_rate"] == pytest.approx(2 / 6)  # events 1 and 7
    log["removed"] = [
        [],
        [],
        ["a"],
        [],
        [],
        [],
        [],
        [],
    ]  # "a" dropped on its update: hits 3 and 4 are phantom
    metrics, _ = grade(log, tiny)
    assert (metrics["phantom_hits"], metrics["stale_hits"], metrics["stale_entry_share"]) == (2, 0, 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda log, n: {**log, "hits": log["hits"][:-1]}, "shape"),
        (lambda log, n: {**log, "hits": [2] * n}, "0/1"),
        (lambda log, n: {**log, "stored": ["yes"] * n}, "numeric"),
        (lambda log, n: {**log, "hits": [1] * n}, "0 on update and deploy"),
        (lambda log, n: {**log, "stored": [1] * n}, "0 on update and deploy"),
        (
            lambda log, n: {**log, "stored": list(map(max, log["stored"], log["hits"]))},
            "both a hit and a store",
        ),
        (lambda log, n: {**log, "removed": "all"}, r"must be a list of \d+ lists"),
        (lambda log, n: {**log, "removed": log["removed"][1:]}, r"must be a list of \d+ lists"),
        (lambda log, n: {**log, "removed": [[42], *log["removed"][1:]]}, "strings"),
        (lambda log, n: {**log, "removed": [["item-9999x"], *log["removed"][1:]]}, "not keys of the trace"),
    ],
)
def test_malformed_logs_get_a_clear_reason(change: Any, message: str) -> None:
    log = cache_log()
    with pytest.raises(SubmissionError, match=message):
        MODULE.score(Submission(outputs=change(log, len(log["hits"]))), DATASET, CTX)


def test_the_trace_exercises_every_rule_under_capacity_pressure() -> None:
    h = DATASET.hidden
    request = is_request()
    first_cause = {r: int(np.sum(request & (h[r] == h["stale_at"]))) for r in RULES}
    assert min(first_cause.values()) > 100, first_cause
    assert len(set(np.asarray(h["keys"])[request])) > 5 * h["capacity"]
    assert not np.isin(h["t"][request] + DATASET.inputs["params"]["ttl_ms"], h["t"]).any()  # no age == TTL
    assert np.all(np.diff(h["t"]) > 0)


def test_scoring_the_same_log_twice_gives_the_same_metrics() -> None:
    log = cache_log(eager=False)
    assert grade(log)[0] == grade(log)[0] == grade({k: list(v) for k, v in log.items()})[0]
