"""Bloc 1 bias mitigation: credit decisions learned from historically biased labels.

Synthetic applicants: the true repayment outcome depends on four financial features only, identically
for both groups. Historical labels (the training data) under-record good outcomes of group 1; a proxy
feature (``district_score``) leaks the group. The hidden test labels are the TRUE outcomes, so a model
that copies the historical bias is both unfair (demographic parity, equalized odds) and less accurate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.common import (
    as_vector,
    demographic_parity_difference,
    equalized_odds_difference,
)

FEATURES = ["income", "debt_ratio", "savings", "seniority", "district_score"]


def _population(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    group = (rng.random(n) < 0.4).astype(int)
    x = rng.normal(size=(n, 4))
    logit = 1.2 * x[:, 0] - 1.0 * x[:, 1] + 0.8 * x[:, 2] + 0.5 * x[:, 3]
    y = (logit + 0.6 * rng.normal(size=n) > 0).astype(int)
    frame = pd.DataFrame(x, columns=FEATURES[:4]).round(4)
    frame["district_score"] = (group + 0.35 * rng.normal(size=n)).round(4)
    frame.insert(0, "group", group)
    return frame, y


def build(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    train, y_true_train = _population(rng, 3000)
    flip = (train["group"].to_numpy() == 1) & (y_true_train == 1) & (rng.random(len(train)) < 0.45)
    train["approved"] = np.where(flip, 0, y_true_train)
    test, y_test = _population(rng, 2000)
    naive = LogisticRegression(max_iter=1000).fit(train[["group", *FEATURES]], train["approved"])
    naive_pred = naive.predict(test[["group", *FEATURES]])
    return Dataset(
        inputs={"train": train, "test": test},
        hidden={
            "y": y_test,
            "group": test["group"].to_numpy(),
            "naive_accuracy": float(np.mean(naive_pred == y_test)),
        },
    )


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    y, group = dataset.hidden["y"], dataset.hidden["group"]
    pred = as_vector(submission.outputs["predictions"], len(y), "predictions")
    if not np.all(np.isin(pred, (0, 1))):
        return {"accuracy": None, "demographic_parity_difference": None, "equalized_odds_difference": None}
    pred = pred.astype(int)
    accuracy = float(np.mean(pred == y))
    return {
        "accuracy": accuracy,
        "accuracy_vs_naive": accuracy - dataset.hidden["naive_accuracy"],
        "selection_rate_group_0": float(np.mean(pred[group == 0])),
        "selection_rate_group_1": float(np.mean(pred[group == 1])),
        "demographic_parity_difference": demographic_parity_difference(pred, group),
        "equalized_odds_difference": equalized_odds_difference(y, pred, group),
    }
