"""Latency before / after compression, in one fixed configuration stated in pack.yaml.

onnxruntime on the CPU, one intra-op and one inter-op thread, default graph optimisations, the same batch
for every model. After a warm-up, the models run in turns (the order alternating each round) so that a
slow moment of a loaded machine falls on all of them alike; each model's latency is the median (p50) of
its runs. A time budget bounds the rounds (a deliberately slow model cannot hold the grader): a normal
model never reaches it, a model that does is timed on the rounds done (at least MIN_RUNS).
"""

from __future__ import annotations

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


def p50_ms(
    models: dict[str, bytes], feeds: dict[str, np.ndarray], config: LatencyConfig, *, timer: Any = None
) -> dict[str, float]:
    """Median wall-clock milliseconds of one run of each model on ``feeds``, runs interleaved: in the
    sandbox through ``timer`` (certifia_grading.engine.sandboxed_inference), else (the unsandboxed
    benchmark comparison only) here, with the same loop (certifia_grading.engine.model_runner)."""
    if timer is not None:
        from certifia_grading.engine.sandboxed_inference import LatencySettings

        settings = LatencySettings(config.warmup, config.runs, config.budget_s, config.threads)
        result: dict[str, float] = timer.latency_p50(models, feeds, settings)
        return result
    from certifia_grading.engine import model_runner

    try:
        sessions = {name: model_runner.session(data, config.threads) for name, data in models.items()}
        return model_runner.p50_ms(
            sessions,
            feeds,
            warmup=config.warmup,
            runs=config.runs,
            budget_s=config.budget_s,
            min_runs=MIN_RUNS,
        )
    except Exception:  # a model that cannot be timed is the submission's problem
        raise SubmissionError("the model could not be timed") from None
