"""Grading benchmark (`make bench-grading`): results merged into bench/results/grading.json.

Each section writes its own top-level key, so sections can be run and re-run independently:
``python bench/grading.py [section ...]`` (default: every section).

- ``triton``: one ONNX classifier served by PyTriton's tritonserver on 127.0.0.1; the same rows
  scored one request per row in sequence, as single-row requests sent concurrently and merged by
  the dynamic batcher, and as client-side batches; throughput ratios and p50/p95 latency.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "grading.json"


def progress(message: str) -> None:
    print(f"[bench-grading] {message}", file=sys.stderr, flush=True)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in values.items()}


def bench_triton(rows: int = 2000, features: int = 20, seed: int = 0) -> dict[str, Any]:
    from certifia_grading.adapters.triton import TritonInference
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = (x @ rng.normal(size=features) > 0).astype(np.int64)
    model = to_onnx(LogisticRegression().fit(x, y), x[:1], options={"zipmap": False}).SerializeToString()
    inputs = {"X": x}
    backend = TritonInference(max_batch_size=256, max_queue_delay_us=500, concurrency=8)
    try:
        progress("triton: starting tritonserver and loading the model")
        _, start_s = _timed(backend.start)
        _, load_s = _timed(lambda: backend.predict(model, {"X": x[:8]}))
        progress(f"triton: {rows} rows, one request per row")
        one, one_s = _timed(lambda: backend.predict_one_by_one(model, inputs))
        progress(f"triton: {rows} single-row requests, {backend.concurrency} in flight, dynamic batching")
        merged, merged_s = _timed(lambda: backend.predict(model, inputs, request_rows=1))
        progress(f"triton: {rows} rows in requests of {backend.max_batch_size} rows")
        batched, batched_s = _timed(lambda: backend.predict(model, inputs))
        agree = bool(
            np.array_equal(one["label"], batched["label"])
            and np.array_equal(merged["label"], batched["label"])
        )
        progress("triton: latency (sequential requests)")
        latency = {
            f"batch_{bs}": _rounded(
                backend.measure_latency(model, inputs, warmup=20, requests=200, batch_size=bs).as_dict()
            )
            for bs in (1, 64)
        }
    finally:
        backend.close()
    return {
        "model": f"LogisticRegression, {features} float32 features, ONNX (skl2onnx)",
        "rows": rows,
        "device": backend.device_kind,
        "server_start_s": round(start_s, 3),
        "model_load_s": round(load_s, 3),
        "rows_per_s": {
            "one_request_per_row": round(rows / one_s, 1),
            "single_row_requests_dynamic_batching": round(rows / merged_s, 1),
            "batched_requests": round(rows / batched_s, 1),
        },
        "ratio_dynamic_batching_vs_one_request_per_row": round(one_s / merged_s, 2),
        "ratio_batched_vs_one_request_per_row": round(one_s / batched_s, 2),
        "labels_identical": agree,
        "latency_ms": latency,
        "configuration": {
            "max_batch_size": backend.max_batch_size,
            "max_queue_delay_us": backend.max_queue_delay_us,
            "client_concurrency": backend.concurrency,
            "ort_threads": backend.ort_threads,
            "protocol": "http",
        },
    }


SECTIONS: dict[str, Callable[[], dict[str, Any]]] = {"triton": bench_triton}


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        progress(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")
        return 2
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in chosen:
        results[name] = SECTIONS[name]() | {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
        results[name]["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        progress(f"{name}: written to {RESULTS}")
    print(json.dumps({name: results[name] for name in chosen}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
