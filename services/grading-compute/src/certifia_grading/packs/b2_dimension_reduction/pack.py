"""Bloc 2 dimension reduction: 40 observed features generated from 6 latent factors plus redundancy and noise.

The scorer measures how much of the (standardised) data's variance the candidate's components keep: the
share explained by the best linear reconstruction of the data from the components (least squares).
"""

from __future__ import annotations

import numpy as np

from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.common import as_matrix


def build(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n, k, d = 600, 6, 40
    latent = rng.normal(size=(n, k)) * np.array([3.0, 2.5, 2.0, 1.6, 1.3, 1.0])
    mixing = rng.normal(size=(k, d))
    x = latent @ mixing + 0.3 * rng.normal(size=(n, d))
    return Dataset(inputs={"x": x.round(5)}, hidden={"d": d})


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    x = dataset.inputs["x"]
    z = as_matrix(submission.outputs["components"], len(x), "components")
    xs = (x - x.mean(axis=0)) / x.std(axis=0)
    zc = np.column_stack([z - z.mean(axis=0), np.ones(len(z))])
    coef, *_ = np.linalg.lstsq(zc, xs, rcond=None)
    residual = xs - zc @ coef
    kept = 1.0 - float(np.sum(residual**2) / np.sum(xs**2))
    return {
        "variance_kept": kept,
        "dimensions_kept": float(z.shape[1]),
        "dimension_ratio": z.shape[1] / dataset.hidden["d"],
    }
