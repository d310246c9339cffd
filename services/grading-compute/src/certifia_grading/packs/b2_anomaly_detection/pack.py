"""Bloc 2 data quality (2.EV3): 30 daily batches of e-commerce orders checked against a declared schema.

Three kinds of defects are planted, each with its own ground truth:
- incoherent orders (amount far from quantity x unit price x (1 - discount), or a parcel weight that does not
  fit the quantity and category) whose every value stays inside its column's usual range, so that only a
  detector looking at the columns jointly ranks them first;
- values outside the ranges or categories the schema declares;
- missing cells at a low rate everywhere and at a high rate in a few (batch, column) incidents.
The candidate gets the table and the schema; labels, injected rows and the true completeness stay hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from certifia_grading.engine.model import SubmissionError
from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.common import as_vector

START, N_BATCHES = "2024-03-01", 30
# category: (median unit price in EUR, log-sd of the price, median unit weight in kg)
CATEGORIES = {
    "electronique": (150.0, 0.9, 0.9),
    "maison": (40.0, 0.8, 2.5),
    "mode": (35.0, 0.6, 0.4),
    "sport": (45.0, 0.8, 1.2),
    "beaute": (20.0, 0.6, 0.3),
    "livres": (15.0, 0.4, 0.5),
}
PAYMENTS = ["carte", "paypal", "virement", "paiement_3x"]
# column: (schema rule, usual missing rate)
COLUMNS: dict[str, tuple[dict[str, Any], float]] = {
    "order_date": ({"type": "datetime", "min": f"{START}T00:00:00", "max": "2024-03-30T23:59:59"}, 0.003),
    "category": ({"type": "category", "allowed": sorted(CATEGORIES)}, 0.004),
    "payment_method": ({"type": "category", "allowed": PAYMENTS}, 0.01),
    "quantity": ({"type": "integer", "min": 1, "max": 100}, 0.003),
    "unit_price": ({"type": "number", "min": 0.5, "max": 5000}, 0.004),
    "discount_rate": ({"type": "number", "min": 0.0, "max": 0.9}, 0.01),
    "amount": ({"type": "number", "min": 0.5, "max": 100000}, 0.003),
    "shipping_weight_kg": ({"type": "number", "min": 0.01, "max": 300}, 0.02),
    "delivery_days": ({"type": "integer", "min": 0, "max": 60}, 0.03),
    "customer_age": ({"type": "integer", "min": 18, "max": 110}, 0.06),
}
MIN_COMPLETENESS = {"payment_method": 0.95, "discount_rate": 0.95, "shipping_weight_kg": 0.93}
MIN_COMPLETENESS |= {"delivery_days": 0.9, "customer_age": 0.85}  # the other columns: 0.98
MARGIN = 0.012  # no (batch, column) completeness closer than this to its alert threshold
Rule = Callable[[np.random.Generator, Any], Any]
VIOLATIONS: list[tuple[str, Rule]] = [
    ("quantity", lambda r, v: -int(r.integers(1, 4))),
    ("quantity", lambda r, v: 0),
    ("quantity", lambda r, v: int(r.integers(150, 1000))),
    ("unit_price", lambda r, v: -v),
    ("unit_price", lambda r, v: 0.0),
    ("unit_price", lambda r, v: round(float(r.uniform(12000, 90000)), 2)),
    ("discount_rate", lambda r, v: float(r.choice([10, 15, 20, 30]))),  # a percentage typed as a rate
    ("discount_rate", lambda r, v: -0.1),
    ("discount_rate", lambda r, v: 1.2),
    ("amount", lambda r, v: -v),  # a refund booked as an order
    ("amount", lambda r, v: round(float(r.uniform(150000, 900000)), 2)),
    ("shipping_weight_kg", lambda r, v: 0.0),
    ("shipping_weight_kg", lambda r, v: round(float(r.uniform(400, 5000)), 1)),
    ("delivery_days", lambda r, v: -int(r.integers(1, 6))),
    ("delivery_days", lambda r, v: int(r.integers(90, 400))),
    ("customer_age", lambda r, v: int(r.integers(1, 16))),
    ("customer_age", lambda r, v: int(r.integers(120, 1000))),
    ("category", lambda r, v: str(r.choice(["jardin", "ELECTRONIQUE", "electronics", "inconnu"]))),
    ("payment_method", lambda r, v: str(r.choice(["cheque", "crypto", "Carte"]))),
    ("order_date", lambda r, v: str(int(v[:4]) - 1) + v[4:]),  # wrong year typed
    ("order_date", lambda r, v: str(int(v[:4]) + 10) + v[4:]),
]


def schema() -> dict[str, Any]:
    cols = {
        c: {**rule, "min_completeness": MIN_COMPLETENESS.get(c, 0.98)} for c, (rule, _) in COLUMNS.items()
    }
    return {"batch_column": "batch", "id_column": "order_id", "columns": cols}


def _clean_orders(rng: np.random.Generator) -> dict[str, np.ndarray]:
    sizes = rng.integers(110, 190, N_BATCHES)
    day = np.repeat(np.arange(N_BATCHES), sizes)
    n = len(day)
    seconds = rng.integers(0, 86400, n)
    seconds = seconds[np.lexsort((seconds, day))]  # chronological inside each batch
    days = pd.date_range(START, periods=N_BATCHES, freq="D")
    stamp = days[day] + pd.to_timedelta(seconds, unit="s")
    cat = rng.choice(list(CATEGORIES), n, p=[0.2, 0.18, 0.22, 0.14, 0.12, 0.14])
    par = np.array([CATEGORIES[c] for c in cat])
    price = np.round(par[:, 0] * np.exp(par[:, 1] * rng.normal(size=n)), 2).clip(1, 4000)
    qty = rng.geometric(0.55, n).clip(1, 12).astype(float)
    disc = np.where(rng.random(n) < 0.6, 0.0, rng.choice([0.05, 0.1, 0.15, 0.2, 0.3, 0.5], n))
    subtotal = qty * price * (1 - disc)
    return {
        "order_id": np.array([f"CMD{i:06d}" for i in range(n)], dtype=object),
        "batch": np.asarray(days[day].strftime("%Y-%m-%d"), dtype=object),
        "order_date": np.asarray(stamp.strftime("%Y-%m-%d %H:%M:%S"), dtype=object),
        "category": cat.astype(object),
        "payment_method": rng.choice(PAYMENTS, n, p=[0.55, 0.25, 0.1, 0.1]).astype(object),
        "quantity": qty,
        "unit_price": price,
        "discount_rate": disc,
        "amount": np.round(subtotal + np.where(subtotal < 60, 4.9, 0.0), 2),  # shipping fee on small orders
        "shipping_weight_kg": np.round(qty * par[:, 2] * np.exp(0.3 * rng.normal(size=n)) + 0.2, 3),
        "delivery_days": (1 + rng.poisson(2.5, n)).clip(1, 20).astype(float),
        "customer_age": rng.normal(40, 13, n).clip(18, 90).round(),
    }


def _missing_count(size: int, target: float, threshold: float, alert: bool) -> int:
    count = max(round((1 - target) * size), 0)
    while (1 - count / size >= threshold - MARGIN) if alert else (1 - count / size <= threshold + MARGIN):
        count += 1 if alert else -1
    return count


def _missing(rng: np.random.Generator, batch: np.ndarray) -> np.ndarray:
    """(n, columns) mask: usual rates, 5 batches with 1-2 columns under their threshold, 2 near misses."""
    names = list(COLUMNS)
    labels, starts, sizes = np.unique(batch, return_index=True, return_counts=True)
    picked = rng.choice(len(labels), 7, replace=False)
    incident = {
        int(b): set(rng.choice(len(names), int(rng.integers(1, 3)), replace=False).tolist())
        for b in picked[:5]
    }
    lenient = [j for j, c in enumerate(names) if c in MIN_COMPLETENESS]  # room above their threshold
    near = {int(b): {int(rng.choice(lenient))} for b in picked[5:]}
    mask = np.zeros((len(batch), len(names)), dtype=bool)
    for b, (start, size) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
        for j, col in enumerate(names):
            thr = MIN_COMPLETENESS.get(col, 0.98)
            if j in incident.get(b, ()):
                count = _missing_count(size, thr - rng.uniform(0.03, 0.35), thr, alert=True)
            elif j in near.get(b, ()):
                count = _missing_count(size, thr + rng.uniform(0.015, 0.03), thr, alert=False)
            else:
                count = _missing_count(size, 1 - COLUMNS[col][1] * rng.uniform(0.3, 1.5), thr, alert=False)
            mask[start + rng.choice(size, count, replace=False), j] = True
    return mask


def _table_hides_the_alerts(mask: np.ndarray) -> bool:
    """Every column of the whole table meets its threshold (an alert must need the per-batch view)."""
    thresholds = np.array([MIN_COMPLETENESS.get(c, 0.98) for c in COLUMNS])
    return bool(np.all(1 - mask.mean(axis=0) >= thresholds))


def _inject_anomalies(rng: np.random.Generator, data: dict[str, np.ndarray], rows: np.ndarray) -> None:
    """Scale the amount (x3-6) or the weight (x4-8) towards the column's median: in range, jointly wrong."""
    medians = {c: float(np.median(data[c])) for c in ("amount", "shipping_weight_kg")}
    for k, i in enumerate(rows):
        col, low, high, digits = ("amount", 3, 6, 2) if k % 2 == 0 else ("shipping_weight_kg", 4, 8, 3)
        factor, value = rng.uniform(low, high), data[col][i]
        data[col][i] = round(value / factor if value > medians[col] else value * factor, digits)


def range_violations(table: pd.DataFrame, rules: dict[str, dict[str, Any]]) -> np.ndarray:
    """Rows holding at least one present value outside its column's declared range or categories."""
    bad = np.zeros(len(table), dtype=bool)
    for col, rule in rules.items():
        values = table[col]
        if rule["type"] == "category":
            inside = values.isin(rule["allowed"]).to_numpy()
        elif rule["type"] == "datetime":
            t = pd.to_datetime(values, errors="coerce")
            inside = ((t >= pd.Timestamp(rule["min"])) & (t <= pd.Timestamp(rule["max"]))).to_numpy()
        else:
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            inside = (x >= rule["min"]) & (x <= rule["max"])
        bad |= values.notna().to_numpy() & ~inside
    return bad


def build(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    data = _clean_orders(rng)
    n, names = len(data["batch"]), list(COLUMNS)
    mask = _missing(rng, data["batch"])
    while not _table_hides_the_alerts(mask):  # seeds derive from the grading secret: any seed must do
        mask = _missing(rng, data["batch"])
    candidates = rng.permutation(np.flatnonzero(~mask.any(axis=1)))
    n_anomalies, n_violations = int(0.025 * len(candidates)), int(0.035 * n)
    anomalies = np.sort(candidates[:n_anomalies])
    _inject_anomalies(rng, data, anomalies)
    broken = candidates[n_anomalies : n_anomalies + n_violations]
    kinds = rng.permutation(np.resize(np.arange(len(VIOLATIONS)), n_violations))
    for i, kind in zip(broken, kinds, strict=True):
        col, rule = VIOLATIONS[kind]
        data[col][i] = rule(rng, data[col][i])
    for j, col in enumerate(names):
        data[col] = data[col].copy()
        data[col][mask[:, j]] = None if data[col].dtype == object else np.nan
    table = pd.DataFrame(data)
    for col in ("quantity", "delivery_days", "customer_age"):
        table[col] = table[col].astype("Int64")
    injected = np.zeros(n, dtype=bool)
    injected[broken] = True
    is_anomaly = np.zeros(n, dtype=bool)
    is_anomaly[anomalies] = True
    completeness = table[names].notna().groupby(table["batch"]).mean()
    thresholds = pd.Series({c: MIN_COMPLETENESS.get(c, 0.98) for c in names})
    hidden = {
        "is_anomaly": is_anomaly,
        "evaluated": ~mask.any(axis=1) & ~injected,  # complete, in-range rows: where E2 is measured
        "out_of_range": range_violations(table, schema()["columns"]),
        "injected": injected,
        "violation_kinds": dict(zip(broken.tolist(), kinds.tolist(), strict=True)),
        "completeness": completeness,
        "alerts": sorted(completeness.index[(completeness < thresholds).any(axis=1)]),
    }
    return Dataset(inputs={"orders": table, "schema": schema()}, hidden=hidden)


def _batch_id(value: Any) -> str:
    """A batch id as the table writes it; a day parsed to a timestamp ("2024-03-09 00:00:00") still counts."""
    text = str(value)
    return text[:10] if len(text) == 19 and text.endswith("00:00:00") else text


def _anomalies(value: Any, h: dict[str, Any]) -> dict[str, float | None]:
    score = as_vector(value, len(h["is_anomaly"]), "anomaly_score")
    y, s = h["is_anomaly"][h["evaluated"]], score[h["evaluated"]]
    return {
        "anomaly_roc_auc": float(skm.roc_auc_score(y, s)),
        "anomaly_average_precision": float(skm.average_precision_score(y, s)),
    }


def _ranges(value: Any, h: dict[str, Any]) -> dict[str, float | None]:
    flags = as_vector(value, len(h["out_of_range"]), "out_of_range")
    if not np.all((flags == 0) | (flags == 1)):
        raise SubmissionError("output 'out_of_range' must hold one boolean (or 0/1) per row")
    return {
        "out_of_range_precision": float(skm.precision_score(h["out_of_range"], flags, zero_division=0)),
        "out_of_range_recall": float(skm.recall_score(h["out_of_range"], flags, zero_division=0)),
    }


def _completeness(frame: Any, h: dict[str, Any]) -> dict[str, float | None]:
    truth: pd.DataFrame = h["completeness"]
    if not isinstance(frame, pd.DataFrame) or "batch" not in frame.columns:
        raise SubmissionError(
            "output 'completeness' must be a table with a 'batch' column (did you forget reset_index()?)"
        )
    batches = frame["batch"].map(_batch_id)
    absent = sorted(set(truth.index) - set(batches))
    missing_cols = [c for c in truth.columns if c not in frame.columns]
    if batches.duplicated().any() or absent or missing_cols:
        raise SubmissionError(
            "output 'completeness' needs exactly one row per batch and one column per schema column"
            f" (batches missing: {absent[:3]}, columns missing: {missing_cols[:3]})"
        )
    got = frame.set_index(batches).loc[truth.index, list(truth.columns)].apply(pd.to_numeric, errors="coerce")
    values = got.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise SubmissionError("output 'completeness' must hold fractions in [0, 1] (not percentages)")
    want = truth.to_numpy(dtype=float)
    return {
        "completeness_mae": float(skm.mean_absolute_error(want.ravel(), values.ravel())),
        "completeness_max_error": float(skm.max_error(want.ravel(), values.ravel())),
    }


def _alerts(value: Any, h: dict[str, Any]) -> dict[str, float | None]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise SubmissionError("output 'alerts' must be a list of batch ids (e.g. ['2024-03-07'])")
    raised, batches = {_batch_id(v) for v in value}, [str(b) for b in h["completeness"].index]
    unknown = sorted(raised - set(batches))  # unknown ids count as false alerts
    y_true = [b in h["alerts"] for b in batches] + [False] * len(unknown)
    y_pred = [b in raised for b in batches] + [True] * len(unknown)
    return {
        "alert_precision": float(skm.precision_score(y_true, y_pred, zero_division=0)),
        "alert_recall": float(skm.recall_score(y_true, y_pred, zero_division=0)),
        "alert_f1": float(skm.f1_score(y_true, y_pred, zero_division=0)),
    }


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    out, h = submission.outputs, dataset.hidden
    return {
        **_anomalies(out["anomaly_score"], h),
        **_ranges(out["out_of_range"], h),
        **_completeness(out["completeness"], h),
        **_alerts(out["alerts"], h),
    }
