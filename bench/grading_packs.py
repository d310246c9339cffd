"""Sections ``throughput`` and ``sandbox_cost``: real packs, distinct submissions, graded end to end.

Every submission is a pack's reference or weak solution (alternately) plus a NOTES.txt naming its
index, so no two archives share a digest; ONNX models also get the index in their ``doc_string``,
because the inference backend caches sessions by the model's digest. Heavy imports (the engine, Ray)
happen inside the sections so that ``benchlib`` and this module stay importable by unit tests.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchlib import (
    PERCENTILE_METHOD,
    metered,
    per_minute,
    progress,
    ratio,
    summary,
    timed,
)

CODE_PACKS = ("b2_data_cleaning", "b2_dimension_reduction")
MODEL_PACK = "b2_supervised_onnx"
SUBMISSIONS = 16  # per pack and measurement: keeps `make bench-grading` under ~5 min on 2 cores
RAY_CPUS = 2
# Ray jobs cost seconds each (a fresh worker per job), so only one code pack goes through Ray:
# b2_data_cleaning, whose candidate code is light, so its figures are mostly the grader's own cost.
RAY_PACKS = (CODE_PACKS[0], MODEL_PACK)
IN_FLIGHT = (1, RAY_CPUS)  # the service's default (grading_workers=1), then one job per Ray CPU
JOB_TIMEOUT_S = 300


@dataclass(frozen=True)
class BenchSubmission:
    kind: str  # "reference" or "weak"
    archive: bytes


def distinct_archive(members: dict[str, bytes], index: int, model_file: str | None = None) -> bytes:
    """The same submission with a harmless NOTES.txt (and ONNX doc_string) that makes its digest unique."""
    from certifia_grading.engine.testing import zip_files

    files: dict[str, bytes | str] = {**members, "NOTES.txt": f"benchmark submission {index}\n"}
    if model_file:
        import onnx

        model = onnx.load_from_string(members[model_file])
        model.doc_string = f"benchmark submission {index}"
        files[model_file] = model.SerializeToString()
    return zip_files(files)


def submissions(engine: Any, pack_id: str, count: int) -> list[BenchSubmission]:
    from certifia_grading.engine.archive import read_members
    from certifia_grading.engine.testing import sample_submission

    itf = engine.spec(pack_id).interface
    model_file = itf.model_file if itf.kind == "onnx" else None
    bases = {kind: read_members(sample_submission(engine, pack_id, kind)) for kind in ("reference", "weak")}
    kinds = [("reference", "weak")[i % 2] for i in range(count)]
    subs = [BenchSubmission(k, distinct_archive(bases[k], i, model_file)) for i, k in enumerate(kinds)]
    if len({hashlib.sha256(s.archive).digest() for s in subs}) != count:
        raise AssertionError(f"{pack_id}: benchmark archives are not all distinct")
    return subs


def mismatches(expected: list[Any], actual: list[Any]) -> int:
    """How many outcomes differ from the expected ones in anything that must be reproducible."""
    return sum(a.reproducible_view() != b.reproducible_view() for a, b in zip(expected, actual, strict=True))


def grade_each(
    grade: Callable[[bytes], Any], subs: list[BenchSubmission], label: str
) -> tuple[list[Any], list[float]]:
    outcomes: list[Any] = []
    seconds: list[float] = []
    for i, sub in enumerate(subs, 1):
        outcome, took = timed(partial(grade, sub.archive))
        outcomes.append(outcome)
        seconds.append(took)
        failed = f", FAILED: {outcome.failed_reason}" if outcome.failed else ""
        progress(f"{label}: {i}/{len(subs)} {sub.kind} {took:.2f} s{failed}")
    return outcomes, seconds


def grade_on_ray(executor: Any, pack_id: str, subs: list[BenchSubmission], in_flight: int) -> dict[str, Any]:
    """Jobs as the service runs them: ``in_flight`` threads each calling ``executor.run`` (GradingWorker)."""
    from certifia_grading.adapters.runner import grade_in_worker

    def job(sub: BenchSubmission) -> tuple[Any, float]:
        run = partial(executor.run, grade_in_worker, None, True, pack_id, sub.archive, timeout=JOB_TIMEOUT_S)
        return timed(run)

    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        results, wall, cpu = metered(lambda: list(pool.map(job, subs)))
    progress(f"throughput {pack_id} on Ray, {in_flight} in flight: {len(subs)} in {wall:.1f} s")
    outcomes = [r[0] for r in results]
    return {
        "outcomes": outcomes,
        "submissions_per_min": per_minute(len(subs), wall),
        "wall_s": round(wall, 3),
        "time_to_verdict_s": summary([r[1] for r in results]),
        "grade_in_worker_s": summary([o.duration_s for o in outcomes]),
        "cpu": _per_submission(cpu, len(subs)),
        "rate_if_cpu_bound_per_min": per_minute(RAY_CPUS * len(subs), cpu["own_cpu_s"]),
    }


def _per_submission(cpu: dict[str, float], count: int) -> dict[str, float]:
    return {**cpu, "own_cpu_s_per_submission": round(cpu["own_cpu_s"] / count, 3)}


def _sequential(engine: Any, pack_id: str, count: int) -> dict[str, Any]:
    from certifia_grading.engine.testing import sample_submission

    _, dataset_s = timed(partial(engine.dataset, pack_id))
    subs = submissions(engine, pack_id, count)
    _, warmup_s = timed(partial(engine.grade, pack_id, sample_submission(engine, pack_id)))
    label = f"throughput {pack_id} in process"
    (outcomes, seconds), _, cpu = metered(partial(grade_each, partial(engine.grade, pack_id), subs, label))
    by_kind = {
        kind: summary([s for s, sub in zip(seconds, subs, strict=True) if sub.kind == kind])["p50_s"]
        for kind in ("reference", "weak")
    }
    return {
        "subs": subs,
        "outcomes": outcomes,
        "interface": engine.spec(pack_id).interface.kind,
        "submissions": Counter(s.kind for s in subs),
        "dataset_build_s": round(dataset_s, 3),
        "warmup_grade_s": round(warmup_s, 3),
        "failed_gradings": sum(o.failed for o in outcomes),
        "sequential": {
            "time_to_verdict_s": summary(seconds),
            "p50_s_by_kind": by_kind,
            "submissions_per_min": per_minute(len(seconds), sum(seconds)),
            "cpu": _per_submission(cpu, len(subs)),
        },
    }


def _on_ray(executor: Any, pack_id: str, entry: dict[str, Any]) -> None:
    for k in IN_FLIGHT:
        run = grade_on_ray(executor, pack_id, entry["subs"], k)
        run["verdict_mismatches_vs_sequential"] = mismatches(entry["outcomes"], run.pop("outcomes"))
        entry[f"ray_{k}_in_flight"] = run


def _through_triton(pack_id: str, entry: dict[str, Any]) -> None:
    """Model packs as `make run` grades them: in the service process, scored by Triton (one model each)."""
    from certifia_grading.adapters.triton import TritonInference
    from certifia_grading.engine import GradingEngine

    backend = TritonInference()  # the service's settings (bootstrap.make_engine)
    try:
        progress("throughput: starting tritonserver")
        _, start_s = timed(backend.start)
        grade = partial(GradingEngine(inference=backend).grade, pack_id)
        label = f"throughput {pack_id} in process through Triton"
        (outcomes, seconds), _, cpu = metered(partial(grade_each, grade, entry["subs"], label))
    finally:
        backend.close()
    entry["in_process_triton"] = {
        "server_start_s": round(start_s, 3),
        "time_to_verdict_s": summary(seconds),
        "submissions_per_min": per_minute(len(seconds), sum(seconds)),
        "cpu": _per_submission(cpu, len(seconds)),
        "verdict_mismatches_vs_sequential": mismatches(entry["outcomes"], outcomes),
    }


def _finish(entry: dict[str, Any]) -> None:
    """Verdicts agree when every other way of grading matched the in-process run; archives dropped."""
    others = [v for v in entry.values() if isinstance(v, dict) and "verdict_mismatches_vs_sequential" in v]
    if others:
        entry["verdicts_identical"] = all(v["verdict_mismatches_vs_sequential"] == 0 for v in others)
    entry["submissions"] = dict(entry["submissions"])
    del entry["subs"], entry["outcomes"]


def bench_throughput(count: int = SUBMISSIONS) -> dict[str, Any]:
    from certifia_grading.adapters.ray_executor import RayGradingExecutor
    from certifia_grading.engine import GradingEngine

    engine = GradingEngine()
    # in process first, Ray after: Ray's start-up work must not overlap the in-process timings
    packs = {pack_id: _sequential(engine, pack_id, count) for pack_id in (*CODE_PACKS, MODEL_PACK)}
    _through_triton(MODEL_PACK, packs[MODEL_PACK])
    progress(f"throughput: starting a local Ray with num_cpus={RAY_CPUS}")
    executor = RayGradingExecutor(num_cpus=RAY_CPUS)
    try:
        warmup = packs[MODEL_PACK]["subs"][:1]  # the first job waits for Ray's worker pool: not counted
        _, first_job_s = timed(partial(grade_on_ray, executor, MODEL_PACK, warmup, 1))
        for pack_id in RAY_PACKS:
            _on_ray(executor, pack_id, packs[pack_id])
    finally:
        executor.shutdown()
    for entry in packs.values():
        _finish(entry)
    return {
        "packs": packs,
        "ray_start_s": round(executor.start_seconds, 3),
        "ray_first_job_s": round(first_job_s, 3),
        "configuration": {
            "submissions_per_pack": count,
            "archives": "reference and weak solutions alternately, each with a distinct NOTES.txt "
            "(ONNX: and a distinct model doc_string), so every digest differs",
            "in_process": "one GradingEngine() in this process (bubblewrap sandbox, onnxruntime CPU 1 "
            "thread), one submission at a time; the pack's dataset built and one warm-up grade done "
            "before timing (reported as dataset_build_s and warmup_grade_s)",
            "ray": f"ray.init(num_cpus={RAY_CPUS}) through RayGradingExecutor; each job is "
            "executor.run(grade_in_worker, ...) (max_calls=1: a fresh worker process, engine and "
            "dataset per job); N in flight = N threads calling run(), as N GradingWorkers do; "
            "submissions_per_min counts from the first submit to the last verdict, Ray start-up "
            "and one warm-up job excluded",
            "in_flight": list(IN_FLIGHT),
            "service_default_in_flight": 1,
            "time_to_verdict": "wall time from grade()/run() call to its outcome",
            "percentiles": PERCENTILE_METHOD,
            "code_packs": list(CODE_PACKS),
            "model_pack": MODEL_PACK,
            "ray_packs": list(RAY_PACKS),
            "cpu": "per phase: CPU seconds of this process and its descendants (Ray daemons and "
            "workers, sandboxes; sampled every 50 ms, so a slight undercount), and the share of the "
            "machine's CPUs other processes took meanwhile (they inflate wall-clock figures)",
            "rate_if_cpu_bound_per_min": f"60 x {RAY_CPUS} CPUs / own CPU seconds per submission: the "
            "rate with both CPUs busy with grading only",
            "model_pack_scoring": "sequential and Ray: onnxruntime in the process that grades "
            "(USE_TRITON=false); in_process_triton: GradingEngine(inference=TritonInference()) with "
            "the service's defaults, as `make run` grades model packs (USE_TRITON=true keeps them out "
            "of Ray); every distinct model is a new Triton model, loaded at its first request",
        },
    }


def bench_sandbox_cost(count: int = SUBMISSIONS) -> dict[str, Any]:
    from certifia_grading.engine import GradingEngine
    from certifia_grading.engine.testing import sample_submission

    engines = {"sandboxed": GradingEngine(sandbox=True), "unsandboxed": GradingEngine(sandbox=False)}
    packs = {}
    for pack_id in CODE_PACKS:
        subs = submissions(engines["sandboxed"], pack_id, count)
        for engine in engines.values():
            engine.grade(pack_id, sample_submission(engine, pack_id))  # warm-up: dataset, imports
        packs[pack_id] = _compare_sandbox(engines, pack_id, subs)
    return {
        "packs": packs,
        "configuration": {
            "submissions_per_pack": count,
            "sandboxed": "GradingEngine(sandbox=True): bubblewrap namespaces and mounts, setpriv to "
            "a dedicated uid (the grader runs as root), rlimits",
            "unsandboxed": "GradingEngine(sandbox=False): UnsandboxedRunner, the same harness in a "
            "plain subprocess with the same rlimits, so the ratio isolates bubblewrap, not process start",
            "order": "each submission graded both ways, the order alternating, after one warm-up each",
            "other_processes_cpu_share": "share of the machine's CPUs other processes took during "
            "the comparison (see benchlib.CpuMeter); both modes suffer it alike, being interleaved",
            "percentiles": PERCENTILE_METHOD,
        },
    }


def _grade_both_ways(engines: dict[str, Any], pack_id: str, subs: list[BenchSubmission]) -> dict[str, Any]:
    runs: dict[str, dict[str, list[Any]]] = {m: {"outcomes": [], "wall": []} for m in engines}
    for i, sub in enumerate(subs):
        modes = list(engines) if i % 2 == 0 else list(reversed(engines))  # no mode always goes first
        for mode in modes:
            outcome, took = timed(partial(engines[mode].grade, pack_id, sub.archive))
            runs[mode]["outcomes"].append(outcome)
            runs[mode]["wall"].append(took)
        progress(
            f"sandbox_cost {pack_id}: {i + 1}/{len(subs)} {sub.kind} sandboxed "
            f"{runs['sandboxed']['wall'][-1]:.2f} s, unsandboxed {runs['unsandboxed']['wall'][-1]:.2f} s"
        )
    return runs


def _compare_sandbox(engines: dict[str, Any], pack_id: str, subs: list[BenchSubmission]) -> dict[str, Any]:
    runs, _, cpu = metered(partial(_grade_both_ways, engines, pack_id, subs))
    wall = {mode: summary(run["wall"]) for mode, run in runs.items()}
    wrong = mismatches(runs["unsandboxed"]["outcomes"], runs["sandboxed"]["outcomes"])
    return {
        **wall,
        "ratio_p50_sandboxed_vs_unsandboxed": ratio(wall["sandboxed"]["p50_s"], wall["unsandboxed"]["p50_s"]),
        "ratio_mean_sandboxed_vs_unsandboxed": ratio(
            wall["sandboxed"]["mean_s"], wall["unsandboxed"]["mean_s"]
        ),
        "overhead_p50_ms": round(1000 * (wall["sandboxed"]["p50_s"] - wall["unsandboxed"]["p50_s"]), 1),
        "verdict_mismatches": wrong,
        "verdicts_identical": wrong == 0,
        "failed_gradings": sum(o.failed for run in runs.values() for o in run["outcomes"]),
        "other_processes_cpu_share": cpu["other_processes_cpu_share"],
    }
