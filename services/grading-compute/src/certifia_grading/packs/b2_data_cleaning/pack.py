"""Bloc 2 data cleaning: a company financial table with injected gaps, outliers, useless and personal columns.

Ground truth is known because the table is synthetic: the size of each company drives revenue, total
assets, net profit and head count (log-normal, correlated), so a good imputer beats the median. Personal
data (privacy.py) and useless or informative columns (columns.py) are judged on content, never on a
column's name or an exact string: renaming, re-casing or obfuscating what was left changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from certifia_grading.engine.model import SubmissionError
from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.b2_data_cleaning.columns import Columns, check_shape
from certifia_grading.packs.b2_data_cleaning.privacy import PersonalData
from certifia_grading.packs.common import as_matrix, as_vector

NUMERIC = ["revenue", "net_profit", "total_assets", "employees"]
CATEGORIES = ["sector", "country"]
PERSONAL = ["ceo_name", "ceo_email", "ceo_phone"]
SECTORS = ["industrie", "commerce", "services", "banque", "energie"]
COUNTRIES = ["FR", "BE", "CH", "LU"]
FIRST = [
    "Camille",
    "Louis",
    "Inès",
    "Hugo",
    "Léa",
    "Jules",
    "Chloé",
    "Adam",
    "Manon",
    "Noah",
    "Sarah",
    "Paul",
]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Simon"]
N_ROWS = 400


def build(seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n = N_ROWS
    size = rng.normal(0.0, 1.0, n)
    truth = pd.DataFrame(
        {
            "revenue": np.exp(14.0 + size + 0.25 * rng.normal(size=n)),
            "total_assets": np.exp(14.6 + size + 0.25 * rng.normal(size=n)),
            "employees": np.round(np.exp(3.5 + 0.9 * size + 0.25 * rng.normal(size=n))),
        }
    )
    margin = np.clip(0.08 + 0.02 * rng.normal(size=n), 0.01, None)
    truth["net_profit"] = truth["revenue"] * margin
    truth = truth[NUMERIC].round(2)
    raw = truth.copy()
    outlier_rows = rng.choice(n, size=n // 25, replace=False)
    for row in outlier_rows:
        col = NUMERIC[rng.integers(len(NUMERIC))]
        raw.loc[row, col] = raw.loc[row, col] * (100.0 if rng.random() < 0.5 else 0.01)
    missing = rng.random((n, len(NUMERIC))) < 0.08
    missing[outlier_rows, :] = False
    raw = raw.mask(missing)
    first, last = rng.choice(FIRST, n), rng.choice(LAST, n)
    names = [f"{f} {la}" for f, la in zip(first, last, strict=True)]  # names repeat, as in a real register
    table = pd.DataFrame(
        {
            "company_id": [f"C{i:05d}" for i in range(n)],
            "ceo_name": names,
            "ceo_email": [f"{nm.lower().replace(' ', '.')}@example.fr" for nm in names],
            "sector": rng.choice(SECTORS, n),
            "country": rng.choice(COUNTRIES, n),
            "currency": "EUR",
            **{c: raw[c] for c in NUMERIC},
            "total_assets_keur": (raw["total_assets"] / 1000).round(3),
        }
    )
    table.insert(3, "ceo_phone", _phones(rng, n))  # drawn last: figures, sectors, countries as in 1.0.0
    is_outlier = np.zeros(n, dtype=bool)
    is_outlier[outlier_rows] = True
    hidden = {"truth": truth, "missing": missing, "is_outlier": is_outlier, "table": table}
    return Dataset(inputs={"table": table}, hidden=hidden)


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    """French mobile numbers, one per row, written +33 6 12 34 56 78."""
    digits = rng.integers(0, 10, size=(n, 8))
    leads = rng.choice(["6", "7"], n)
    return [
        f"+33 {lead} " + " ".join("".join(map(str, row[k : k + 2])) for k in range(0, 8, 2))
        for lead, row in zip(leads, digits, strict=True)
    ]


def _guard(fn: Callable[[], dict[str, float | None]], names: list[str]) -> dict[str, float | None]:
    """A metric group that cannot be computed from the outputs is reported as not measured (None)."""
    try:
        return fn()
    except (SubmissionError, KeyError, ValueError, TypeError):
        return dict.fromkeys(names)


def _cleaning(cleaned: pd.DataFrame, h: dict[str, Any]) -> dict[str, float | None]:
    truth, missing, ok = h["truth"], h["missing"], ~h["is_outlier"]
    if len(cleaned) != len(truth):
        raise SubmissionError(f"'cleaned' must keep the {len(truth)} rows in order (flag outliers instead)")
    errors = []
    for j, col in enumerate(NUMERIC):
        if col not in cleaned:
            return {"imputation_nrmse": None, "missing_values_left": None}
        mask = missing[:, j] & ok
        got = pd.to_numeric(cleaned[col], errors="coerce").to_numpy()[mask]
        want = truth[col].to_numpy()[mask]
        rmse = float(np.sqrt(np.nanmean((got - want) ** 2))) if np.all(np.isfinite(got)) else np.inf
        errors.append(rmse / float(truth[col][ok].std()))
    return {
        "imputation_nrmse": float(np.mean(errors)),
        "missing_values_left": float(cleaned.isna().sum().sum()),
    }


def _privacy(cleaned: pd.DataFrame, h: dict[str, Any]) -> dict[str, float | None]:
    check_shape(cleaned)
    table = h["table"]
    people = PersonalData(*(table[c] for c in PERSONAL))
    return {"personal_data_leaks": float(people.leaks(cleaned))}


def _columns(cleaned: pd.DataFrame, h: dict[str, Any]) -> dict[str, float | None]:
    table, sound = h["table"], ~h["is_outlier"]
    columns = Columns(cleaned, h["truth"], sound)
    kept = [columns.carries_figure(table[c]) for c in NUMERIC]
    kept += [columns.carries_category(table[c]) for c in CATEGORIES]
    return {
        "useless_columns_kept": float(len(columns.useless())),
        "informative_columns_dropped": float(kept.count(False)),
    }


def _outliers(flags: Any, h: dict[str, Any]) -> dict[str, float | None]:
    pred = as_vector(flags, len(h["is_outlier"]), "outliers").astype(bool)
    true = h["is_outlier"]
    tp = float(np.sum(pred & true))
    return {
        "outlier_precision": tp / max(float(pred.sum()), 1.0),
        "outlier_recall": tp / float(true.sum()),
    }


def _spearman_min(matrix: np.ndarray, h: dict[str, Any]) -> float:
    ok = ~h["is_outlier"]
    return min(float(spearmanr(matrix[ok, j], h["truth"][c][ok]).statistic) for j, c in enumerate(NUMERIC))


def _scaling(std: Any, norm: Any, h: dict[str, Any]) -> dict[str, float | None]:
    n = len(h["truth"])
    z, m = as_matrix(std, n, "standardized"), as_matrix(norm, n, "normalized")
    if z.shape[1] != len(NUMERIC) or m.shape[1] != len(NUMERIC):
        raise SubmissionError(
            f"'standardized' and 'normalized' must have the {len(NUMERIC)} columns {NUMERIC}"
        )
    return {
        "standardized_max_abs_mean": float(np.max(np.abs(z.mean(axis=0)))),
        "standardized_max_std_error": float(np.max(np.abs(z.std(axis=0) - 1.0))),
        "normalized_out_of_range": float(np.sum((m < -1e-9) | (m > 1 + 1e-9))),
        "normalized_min_span": float(np.min(m.max(axis=0) - m.min(axis=0))),
        "scaled_min_rank_correlation": min(_spearman_min(z, h), _spearman_min(m, h)),
    }


def _discretisation(band: Any, h: dict[str, Any]) -> dict[str, float | None]:
    b = as_vector(band, len(h["truth"]), "revenue_band")
    ok = ~h["is_outlier"]
    bins = float(len(np.unique(b)))
    rho = float(spearmanr(b[ok], h["truth"]["revenue"][ok]).statistic) if bins > 1 else 0.0
    return {"revenue_bins": bins, "revenue_band_rank_correlation": rho}


def _encoding(encoded: Any, h: dict[str, Any]) -> dict[str, float | None]:
    enc = as_matrix(encoded, len(h["truth"]), "sector_encoded")
    sectors = h["table"]["sector"].to_numpy()
    codes: dict[str, set[tuple[float, ...]]] = {}
    for s, row in zip(sectors, map(tuple, enc), strict=True):
        codes.setdefault(s, set()).add(row)
    one_each = all(len(v) == 1 for v in codes.values())
    distinct = len({next(iter(v)) for v in codes.values()}) == len(codes)
    return {"encoding_consistent": 1.0 if one_each and distinct else 0.0}


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    out, h = submission.outputs, dataset.hidden
    groups: list[tuple[Callable[[], dict[str, float | None]], list[str]]] = [
        (lambda: _cleaning(out["cleaned"], h), ["imputation_nrmse", "missing_values_left"]),
        (lambda: _privacy(out["cleaned"], h), ["personal_data_leaks"]),
        (lambda: _columns(out["cleaned"], h), ["useless_columns_kept", "informative_columns_dropped"]),
        (lambda: _outliers(out["outliers"], h), ["outlier_precision", "outlier_recall"]),
        (
            lambda: _scaling(out["standardized"], out["normalized"], h),
            [
                "standardized_max_abs_mean",
                "standardized_max_std_error",
                "normalized_out_of_range",
                "normalized_min_span",
                "scaled_min_rank_correlation",
            ],
        ),
        (lambda: _discretisation(out["revenue_band"], h), ["revenue_bins", "revenue_band_rank_correlation"]),
        (lambda: _encoding(out["sector_encoded"], h), ["encoding_consistent"]),
    ]
    metrics: dict[str, float | None] = {}
    for fn, names in groups:
        metrics.update(_guard(fn, names))
    return metrics
