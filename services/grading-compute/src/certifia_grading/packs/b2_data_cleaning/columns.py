"""Which columns of a cleaned table are useless, and which informative ones it lost, judged on content
(2.A1.C2.E3): a column's name says nothing, so renaming one changes nothing.

Useless, whatever its name:

- a **constant**: at most one distinct value (``currency`` under any name);
- an **identifier**: a distinct value on every row, text or whole numbers unrelated to the company's
  figures (``company_id``, the row number, a pseudonymised identifier);
- a **duplicate** of a column kept before it: the same partition of the rows under other labels (a
  category and its codes), or numbers ranked alike (Spearman >= 0.99: ``total_assets_keur``, a
  standardised copy).

An informative column counts as kept when some cleaned column carries it: for a figure, a column ranked
like the original on the rows where the original was observed and sound (|Spearman| >= 0.99; honest
imputation changes only the gaps); for a category, a column with one value per category and the same
partition of the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype

from certifia_grading.engine.model import SubmissionError

MAX_COLUMNS = 256  # the input table has 12: more is no cleaning, and every check here is per column
DUPLICATE_RANK_CORRELATION = 0.99
KEPT_RANK_CORRELATION = 0.99
IDENTIFIER_MAX_RANK_CORRELATION = 0.3  # whole numbers this unrelated to every figure identify rows


def _numeric(values: pd.Series) -> pd.Series | None:
    """The column as numbers, or None when some present value is not a number."""
    if is_bool_dtype(values):
        return values.astype(float)
    numbers = pd.to_numeric(values, errors="coerce")
    if int(numbers.notna().sum()) == 0 or int(numbers.notna().sum()) != int(values.notna().sum()):
        return None
    return numbers.astype(float)


def _ranks(values: pd.Series | np.ndarray) -> np.ndarray:
    """Ranks of the present values (NaN stays NaN)."""
    ranked: np.ndarray = pd.Series(np.asarray(values, dtype=float)).rank(method="average").to_numpy()
    return ranked


def rank_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman-like correlations of every row of ``a`` with every row of ``b`` (ranks, NaN missing),
    each pair on the samples where both are present: a handful of matrix products for all the pairs.
    0 where a pair has fewer than 3 samples in common or no spread."""
    ma, mb = np.isfinite(a).astype(float), np.isfinite(b).astype(float)
    xa, xb = np.nan_to_num(a), np.nan_to_num(b)
    count = ma @ mb.T
    sa, sb = xa @ mb.T, ma @ xb.T
    saa, sbb, sab = (xa * xa) @ mb.T, ma @ (xb * xb).T, xa @ xb.T
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sab - sa * sb / count
        var = (saa - sa * sa / count) * (sbb - sb * sb / count)
        rho = cov / np.sqrt(var)
    return np.where((count >= 3) & (var > 1e-9 * saa * sbb), rho, 0.0)


def _partition(values: pd.Series) -> bytes:
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64).tobytes()


def check_shape(cleaned: pd.DataFrame) -> None:
    """Every check here and in privacy.py is per column: bounded before any."""
    if len(cleaned.columns) > MAX_COLUMNS:
        raise SubmissionError(f"'cleaned' has {len(cleaned.columns)} columns, more than {MAX_COLUMNS}")
    if not cleaned.columns.is_unique:
        raise SubmissionError("'cleaned' has two columns of one name")


class Columns:
    """The cleaned table's columns, classified against the truth (figures on the sound rows)."""

    def __init__(self, cleaned: pd.DataFrame, truth: pd.DataFrame, sound: np.ndarray) -> None:
        check_shape(cleaned)
        if len(cleaned) != len(truth):
            raise SubmissionError(f"'cleaned' must keep the {len(truth)} rows in order")
        self.cleaned = cleaned.reset_index(drop=True)
        self.sound = np.asarray(sound, dtype=bool)
        self.numbers = {c: _numeric(self.cleaned[c]) for c in self.cleaned.columns}
        self.figures = [c for c, x in self.numbers.items() if x is not None]
        empty = np.empty((0, len(cleaned)))
        self.ranks = np.array([_ranks(self.numbers[c]) for c in self.figures]) if self.figures else empty
        sound_truth = np.where(self.sound[None, :], truth.to_numpy(dtype=float).T, np.nan)
        self.truth_rho = self._against(sound_truth)  # figures x truth columns, on the sound rows
        self.kinds = self._classify()

    def _against(self, targets: np.ndarray) -> np.ndarray:
        """|correlation| of every figure column with every target row (NaN: not compared there)."""
        target_ranks = np.array([_ranks(t) for t in targets])
        masked = np.where(np.isfinite(targets)[None, :, :], 1.0, np.nan)  # figures seen on those rows only
        out = np.zeros((len(self.figures), len(targets)))
        for j in range(len(targets)):
            out[:, j] = rank_correlations(self.ranks * masked[0, j], target_ranks[j : j + 1])[:, 0]
        return np.abs(out)

    def useless(self) -> list[Any]:
        return [c for c, kind in self.kinds.items() if kind != "kept"]

    def _identifier(self, column: Any) -> bool:
        values, numbers = self.cleaned[column], self.numbers[column]
        if values.isna().any() or values.nunique() != len(values):
            return False
        if numbers is None:
            return True  # a distinct text on every row
        if not np.all(numbers == np.round(numbers)):
            return False  # measurements, not codes
        return bool(np.all(self.truth_rho[self.figures.index(column)] < IDENTIFIER_MAX_RANK_CORRELATION))

    def _classify(self) -> dict[Any, str]:
        kinds: dict[Any, str] = {}
        partitions: dict[bytes, Any] = {}
        half = len(self.cleaned) // 2
        alike = np.abs(rank_correlations(self.ranks, self.ranks)) >= DUPLICATE_RANK_CORRELATION
        index = {c: i for i, c in enumerate(self.figures)}
        for column in self.cleaned.columns:
            values = self.cleaned[column]
            if values.nunique(dropna=True) <= 1:
                kinds[column] = "constant"
            elif self._identifier(column):
                kinds[column] = "identifier"
            elif values.nunique(dropna=False) <= half and _partition(values) in partitions:
                kinds[column] = "duplicate"  # categories: the same partition is the same data
            elif column in index and any(
                alike[index[column], index[o]] for o, k in kinds.items() if k == "kept" and o in index
            ):
                kinds[column] = "duplicate"
            else:
                kinds[column] = "kept"
                if values.nunique(dropna=False) <= half:
                    partitions[_partition(values)] = column
        return kinds

    def carries_figure(self, original: pd.Series) -> bool:
        """Some column ranks like ``original`` on the rows where it was observed and sound."""
        target = np.where(self.sound, pd.to_numeric(original, errors="coerce").to_numpy(dtype=float), np.nan)
        rho = self._against(target[None, :])[:, 0]
        return any(
            rho[i] >= KEPT_RANK_CORRELATION and self.kinds[c] not in ("constant", "identifier")
            for i, c in enumerate(self.figures)
        )

    def carries_category(self, original: pd.Series) -> bool:
        """Some column labels the rows with one value per category of ``original``."""
        key, size = _partition(original.reset_index(drop=True)), original.nunique(dropna=False)
        return any(
            self.cleaned[c].nunique(dropna=False) == size and _partition(self.cleaned[c]) == key
            for c in self.cleaned.columns
        )
