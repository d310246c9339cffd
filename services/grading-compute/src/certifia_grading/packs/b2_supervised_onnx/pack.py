"""Bloc 2 supervised model as ONNX: breast cancer diagnosis (scikit-learn's bundled dataset, no download).

Positive class = malignant. The candidate trains on the public split (``public_seed``, pack.yaml) and
hands in an ONNX classifier; the trusted scorer runs it on the hidden set and compares it with a Gaussian
naive Bayes baseline. The hidden set is never rows of the public dataset: it is variants of the held-out
rows drawn under the grading secret (``seed``: packs.common.tabular_variants), in a secret order.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB

from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.common import binary_classification, run_classifier, tabular_variants


def build(seed: int, public_seed: int | None = None) -> Dataset:
    data = load_breast_cancer()
    x, y = data.data.astype(np.float32), (1 - data.target).astype(np.int64)
    split = (seed if public_seed is None else public_seed) % 2**32  # sklearn: a 32-bit random_state
    x_train, x_held, y_train, y_held = train_test_split(x, y, test_size=0.4, stratify=y, random_state=split)
    x_test, y_test = tabular_variants(x_held, y_held, np.random.default_rng(seed))
    baseline = GaussianNB().fit(x_train, y_train)
    return Dataset(
        inputs={"X": x_test},
        hidden={"y": y_test, "baseline_f1": float(f1_score(y_test, baseline.predict(x_test)))},
        public={"X_train": x_train, "y_train": y_train, "feature_names": list(data.feature_names)},
    )


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    x, y = dataset.inputs["X"], dataset.hidden["y"]
    label, proba = run_classifier(ctx, submission.model_bytes, {"X": x}, len(y))
    metrics: dict[str, float | None] = dict(binary_classification(y, label, proba[:, -1]))
    metrics["baseline_f1"] = dataset.hidden["baseline_f1"]
    metrics["f1_gain_vs_baseline"] = float(metrics["f1"] or 0.0) - dataset.hidden["baseline_f1"]
    return metrics
