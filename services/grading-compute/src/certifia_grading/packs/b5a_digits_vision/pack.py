"""Bloc 5A image recognition: 8x8 handwritten digits (scikit-learn's bundled load_digits, no download).

The candidate trains on the public split (``public_seed``, pack.yaml); the hidden set is never images of
the public dataset: it is variants of the held-out images drawn under the grading secret (``seed``:
packs.common.digit_variants), in a secret order.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.common import digit_variants, run_classifier


def build(seed: int, public_seed: int | None = None) -> Dataset:
    data = load_digits()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    split = (seed if public_seed is None else public_seed) % 2**32  # sklearn: a 32-bit random_state
    x_train, x_held, y_train, y_held = train_test_split(x, y, test_size=0.3, stratify=y, random_state=split)
    x_test, y_test = digit_variants(x_held, y_held, np.random.default_rng(seed))
    return Dataset(
        inputs={"X": x_test}, hidden={"y": y_test}, public={"X_train": x_train, "y_train": y_train}
    )


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    y = dataset.hidden["y"]
    label, _proba = run_classifier(ctx, submission.model_bytes, {"X": dataset.inputs["X"]}, len(y))
    per_class = f1_score(y, label, average=None, labels=list(range(10)), zero_division=0)
    return {
        "accuracy": float(accuracy_score(y, label)),
        "macro_f1": float(f1_score(y, label, average="macro", zero_division=0)),
        "worst_class_f1": float(np.min(per_class)),
    }
