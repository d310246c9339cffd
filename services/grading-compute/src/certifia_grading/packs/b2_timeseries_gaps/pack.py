"""Bloc 2 time-series gaps: hourly sensor readings (trend + daily cycle + noise) with holes of 1-12 hours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.common import as_vector


def build(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n = 24 * 60
    t = np.arange(n)
    truth = 20 + 0.002 * t + 4 * np.sin(2 * np.pi * t / 24) + 0.3 * rng.normal(size=n)
    gap = np.zeros(n, dtype=bool)
    while gap.mean() < 0.12:
        start, length = rng.integers(24, n - 24), rng.integers(1, 13)
        gap[start : start + length] = True
    observed = np.where(gap, np.nan, truth.round(3))
    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2024-01-01", periods=n, freq="h").astype(str), "value": observed}
    )
    return Dataset(
        inputs={"series": frame}, hidden={"truth": truth.round(3), "gap": gap, "observed": observed}
    )


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    h = dataset.hidden
    filled = submission.outputs["filled"]
    values = filled["value"] if hasattr(filled, "columns") and "value" in filled else filled
    got = as_vector(values, len(h["truth"]), "filled")
    gap = h["gap"]
    scale = float(np.std(h["truth"]))
    jumps = np.abs(np.diff(got))
    return {
        "gap_nrmse": float(np.sqrt(np.mean((got[gap] - h["truth"][gap]) ** 2)) / scale),
        "observed_values_changed": float(np.sum(np.abs(got[~gap] - h["observed"][~gap]) > 1e-6)),
        "max_step_ratio": float(jumps.max() / np.abs(np.diff(h["truth"])).max()),
    }
