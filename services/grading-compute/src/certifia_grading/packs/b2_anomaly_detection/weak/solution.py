"""Weak submission for b2_anomaly_detection: per-column z-scores as the anomaly score, a non-negativity check
as the range check, completeness over the whole table (no per-batch view, so no batch ever alerts)."""

import pandas as pd


def audit(orders, schema):
    numeric = orders.select_dtypes("number").astype(float)
    z = ((numeric - numeric.mean()) / numeric.std()).abs().max(axis=1).fillna(0.0)
    negative = (numeric < 0).any(axis=1)
    columns = list(schema["columns"])
    overall = orders[columns].notna().mean()
    batches = sorted(orders[schema["batch_column"]].unique())
    completeness = pd.DataFrame([{"batch": b, **overall.to_dict()} for b in batches])
    thresholds = pd.Series({c: schema["columns"][c]["min_completeness"] for c in columns})
    alerts = batches if (overall < thresholds).any() else []
    return {
        "anomaly_score": z.to_numpy(),
        "out_of_range": negative.to_numpy(),
        "completeness": completeness,
        "alerts": alerts,
    }
