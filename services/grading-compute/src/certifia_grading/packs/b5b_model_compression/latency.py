"""Latency before / after compression, in one fixed configuration stated in pack.yaml.

onnxruntime on the CPU, one intra-op and one inter-op thread, default graph optimisations, the same batch
for every model. After a warm-up, the models run in turns (the order alternating each round) so that a
slow moment of a loaded machine falls on all of them alike; each model's latency is the median (p50) of
its runs. A time budget bounds the rounds (a deliberately slow model cannot hold the grader): a normal
model never reaches it, a model that does is timed on the rounds done (at least MIN_RUNS).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from certifia_grading.engine.model import SubmissionError

MIN_RUNS = 3


@dataclass(frozen=True)
class LatencyConfig:
    warmup: int
    runs: int
    threads: int = 1
    budget_s: float = 20.0  # wall-clock seconds for the timed rounds

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> LatencyConfig:
        config = cls(
            warmup=int(raw["warmup"]),
            runs=int(raw["runs"]),
            threads=int(raw.get("threads", 1)),
            budget_s=float(raw.get("budget_s", 20.0)),
        )
        if config.runs < MIN_RUNS or config.warmup < 0 or config.threads < 1 or config.budget_s <= 0:
            raise ValueError(f"invalid latency configuration {raw!r}")
        return config


def _session(model_bytes: bytes, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])


def p50_ms(models: dict[str, bytes], feeds: dict[str, np.ndarray], config: LatencyConfig) -> dict[str, float]:
    """Median wall-clock milliseconds of one run of each model on ``feeds``, runs interleaved."""
    try:
        sessions = {name: _session(data, config.threads) for name, data in models.items()}
        for _ in range(config.warmup):
            for session in sessions.values():
                session.run(None, feeds)
        times: dict[str, list[float]] = {name: [] for name in sessions}
        order = list(sessions)
        deadline = time.perf_counter() + config.budget_s
        for i in range(config.runs):
            if i >= MIN_RUNS and time.perf_counter() > deadline:
                break
            for name in order if i % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                sessions[name].run(None, feeds)
                times[name].append(time.perf_counter() - started)
    except Exception as exc:  # a model that cannot be timed is the submission's problem
        raise SubmissionError(f"the model could not be timed: {type(exc).__name__}: {exc}"[:400]) from None
    return {name: 1000.0 * float(np.median(values)) for name, values in times.items()}
