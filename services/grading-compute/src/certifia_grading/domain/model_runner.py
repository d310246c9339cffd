"""Runs a candidate's ONNX model inside the sandbox: load it, run it on the inputs given, time it; writes
the outputs for the trusted scorer outside. Standalone on purpose (numpy and onnxruntime only): it is
copied into the sandbox and started with ``python -I -B``, where the project's packages do not exist.

    python -I -B model_runner.py job.json

job.json: {"mode": "predict" | "latency", "models": {name: path}, "feeds": path to an .npz,
"threads": 1, "gpu": false, "latency": {"warmup", "runs", "budget_s", "min_runs"}}.
It hands back, through the pipe whose write end the sandbox inherited (``$CERTIFIA_RESULT_FD``, capped by
the sandbox at the pack's ``max_output_mb``), ``result.json`` ({"status": "ok"} or {"status": "<what
failed>"}: never the exception's text, which may quote what a hostile model made onnxruntime read) and, for
"predict", ``outputs.npz``, framed like the code harness's outputs (MAGIC, then per file a 4-byte name
length, the name, an 8-byte data length and the data). Nothing is written to a host folder: the working
folder is a size-bounded tmpfs that disappears with the sandbox.
Exit codes: 0 ok, 20 load failed, 21 run failed, 22 bad job.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Any

LOAD_FAILED, RUN_FAILED, BAD_JOB = 20, 21, 22
MAGIC = b"CERTIFIA-OUTPUTS/1\n"  # execution.MAGIC: one framing for everything a sandbox hands back
_CHANNEL = int(os.environ.pop("CERTIFIA_RESULT_FD", "-1"))  # out of the model's process environment
CUDA_PROVIDER = ("CUDAExecutionProvider", {"use_tf32": "0", "cudnn_conv_algo_search": "HEURISTIC"})


def session(model: bytes, threads: int, gpu: bool = False) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 4  # nothing: its messages may quote the model's content
    providers: list[Any] = [CUDA_PROVIDER, "CPUExecutionProvider"] if gpu else ["CPUExecutionProvider"]
    return ort.InferenceSession(model, sess_options=options, providers=providers)


def p50_ms(
    sessions: dict[str, Any], feeds: dict[str, Any], *, warmup: int, runs: int, budget_s: float, min_runs: int
) -> dict[str, float]:
    """Median wall-clock milliseconds of one run of each session on ``feeds``, the runs interleaved (the
    order alternating each round) so that a slow moment falls on all of them alike; a time budget bounds
    the rounds (at least ``min_runs``)."""
    import numpy as np

    for _ in range(warmup):
        for s in sessions.values():
            s.run(None, feeds)
    times: dict[str, list[float]] = {name: [] for name in sessions}
    order = list(sessions)
    deadline = time.perf_counter() + budget_s
    for i in range(runs):
        if i >= min_runs and time.perf_counter() > deadline:
            break
        for name in order if i % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            sessions[name].run(None, feeds)
            times[name].append(time.perf_counter() - started)
    return {name: 1000.0 * float(np.median(values)) for name, values in times.items()}


def _finish(status: str, code: int, outputs: bytes | None = None, **extra: Any) -> int:
    frames = [("result.json", json.dumps({"status": status, **extra}).encode("utf-8"))]
    if outputs is not None:
        frames.append(("outputs.npz", outputs))
    if _CHANNEL >= 0:
        with os.fdopen(_CHANNEL, "wb") as fh:
            fh.write(MAGIC)
            for name, data in frames:
                raw = name.encode("utf-8")
                fh.write(len(raw).to_bytes(4, "big") + raw + len(data).to_bytes(8, "big"))
                fh.write(data)
    return code


def main(job_path: str) -> int:
    import numpy as np

    try:
        with open(job_path, encoding="utf-8") as f:
            job = json.load(f)
        with np.load(job["feeds"], allow_pickle=False) as data:
            feeds = {k: data[k] for k in data.files}
        models = {}
        for name, path in job["models"].items():
            with open(path, "rb") as f:
                models[name] = f.read()
    except Exception:
        return BAD_JOB
    started = time.perf_counter()
    try:
        sessions = {
            name: session(m, int(job.get("threads", 1)), bool(job.get("gpu"))) for name, m in models.items()
        }
    except Exception:
        return _finish("load_failed", LOAD_FAILED)
    loaded_s = time.perf_counter() - started
    try:
        if job["mode"] == "latency":
            lat = job["latency"]
            times = p50_ms(
                sessions,
                feeds,
                warmup=int(lat["warmup"]),
                runs=int(lat["runs"]),
                budget_s=float(lat["budget_s"]),
                min_runs=int(lat["min_runs"]),
            )
            return _finish("ok", 0, load_s=loaded_s, p50_ms=times)
        [(name, s)] = sessions.items()
        names = [o.name for o in s.get_outputs()]
        values = s.run(names, feeds)
        arrays = {n: np.asarray(v) for n, v in zip(names, values, strict=True)}
        if any(a.dtype == object for a in arrays.values()):
            return _finish("run_failed", RUN_FAILED)  # only plain arrays leave the sandbox
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
    except Exception:
        return _finish("run_failed", RUN_FAILED)
    return _finish("ok", 0, buffer.getvalue(), load_s=loaded_s)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
