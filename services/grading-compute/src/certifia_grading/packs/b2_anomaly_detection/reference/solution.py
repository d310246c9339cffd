"""Reference for b2_anomaly_detection: schema range checks, per-batch completeness against each column's
threshold, and an IsolationForest on features that encode how an order's columns must agree."""

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import RobustScaler


def out_of_range(orders, rules):
    bad = np.zeros(len(orders), dtype=bool)
    for col, rule in rules.items():
        values = orders[col]
        if rule["type"] == "category":
            inside = values.isin(rule["allowed"])
        elif rule["type"] == "datetime":
            t = pd.to_datetime(values, errors="coerce")
            inside = (t >= pd.Timestamp(rule["min"])) & (t <= pd.Timestamp(rule["max"]))
        else:
            x = pd.to_numeric(values, errors="coerce")
            inside = (x >= rule["min"]) & (x <= rule["max"])
        bad |= (values.notna() & ~inside).to_numpy()  # a gap is incomplete, not out of range
    return bad


def coherence_features(orders):
    """Log ratios near 0 for a coherent order: billed vs expected amount, weight per item vs its category's."""
    q = orders["quantity"].astype(float)
    expected = q * orders["unit_price"] * (1 - orders["discount_rate"])
    unit_weight = np.log(orders["shipping_weight_kg"] / q)
    return pd.DataFrame(
        {
            "amount_ratio": np.log(orders["amount"] / expected),
            "unit_weight": unit_weight - unit_weight.groupby(orders["category"]).transform("median"),
        }
    )


def anomaly_score(orders, bad):
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = coherence_features(orders).replace([np.inf, -np.inf], np.nan)
    usable = feats.notna().all(axis=1).to_numpy() & ~bad
    x = RobustScaler().fit(feats[usable]).transform(feats.fillna(feats[usable].median()))
    # larger subsamples than the default 256 keep the shipping-fee tail of small orders from looking rare
    forest = IsolationForest(n_estimators=300, max_samples=512, random_state=0).fit(x[usable])
    return -forest.score_samples(x)  # higher = more anomalous


def audit(orders, schema):
    rules, batch = schema["columns"], orders[schema["batch_column"]]
    bad = out_of_range(orders, rules)
    completeness = orders[list(rules)].notna().groupby(batch).mean()
    thresholds = pd.Series({col: rule["min_completeness"] for col, rule in rules.items()})
    alerts = completeness.index[(completeness < thresholds).any(axis=1)].tolist()
    return {
        "anomaly_score": anomaly_score(orders, bad),
        "out_of_range": bad,
        "completeness": completeness.reset_index(),
        "alerts": alerts,
    }
