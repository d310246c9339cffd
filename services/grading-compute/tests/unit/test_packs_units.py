"""Every pack is valid (criteria exist in the referential); scorers agree with scikit-learn; ONNX packs
grade their reference (all validated) and weak (rejected, explained) submissions, reproducibly.

Here, what runs in this process (no sandbox, no child process); tests/integration/test_packs_units.py has the rest.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.spec import parse_spec
from certifia_grading.packs import common
from certifia_shared.referential import load_referential

ENGINE = Grader(sandbox=BwrapSandbox())


def test_required_packs_exist_with_referential_criteria() -> None:
    packs = {p.id: p for p in ENGINE.list_packs()}
    assert {
        "b2_data_cleaning", "b2_timeseries_gaps", "b2_dimension_reduction", "b2_text_preparation",
        "b2_anomaly_detection", "b2_supervised_onnx", "b1_bias_mitigation", "b5b_model_compression",
        "b5b_inference_cache", "b5a_digits_vision",
    } <= set(packs)  # fmt: skip
    ref = load_referential()
    for pack in packs.values():
        assert pack.criteria, pack.id
        for criterion_id in pack.criteria:
            assert ref.criterion(criterion_id).id == criterion_id
        if pack.evaluation_id:
            ref.evaluation(pack.evaluation_id)
    assert set(packs["b2_data_cleaning"].criteria) == {
        "2.A1.C1.E1", "2.A1.C1.E2", "2.A1.C2.E3", "2.A1.C4.E5", "2.A1.C5.E6", "2.A1.C5.E7",
    }  # fmt: skip
    assert packs["b1_bias_mitigation"].criteria == ("1.A4.C7.E4",)
    covered = {c for p in packs.values() for c in p.criteria}
    assert {  # the list, criterion by criterion
        "2.A1.C2.E4", "2.A2.C2.E2", "2.A2.C3.E3", "2.A2.C3.E4", "2.A3.C2.E2", "2.A3.C2.E3", "2.A3.C3.E4",
        "2.A5.C1.E1", "5B.A3.C1.E2", "5B.A3.C1.E4", "5B.A3.C2.E5", "5B.A4.C1.E1", "5B.A4.C5.E5",
    } <= covered  # fmt: skip


def test_every_threshold_has_a_reason_and_limits() -> None:
    for pack in ENGINE.list_packs():
        spec = parse_spec(ENGINE.spec(pack.id).folder)
        assert spec.interface.signature
        assert spec.limits.cpu_seconds > 0 and spec.limits.wall_seconds > 0
        for crit in spec.criteria:
            assert all(check.reason for check in crit.checks)
        assert (spec.folder / "reference").is_dir() and (spec.folder / "weak").is_dir()


def test_datasets_are_deterministic() -> None:
    for pack in ENGINE.list_packs():
        module = __import__("certifia_grading.domain.spec", fromlist=["load_module"]).load_module(
            ENGINE.spec(pack.id)
        )
        a, b = module.build(pack.dataset_seed), module.build(pack.dataset_seed)
        for key in a.inputs:
            left, right = a.inputs[key], b.inputs[key]
            if hasattr(left, "equals"):
                assert left.equals(right), (pack.id, key)
            else:
                np.testing.assert_array_equal(left, right)


def test_binary_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    score = np.clip(y * 0.4 + rng.random(300) * 0.7, 0, 1)
    pred = (score > 0.5).astype(int)
    got = common.binary_classification(y, pred, score)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score))
    assert [got[k] for k in ("tn", "fp", "fn", "tp")] == skm.confusion_matrix(y, pred).ravel().tolist()


def test_fairness_metrics_match_sklearn_per_group_rates() -> None:
    rng = np.random.default_rng(1)
    y, group = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    pred = ((rng.random(500) + 0.3 * group) > 0.6).astype(int)
    rates = [np.mean(pred[group == g]) for g in (0, 1)]
    assert common.demographic_parity_difference(pred, group) == pytest.approx(abs(rates[0] - rates[1]))
    tpr = [skm.recall_score(y[group == g], pred[group == g]) for g in (0, 1)]
    fpr = []
    for g in (0, 1):
        tn, fp, _fn, _tp = skm.confusion_matrix(y[group == g], pred[group == g]).ravel()
        fpr.append(fp / (fp + tn))
    expected = max(abs(tpr[0] - tpr[1]), abs(fpr[0] - fpr[1]))
    assert common.equalized_odds_difference(y, pred, group) == pytest.approx(expected)
