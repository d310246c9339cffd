"""Reference for b1_bias_mitigation: drop the sensitive attribute and its proxy, reweigh group x label."""

import numpy as np
from sklearn.linear_model import LogisticRegression

FAIR_FEATURES = ["income", "debt_ratio", "savings", "seniority"]


def fit_predict(train, test):
    group, label = train["group"].to_numpy(), train["approved"].to_numpy()
    weights = np.ones(len(train))
    for g in (0, 1):
        for y in (0, 1):
            cell = (group == g) & (label == y)
            expected = np.mean(group == g) * np.mean(label == y)
            weights[cell] = expected / max(np.mean(cell), 1e-9)
    model = LogisticRegression(max_iter=1000)
    model.fit(train[FAIR_FEATURES], label, sample_weight=weights)
    scores = model.predict_proba(test[FAIR_FEATURES])[:, 1]
    return (scores > 0.42).astype(int)
