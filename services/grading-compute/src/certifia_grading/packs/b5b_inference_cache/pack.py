"""Bloc 5B inference cache: replay eleven minutes of traffic on a prediction service, grade its caching policy.

The trace mixes prediction requests (skewed key popularity that drifts over time), feature updates of a key
and model deployments. The candidate simulates its cache and reports, event by event, which requests it served
from the cache, which fresh predictions it stored and which keys it removed. The scorer rebuilds the cache from
that log alone and checks every hit against the ground truth of when each prediction became obsolete: its TTL
ran out, a newer model was deployed, or the key's features were updated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from certifia_grading.engine.model import SubmissionError
from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.b5b_inference_cache.baselines import belady_hits, lru_hits
from certifia_grading.packs.common import as_vector

N_KEYS, N_REQUESTS, N_UPDATES, N_PHASES, ZIPF = 1500, 5000, 250, 3, 0.9
DEPLOY_AT = (0.2, 0.4, 0.6, 0.8)  # share of the trace
CAPACITY, TTL_MS, MEAN_GAP_MS = 100, 45_000, 130
RULES = ("ttl", "model", "update")  # why a cached prediction is obsolete
NEVER = np.iinfo(np.int64).max


def _times(rng: np.random.Generator, is_request: np.ndarray) -> np.ndarray:
    """Strictly increasing ms; no event lands exactly one TTL after a request (age == TTL never ambiguous)."""
    base = np.cumsum(1 + rng.exponential(MEAN_GAP_MS, len(is_request)).astype(np.int64))
    times, requests, shift = [], set(), 0
    for b, request in zip(base.tolist(), is_request.tolist(), strict=True):
        while b + shift - TTL_MS in requests:
            shift += 1
        times.append(b + shift)
        if request:
            requests.add(b + shift)
    return np.array(times, dtype=np.int64)


def _ground_truth(t: np.ndarray, kinds: np.ndarray, keys: list[str]) -> dict[str, np.ndarray]:
    """For the prediction a request would store: when each rule makes it obsolete (NEVER if not before the end)."""
    deploys = t[kinds == "deploy"]
    after = np.searchsorted(deploys, t, side="right")
    model = np.where(after < len(deploys), deploys[np.minimum(after, len(deploys) - 1)], NEVER)
    update = np.full(len(t), NEVER, dtype=np.int64)
    next_update: dict[str, int] = {}
    for i in range(len(t) - 1, -1, -1):
        if kinds[i] == "update":
            next_update[keys[i]] = int(t[i])
        elif kinds[i] == "request":
            update[i] = next_update.get(keys[i], NEVER)
    truth = {"ttl": t + TTL_MS, "model": model, "update": update}
    truth["stale_at"] = np.minimum.reduce([truth[r] for r in RULES])
    return truth


def build(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n = N_REQUESTS + N_UPDATES + len(DEPLOY_AT)
    kinds = np.full(n, "request", dtype=object)
    kinds[(np.array(DEPLOY_AT) * n).astype(int) + rng.integers(-50, 50, len(DEPLOY_AT))] = "deploy"
    kinds[rng.choice(np.flatnonzero(kinds == "request"), N_UPDATES, replace=False)] = "update"
    t = _times(rng, kinds == "request")
    popularity = 1.0 / np.arange(1, N_KEYS + 1) ** ZIPF
    rank = rng.choice(N_KEYS, size=n, p=popularity / popularity.sum())
    hot_sets = np.stack([rng.permutation(N_KEYS) for _ in range(N_PHASES)])  # the hot keys drift
    ids = hot_sets[np.arange(n) * N_PHASES // n, rank]
    keys = [f"item-{i:04d}" if k != "deploy" else "" for i, k in zip(ids.tolist(), kinds, strict=True)]
    return events_dataset(t, kinds.astype(str), keys)


def events_dataset(t: np.ndarray, kinds: np.ndarray, keys: list[str], capacity: int = CAPACITY) -> Dataset:
    """The trace and parameters for the candidate; when each prediction becomes obsolete for the scorer."""
    version = 1 + np.cumsum(kinds == "deploy")
    trace = pd.DataFrame({"t_ms": t, "kind": kinds, "key": keys, "version": version})
    return Dataset(
        inputs={"trace": trace, "params": {"capacity": capacity, "ttl_ms": TTL_MS}},
        hidden={**_ground_truth(t, kinds, keys), "t": t, "kinds": kinds, "keys": keys, "capacity": capacity},
    )


def _flags(value: Any, name: str, h: dict[str, Any]) -> np.ndarray:
    flags = as_vector(value, len(h["t"]), name)
    if not np.all((flags == 0) | (flags == 1)):
        raise SubmissionError(f"output {name!r} must hold 0/1 (or booleans) only, one per event")
    if np.any(flags[h["kinds"] != "request"] == 1):
        raise SubmissionError(
            f"output {name!r} must be 0 on update and deploy events (only requests are served)"
        )
    return flags.astype(bool)


def _removals(value: Any, h: dict[str, Any]) -> list[list[str]]:
    n, known = len(h["t"]), set(h["keys"]) - {""}
    if not isinstance(value, list) or len(value) != n:
        raise SubmissionError(f"output 'removed' must be a list of {n} lists of keys, one per event")
    for i, item in enumerate(value):
        if not isinstance(item, list) or not all(isinstance(k, str) for k in item):
            raise SubmissionError(f"removed[{i}] must be a list of keys (strings such as 'item-0042')")
        unknown = set(item) - known
        if unknown:
            raise SubmissionError(
                f"removed[{i}] names {sorted(unknown)[:3]}, which are not keys of the trace"
            )
    return value


def _replay(
    hits: np.ndarray, stored: np.ndarray, removed: list[list[str]], h: dict[str, Any]
) -> dict[str, float]:
    """Rebuild the candidate's cache from its own log; judge each hit and each held entry against the truth."""
    t, keys, n = h["t"], h["keys"], len(h["t"])
    cache: dict[str, int] = {}  # key -> index of the request whose prediction is held
    spans: list[tuple[int, int]] = []  # (request index, first event after which it is no longer held)
    counts = dict.fromkeys(("valid", "phantom", "stale", *RULES), 0)
    peak = 0
    for j in range(n):
        for key in removed[j]:  # removals of an event happen before its lookup and its store
            if key in cache:
                spans.append((cache.pop(key), j))
        key = keys[j]
        if hits[j]:
            origin = cache.get(key)
            broken = [] if origin is None else [r for r in RULES if t[j] >= h[r][origin]]
            counts["phantom" if origin is None else "stale" if broken else "valid"] += 1
            for rule in broken:
                counts[rule] += 1
        if stored[j]:
            if key in cache:
                spans.append((cache[key], j))
            cache[key] = j
        peak = max(peak, len(cache))
    spans += [(i, n) for i in cache.values()]
    span = np.array(spans, dtype=np.int64).reshape(-1, 2)
    held, until = span[:, 0], span[:, 1]
    first_stale = np.maximum(np.searchsorted(t, h["stale_at"][held], side="left"), held)
    entry_events = float(np.sum(until - held))
    return {
        "valid_hits": float(counts["valid"]),
        "phantom_hits": float(counts["phantom"]),
        "stale_hits": float(counts["stale"]),
        **{f"stale_hits_{r}": float(counts[r]) for r in RULES},
        "peak_occupancy": peak / h["capacity"],
        "stale_entry_share": float(np.sum(np.maximum(until - first_stale, 0))) / max(entry_events, 1.0),
    }


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    h, out = dataset.hidden, submission.outputs
    hits, stored = _flags(out["hits"], "hits", h), _flags(out["stored"], "stored", h)
    if np.any(hits & stored):
        raise SubmissionError(
            "an event cannot be both a hit and a store: only a recomputed prediction is stored"
        )
    replay = _replay(hits, stored, _removals(out["removed"], h), h)
    requests = np.flatnonzero(h["kinds"] == "request")
    args = (h["t"], h["keys"], requests, h["stale_at"], h["capacity"])
    lru, best, valid = lru_hits(*args), belady_hits(*args), replay.pop("valid_hits")
    metrics: dict[str, float | None] = {
        **replay,
        "hit_rate": valid / len(requests),
        "lru_hit_rate": lru / len(requests),
        "optimal_hit_rate": best / len(requests),
        "hit_rate_ratio": valid / max(lru, 1),
    }
    return metrics
