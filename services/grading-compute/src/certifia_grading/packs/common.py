"""Metrics shared by the packs' trusted scorers (checked against scikit-learn in the tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from certifia_grading.domain.model import SubmissionError

DIGIT_MAX = 16.0  # load_digits: 8x8 images, intensities 0..16


def as_vector(value: Any, n: int, name: str, *, dtype: Any = float) -> np.ndarray:
    """A 1-D array of length n (a column vector is flattened), or SubmissionError."""
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise SubmissionError(f"output {name!r} must be numeric") from None
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.shape != (n,):
        raise SubmissionError(f"output {name!r} must have shape ({n},), got {array.shape}")
    if dtype is float and not np.all(np.isfinite(array)):
        raise SubmissionError(f"output {name!r} contains NaN or infinite values")
    return array


def as_matrix(value: Any, n: int, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise SubmissionError(f"output {name!r} must be numeric") from None
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[0] != n:
        raise SubmissionError(f"output {name!r} must have {n} rows, got shape {array.shape}")
    return array


def binary_classification(
    y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray | None
) -> dict[str, float]:
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    out = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
    }
    if score is not None:
        out["roc_auc"] = skm.roc_auc_score(y_true, score)
    return {k: float(v) for k, v in out.items()}


def selection_rate(y_pred: np.ndarray) -> float:
    return float(np.mean(y_pred)) if len(y_pred) else 0.0


def demographic_parity_difference(y_pred: np.ndarray, groups: np.ndarray) -> float:
    """max - min over groups of P(y_pred = 1 | group) (fairlearn's definition)."""
    rates = [selection_rate(y_pred[groups == g]) for g in np.unique(groups)]
    return float(max(rates) - min(rates))


def equalized_odds_difference(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray) -> float:
    """max(TPR gap, FPR gap) between groups (fairlearn's equalized_odds_difference)."""
    tprs, fprs = [], []
    for g in np.unique(groups):
        yt, yp = y_true[groups == g], y_pred[groups == g]
        tprs.append(float(np.mean(yp[yt == 1])) if np.any(yt == 1) else 0.0)
        fprs.append(float(np.mean(yp[yt == 0])) if np.any(yt == 0) else 0.0)
    return float(max(max(tprs) - min(tprs), max(fprs) - min(fprs)))


def run_classifier(
    ctx: Any, model: bytes, inputs: dict[str, np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Run a candidate ONNX classifier through the trusted backend: (labels (n,), probabilities (n, k))."""
    try:
        outputs = ctx.inference.predict(model, inputs)
    except SubmissionError:
        raise
    except Exception:  # the model's failure to run is the submission's; its text may quote what it read
        raise SubmissionError("the model could not be run on the evaluation inputs") from None
    label = outputs.get("label")
    proba = outputs.get("probabilities")
    if label is None or proba is None:
        raise SubmissionError(f"the model must output 'label' and 'probabilities', got {sorted(outputs)}")
    label = as_vector(label, n, "label", dtype=np.int64)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[0] != n or not np.all(np.isfinite(proba)):
        raise SubmissionError(f"'probabilities' must be a finite ({n}, k) array, got {proba.shape}")
    return label, proba


# -- hidden variants of a public dataset ---------------------------------------------------------------
# A pack built on a dataset anyone can load never scores on its rows as they are: it scores on variants
# drawn under the effective seed (domain.hidden), which memorising the public rows does not answer.


def _partners_within_class(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row, another row of its class drawn with ``rng`` (itself when it is alone in its class)."""
    partners = np.arange(len(y))
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) > 1:  # a shift in 1..len-1 of a random permutation never maps a row to itself
            order = rng.permutation(rows)
            partners[order] = np.roll(order, int(rng.integers(1, len(rows))))
    return partners


def tabular_variants(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, mix: float = 0.1, noise: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """New rows of the same classes as (x, y): each row moved by up to ``mix`` of the way towards (or
    away from) another row of its class, plus Gaussian noise of ``noise`` times each feature's spread;
    values stay within the features' observed range. Shuffled. The moves go both ways, so the classes
    keep their spread (moving only towards each other makes the task easier: a one-split stump then
    passed), and every row is used once (drawing with replacement let a weak model pass on lucky draws)."""
    partners = _partners_within_class(y, rng)
    base = x.astype(np.float64)
    step = rng.uniform(-mix, mix, size=(len(x), 1))
    moved = base + step * (x[partners] - base)
    moved += rng.normal(size=moved.shape) * noise * x.std(axis=0)
    moved = np.clip(moved, x.min(axis=0), x.max(axis=0))
    order = rng.permutation(len(x))
    return moved[order].astype(x.dtype), y[order]


def digit_variants(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, mix: float = 0.2, noise: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """New 8x8 digit images of the same classes as (x, y): each image blended by up to ``mix`` with (or
    away from) another image of its digit, its ink scaled by 0.9-1.1, plus Gaussian noise of ``noise``
    on the inked pixels (intensities 0..16, clipped; the blank border stays blank, as in the dataset).
    Shuffled. No rotation or shift: on an 8x8 grid, 3 degrees or 0.4 pixel (bilinear) cost a model
    trained on the public images 10 to 30 points of accuracy, which would fail honest submissions."""
    partners = _partners_within_class(y, rng)
    base = x.astype(np.float64)
    images = base + rng.uniform(-mix, mix, size=(len(x), 1)) * (x[partners] - base)
    images *= rng.uniform(0.9, 1.1, size=(len(x), 1))
    images += rng.normal(size=images.shape) * noise * (images > 0.5)
    images = np.clip(images, 0.0, DIGIT_MAX)
    order = rng.permutation(len(x))
    return images[order].astype(x.dtype), y[order]
