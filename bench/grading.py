"""Grading benchmark (`make bench-grading`): results merged into bench/results/grading.json.

Each section writes its own top-level key, so sections can be run and re-run independently:
``python bench/grading.py [section ...]`` (default: every section). bench/README.md says what each
figure means.

- ``throughput``: distinct submissions of two code packs (sandboxed) and a model pack (ONNX) graded
  one at a time in this process (p50/p95 time to verdict), the model pack also through Triton, then
  as Ray tasks on a local Ray with 2 CPUs, one and two jobs in flight (submissions per minute);
  verdicts checked against the first run.
- ``sandbox_cost``: the code packs' submissions graded with and without bubblewrap; ratio of p50s.
- ``triton``: one ONNX classifier served by PyTriton's tritonserver on 127.0.0.1; the same rows
  scored one request per row in sequence, as single-row requests sent concurrently and merged by
  the dynamic batcher, and as client-side batches; throughput ratios and p50/p95 latency.
- ``triton_gpu`` (not run by default; ``make bench-gpu`` on a machine with an NVIDIA GPU): the pack's
  teacher model and a wider network served by Triton on the CPU and on the GPU of the same machine.

Progress goes to stderr, a summary table to stdout.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import (
    enter_accounting_cgroup,
    machine,
    merge_section,
    metered,
    problems,
    progress,
    read_results,
    rounded,
    table,
    timed,
)
from grading_packs import IN_FLIGHT, RAY_CPUS, bench_sandbox_cost, bench_throughput, previous_figures

RESULTS = Path(__file__).resolve().parent / "results" / "grading.json"


def bench_triton(rows: int = 2000, features: int = 20, seed: int = 0) -> dict[str, Any]:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from certifia_grading.adapters.triton import TritonInference

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = (x @ rng.normal(size=features) > 0).astype(np.int64)
    model = to_onnx(LogisticRegression().fit(x, y), x[:1], options={"zipmap": False}).SerializeToString()
    inputs = {"X": x}
    backend = TritonInference(max_batch_size=256, max_queue_delay_us=500, concurrency=8)
    try:
        progress("triton: starting tritonserver and loading the model")
        _, start_s = timed(backend.start)
        _, load_s = timed(lambda: backend.predict(model, {"X": x[:8]}))
        progress(f"triton: {rows} rows, one request per row")
        one, one_s = timed(lambda: backend.predict_one_by_one(model, inputs))
        progress(f"triton: {rows} single-row requests, {backend.concurrency} in flight, dynamic batching")
        merged, merged_s = timed(lambda: backend.predict(model, inputs, request_rows=1))
        progress(f"triton: {rows} rows in requests of {backend.max_batch_size} rows")
        batched, batched_s = timed(lambda: backend.predict(model, inputs))
        agree = bool(
            np.array_equal(one["label"], batched["label"])
            and np.array_equal(merged["label"], batched["label"])
        )
        progress("triton: latency (sequential requests)")
        latency = {
            f"batch_{bs}": rounded(
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


def _wide_mlp(inputs: int, hidden: int, classes: int, seed: int) -> bytes:
    """A random two-hidden-layer ReLU network (float32) as ONNX: big enough for a GPU to matter."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    shapes = {"W1": (inputs, hidden), "W2": (hidden, hidden), "W3": (hidden, classes)}
    weights = [
        numpy_helper.from_array((rng.normal(size=s) / np.sqrt(s[0])).astype(np.float32), n)
        for n, s in shapes.items()
    ]
    nodes = [
        helper.make_node("MatMul", ["X", "W1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["h1"]),
        helper.make_node("MatMul", ["h1", "W2"], ["a2"]),
        helper.make_node("Relu", ["a2"], ["h2"]),
        helper.make_node("MatMul", ["h2", "W3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "wide_mlp",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, inputs])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, classes]),
        ],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def bench_triton_gpu(rows: int = 20_000, seed: int = 0) -> dict[str, Any]:
    """The same ONNX models served by Triton on this machine's CPU and on its GPU (`make bench-gpu`)."""
    from certifia_grading.adapters.sandbox import BwrapSandbox
    from certifia_grading.adapters.triton import TritonInference
    from certifia_grading.domain import Grader
    from certifia_grading.domain.inference import cuda_available

    if not cuda_available():
        raise SystemExit("triton_gpu: onnxruntime-gpu sees no NVIDIA GPU here (run it with make bench-gpu)")
    teacher = Grader(sandbox=BwrapSandbox()).dataset("b5b_model_compression").hidden["teacher_model"]
    models = {
        "b5b_teacher (64-4096-10 MLP, 307k parameters)": (teacher, 64),
        "wide_mlp (784-2048-2048-10, 5.8M parameters)": (_wide_mlp(784, 2048, 10, seed), 784),
    }
    rng = np.random.default_rng(seed)
    report: dict[str, Any] = {"gpu": _gpu_name(), "rows": rows, "models": {}}
    for name, (model, features) in models.items():
        x = rng.normal(size=(rows, features)).astype(np.float32) * 4
        entry: dict[str, Any] = {}
        labels = {}
        for device in ("cpu", "gpu"):
            backend = TritonInference(device=device, max_batch_size=256, concurrency=8, ort_threads=4)
            try:
                progress(f"triton_gpu: {name} on the {device}")
                backend.start()
                backend.predict(model, {"X": x[:256]})  # load and warm up
                out, took = timed(functools.partial(backend.predict, model, {"X": x}))
                labels[device] = out["label"]
                entry[device] = {
                    "rows_per_s": round(rows / took, 1),
                    "latency_ms": {
                        f"batch_{bs}": rounded(
                            backend.measure_latency(
                                model, {"X": x}, warmup=20, requests=200, batch_size=bs
                            ).as_dict()
                        )
                        for bs in (1, 256)
                    },
                }
            finally:
                backend.close()
        entry["ratio_gpu_vs_cpu_rows_per_s"] = round(
            entry["gpu"]["rows_per_s"] / entry["cpu"]["rows_per_s"], 2
        )
        entry["labels_agree_share"] = float(np.mean(labels["gpu"] == labels["cpu"]))
        report["models"][name] = entry
    report["configuration"] = {
        "max_batch_size": 256,
        "max_queue_delay_us": 500,
        "client_concurrency": 8,
        "ort_threads_cpu": 4,
        "protocol": "http",
        "requests": "rows in requests of 256 rows, 8 in flight",
    }
    return report


def _gpu_name() -> str:
    import subprocess

    try:
        query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
        return subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def rows_throughput(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    start = f"{data['ray_start_s']:.1f} s / {data['ray_first_job_s']:.1f} s"
    rows = [("throughput", "Ray start-up / first job (not in the rates)", start)]
    for pack_id, entry in data["packs"].items():
        seq = entry["sequential"]["time_to_verdict_s"]
        value = f"p50 {seq['p50_s']:.3f} s, p95 {seq['p95_s']:.3f} s, mean {seq['mean_s']:.3f} s"
        rows.append(("throughput", f"{pack_id} in process, one at a time", value))
        if "in_process_triton" in entry:
            tri = entry["in_process_triton"]["time_to_verdict_s"]
            value = f"p50 {tri['p50_s']:.3f} s, p95 {tri['p95_s']:.3f} s (a new Triton model each)"
            rows.append(("throughput", f"{pack_id} in process through Triton", value))
        for k in IN_FLIGHT:
            if f"ray_{k}_in_flight" in entry:
                rows.append(
                    (
                        "throughput",
                        f"{pack_id} on Ray, {k} in flight",
                        _ray_value(entry[f"ray_{k}_in_flight"]),
                    )
                )
        if "ratios" in entry:
            r = entry["ratios"]
            value = (
                f"rate x{r[f'ray_{RAY_CPUS}_in_flight_vs_sequential_rate']} (target >= "
                f"{r['targets']['rate_at_least']}), p95 x{r['ray_1_in_flight_p95_vs_sequential_p95']} "
                f"(target <= {r['targets']['p95_at_most']}): met {r['targets_met']}"
            )
            rows.append(("throughput", f"{pack_id} Ray vs the engine alone", value))
        if "verdicts_identical" in entry:
            rows.append(("throughput", f"{pack_id} verdicts all identical", str(entry["verdicts_identical"])))
    if "load_average" in data:
        load = data["load_average"]
        rows.append(("throughput", "load average at start / end", f"{load['at_start']} / {load['at_end']}"))
    return rows


def _ray_value(run: dict[str, Any]) -> str:
    ttv, cpu = run["time_to_verdict_s"], run["cpu"]
    return (
        f"{run['submissions_per_min']:.1f}/min (CPU-bound {run['rate_if_cpu_bound_per_min']:.0f}/min), "
        f"verdict p50 {ttv['p50_s']:.2f} s, p95 {ttv['p95_s']:.2f} s, "
        f"{cpu['own_cpu_s_per_submission']:.2f} CPU-s/job, others took {cpu['other_processes_cpu_share']:.0%}"
    )


def rows_sandbox_cost(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            "sandbox_cost",
            f"{pack_id} p50 sandboxed / unsandboxed",
            f"{e['sandboxed']['p50_s']:.3f} s / {e['unsandboxed']['p50_s']:.3f} s = "
            f"x{e['ratio_p50_sandboxed_vs_unsandboxed']}, verdicts identical: {e['verdicts_identical']}, "
            f"others took {e['other_processes_cpu_share']:.0%}",
        )
        for pack_id, e in data["packs"].items()
    ]


def rows_triton(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    rate = data["rows_per_s"]
    return [
        ("triton", "rows/s one request per row", f"{rate['one_request_per_row']:.0f}"),
        (
            "triton",
            "dynamic batching vs one per row",
            f"x{data['ratio_dynamic_batching_vs_one_request_per_row']}",
        ),
        ("triton", "client batches vs one per row", f"x{data['ratio_batched_vs_one_request_per_row']}"),
    ]


def rows_triton_gpu(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = [("triton_gpu", "GPU", data["gpu"])]
    for name, entry in data["models"].items():
        short = name.split(" ", 1)[0]
        for device in ("cpu", "gpu"):
            lat = entry[device]["latency_ms"]["batch_1"]
            value = f"{entry[device]['rows_per_s']:.0f} rows/s, p50 {lat['p50_ms']:.2f} ms per 1-row request"
            rows.append(("triton_gpu", f"{short} on the {device}", value))
        rows.append(("triton_gpu", f"{short} gpu vs cpu rows/s", f"x{entry['ratio_gpu_vs_cpu_rows_per_s']}"))
    return rows


Section = tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], list[tuple[str, str, str]]]]
SECTIONS: dict[str, Section] = {
    "throughput": (bench_throughput, rows_throughput),
    "sandbox_cost": (bench_sandbox_cost, rows_sandbox_cost),
    "triton": (bench_triton, rows_triton),
    "triton_gpu": (bench_triton_gpu, rows_triton_gpu),  # on a GPU machine only: make bench-gpu
}
DEFAULT_SECTIONS = ("throughput", "sandbox_cost", "triton")


def run_section(name: str) -> dict[str, Any] | None:
    """Run one section and merge it into the results file; None (nothing written) when its checks fail."""
    progress(f"{name}: starting")
    before = read_results(RESULTS).get(name)
    data, took, cpu = metered(SECTIONS[name][0])
    if name == "throughput":  # the figures this run replaces, kept for comparison
        data["previous"] = previous_figures(before) or (before or {}).get("previous")
    data["section_wall_s"] = round(took, 1)
    data["section_cpu"] = cpu
    wrong = problems(data)
    if wrong:  # gradings that failed or disagree must not replace good figures
        progress(f"{name}: NOT written, its checks failed: {wrong}")
        return None
    measured_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results = merge_section(read_results(RESULTS), name, data, machine=machine(), measured_at=measured_at)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    progress(f"{name}: {took:.0f} s, written to {RESULTS}")
    return data


def main(argv: list[str]) -> int:
    chosen = argv or list(DEFAULT_SECTIONS)
    if enter_accounting_cgroup() is None:  # before Ray or any sandbox starts: they inherit it
        progress(
            "CPU figures are sampled from /proc (no writable cgroup v1 cpuacct): the sampling costs a few % of a CPU"
        )
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        progress(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")
        return 2
    started, rows = time.perf_counter(), []
    for name in chosen:
        data = run_section(name)
        if data is None:
            return 1
        rows += SECTIONS[name][1](data)
    print(table(rows))
    progress(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
