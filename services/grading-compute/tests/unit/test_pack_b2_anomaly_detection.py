"""b2_anomaly_detection (2.EV3): the dataset plants each defect with its own hidden truth, the scorer measures
what the criteria state (and agrees with scikit-learn), malformed outputs are refused with a reason, the
reference validates every criterion in the sandbox and the weak attempt is rejected on all three.

Here, what runs in this process (no sandbox, no child process); tests/integration/test_pack_b2_anomaly_detection.py has the rest.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.model import SubmissionError
from certifia_grading.domain.spec import Submission, load_module
from certifia_grading.domain.verdicts import judge

PACK = "b2_anomaly_detection"
ENGINE = Grader(sandbox=BwrapSandbox())
SPEC = ENGINE.spec(PACK)
MODULE: Any = load_module(SPEC)
DATA = ENGINE.dataset(PACK)
HIDDEN = DATA.hidden
ORDERS: pd.DataFrame = DATA.inputs["orders"]
RULES: dict[str, Any] = DATA.inputs["schema"]["columns"]
E2, E3, E4 = "2.A3.C2.E2", "2.A3.C2.E3", "2.A3.C3.E4"


def _truth_outputs() -> dict[str, Any]:
    """Outputs equal to the hidden truth, as the scorer receives them (completeness read back from CSV)."""
    return {
        "anomaly_score": HIDDEN["is_anomaly"].astype(float),
        "out_of_range": HIDDEN["out_of_range"].copy(),
        "completeness": pd.read_csv(io.StringIO(HIDDEN["completeness"].reset_index().to_csv(index=False))),
        "alerts": list(HIDDEN["alerts"]),
    }


def _score(**changes: Any) -> dict[str, Any]:
    return MODULE.score(Submission(outputs={**_truth_outputs(), **changes}), DATA, None)


def _verdicts(metrics: dict[str, float | None]) -> dict[str, str]:
    return {c.id: judge(c, metrics).verdict for c in SPEC.criteria}


# -- the dataset --------------------------------------------------------------------------------------------
def test_inputs_carry_no_label_and_every_planted_violation_is_out_of_range() -> None:
    assert "batch" in ORDERS.columns and set(RULES) <= set(ORDERS.columns)
    assert not {"is_anomaly", "out_of_range", "label"} & set(ORDERS.columns)
    np.testing.assert_array_equal(MODULE.range_violations(ORDERS, RULES), HIDDEN["injected"])
    np.testing.assert_array_equal(HIDDEN["out_of_range"], HIDDEN["injected"])
    assert set(HIDDEN["violation_kinds"].values()) == set(range(len(MODULE.VIOLATIONS)))
    # a violation replaces a present value: a gap is never counted as out of range
    for row, kind in HIDDEN["violation_kinds"].items():
        assert pd.notna(ORDERS.at[row, MODULE.VIOLATIONS[kind][0]])


def test_anomalies_stay_in_range_on_complete_rows() -> None:
    anomalies = HIDDEN["is_anomaly"]
    assert anomalies.sum() >= 50 and not np.any(anomalies & ~HIDDEN["evaluated"])
    complete = ORDERS[list(RULES)].notna().all(axis=1).to_numpy()
    np.testing.assert_array_equal(HIDDEN["evaluated"], complete & ~HIDDEN["out_of_range"])


def test_anomalies_are_visible_jointly_not_column_by_column() -> None:
    ev, y = HIDDEN["evaluated"], HIDDEN["is_anomaly"][HIDDEN["evaluated"]]
    x = ORDERS[["quantity", "unit_price", "discount_rate", "amount", "shipping_weight_kg"]].astype(float)
    x = x[ev].to_numpy()
    max_z = np.abs((x - x.mean(axis=0)) / x.std(axis=0)).max(axis=1)
    assert skm.roc_auc_score(y, max_z) < 0.65
    q, price, discount, amount, weight = x.T
    per_item = pd.Series(np.log(weight / q))
    unit_dev = per_item - per_item.groupby(ORDERS["category"][ev].to_numpy()).transform("median")
    joint = np.abs(np.log(amount / (q * price * (1 - discount)))) + np.abs(unit_dev.to_numpy())
    assert skm.roc_auc_score(y, joint) > 0.95


def test_some_batches_need_an_alert_that_the_whole_table_hides() -> None:
    completeness = HIDDEN["completeness"]
    thresholds = pd.Series({c: r["min_completeness"] for c, r in RULES.items()})
    assert 3 <= len(HIDDEN["alerts"]) < len(completeness) // 2
    assert (completeness - thresholds).abs().min().min() >= MODULE.MARGIN - 1e-12  # no coin-flip alert
    assert (ORDERS[list(RULES)].notna().mean() >= thresholds).all()


# -- the scorer on hand-made outputs ------------------------------------------------------------------------
def test_the_truth_gets_full_marks_and_validates_everything() -> None:
    metrics = _score()
    assert metrics["anomaly_roc_auc"] == metrics["anomaly_average_precision"] == 1.0
    assert metrics["out_of_range_precision"] == metrics["out_of_range_recall"] == 1.0
    # the CSV round trip leaves ~1e-16 (the engine rounds metrics to 6 decimals)
    assert metrics["completeness_max_error"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["alert_f1"] == 1.0
    assert set(_verdicts(metrics).values()) == {"validated"}


def test_anomaly_metrics_are_measured_on_complete_in_range_rows_only() -> None:
    rng = np.random.default_rng(7)
    noisy = HIDDEN["is_anomaly"] + rng.normal(0, 0.6, len(ORDERS))
    ev = HIDDEN["evaluated"]
    metrics = _score(anomaly_score=noisy)
    y = HIDDEN["is_anomaly"][ev]
    assert metrics["anomaly_roc_auc"] == pytest.approx(skm.roc_auc_score(y, noisy[ev]))
    assert metrics["anomaly_average_precision"] == pytest.approx(skm.average_precision_score(y, noisy[ev]))
    # ranking the out-of-range or incomplete rows first (a range check as "detector") changes nothing
    gamed = np.where(ev, noisy, 100.0)
    assert _score(anomaly_score=gamed)["anomaly_average_precision"] == metrics["anomaly_average_precision"]


def test_range_flags_are_scored_like_sklearn_precision_and_recall() -> None:
    truth = HIDDEN["out_of_range"]
    flags = truth.copy()
    flags[np.flatnonzero(truth)[::3]] = False  # a third of the violations missed
    flags[np.flatnonzero(~truth)[:20]] = True  # twenty sound rows flagged
    metrics = _score(out_of_range=flags.astype(np.int64))
    assert metrics["out_of_range_recall"] == pytest.approx(skm.recall_score(truth, flags))
    assert metrics["out_of_range_precision"] == pytest.approx(skm.precision_score(truth, flags))
    assert metrics["out_of_range_recall"] < 0.7 and _verdicts(metrics)[E3] == "rejected"


def test_completeness_is_matched_by_batch_and_column_whatever_the_order() -> None:
    table = HIDDEN["completeness"].reset_index()
    shuffled = table.sample(frac=1.0, random_state=3).iloc[:, ::-1].assign(note="x")
    assert _score(completeness=shuffled)["completeness_max_error"] == 0.0
    off = table.copy()
    off.loc[4, "amount"] -= 0.1
    metrics = _score(completeness=off)
    want, got = HIDDEN["completeness"].to_numpy().ravel(), off.set_index("batch").to_numpy().ravel()
    assert metrics["completeness_max_error"] == pytest.approx(skm.max_error(want, got))
    assert metrics["completeness_mae"] == pytest.approx(skm.mean_absolute_error(want, got))
    assert metrics["completeness_max_error"] == pytest.approx(0.1) and _verdicts(metrics)[E4] == "rejected"


def test_alerts_are_scored_like_sklearn_f1_and_unknown_batches_count_as_false_alerts() -> None:
    truth, batches = list(HIDDEN["alerts"]), list(HIDDEN["completeness"].index)
    raised = [*truth[1:], "1999-01-01"]
    metrics = _score(alerts=raised)
    y_true = [b in truth for b in batches] + [False]
    y_pred = [b in raised for b in batches] + [True]
    assert metrics["alert_f1"] == pytest.approx(skm.f1_score(y_true, y_pred))
    assert metrics["alert_precision"] == pytest.approx((len(truth) - 1) / len(truth))
    assert _score(alerts=[])["alert_f1"] == 0.0
    # days parsed to timestamps by the candidate's code reach the scorer as "YYYY-MM-DD 00:00:00"
    assert _score(alerts=[str(pd.Timestamp(b)) for b in truth])["alert_f1"] == 1.0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"anomaly_score": np.zeros(10)}, r"'anomaly_score' must have shape"),
        ({"anomaly_score": np.full(len(ORDERS), np.nan)}, r"'anomaly_score' contains NaN"),
        ({"out_of_range": np.full(len(ORDERS), 2)}, r"'out_of_range' must hold one boolean"),
        ({"completeness": HIDDEN["completeness"].reset_index(drop=True)}, r"'batch' column"),
        ({"completeness": HIDDEN["completeness"].reset_index().iloc[1:]}, r"one row per batch"),
        ({"completeness": (HIDDEN["completeness"] * 100).reset_index()}, r"fractions in \[0, 1\]"),
        ({"alerts": "2024-03-09"}, r"'alerts' must be a list of batch ids"),
    ],
)
def test_malformed_outputs_are_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(SubmissionError, match=reason):
        _score(**change)
