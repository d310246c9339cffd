"""Every pack is valid (criteria exist in the referential); scorers agree with scikit-learn; ONNX packs
grade their reference (all validated) and weak (rejected, explained) submissions, reproducibly.

Here, what runs the sandbox or a child process; tests/unit/test_packs_units.py has the rest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest
from sklearn import metrics as skm

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.testing import sample_submission

ENGINE = Grader(sandbox=BwrapSandbox())
ONNX_PACKS = [p.id for p in ENGINE.list_packs() if p.interface == "onnx"]
REPO = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize("pack_id", ONNX_PACKS)
def test_onnx_pack_reference_validates_everything(pack_id: str) -> None:
    archive = sample_submission(ENGINE, pack_id, "reference")
    outcome = ENGINE.grade(pack_id, archive)
    assert outcome.failed_reason is None
    assert [c.verdict for c in outcome.criteria] == ["validated"] * len(outcome.criteria)
    again = Grader(sandbox=BwrapSandbox()).grade(pack_id, archive)
    assert again.reproducible_view() == outcome.reproducible_view()


@pytest.mark.parametrize("pack_id", ONNX_PACKS)
def test_onnx_pack_weak_is_rejected_with_explanations(pack_id: str) -> None:
    outcome = ENGINE.grade(pack_id, sample_submission(ENGINE, pack_id, "weak"))
    assert outcome.failed_reason is None
    rejected = [c for c in outcome.criteria if c.verdict == "rejected"]
    assert rejected
    for verdict in rejected:
        assert "Rejeté" in verdict.explanation and "non atteint" in verdict.explanation
        assert verdict.metric in outcome.metrics


def test_supervised_scores_agree_with_sklearn_on_the_same_predictions() -> None:
    archive = sample_submission(ENGINE, "b2_supervised_onnx", "reference")
    outcome = ENGINE.grade("b2_supervised_onnx", archive)
    import io
    import zipfile

    model = zipfile.ZipFile(io.BytesIO(archive)).read("model.onnx")
    data = ENGINE.dataset("b2_supervised_onnx")
    label, proba = ort.InferenceSession(model).run(["label", "probabilities"], {"X": data.inputs["X"]})
    y = data.hidden["y"]
    assert outcome.metrics["f1"] == pytest.approx(skm.f1_score(y, label), abs=1e-6)
    assert outcome.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-6)
    assert outcome.metrics["precision"] == pytest.approx(skm.precision_score(y, label), abs=1e-6)


def test_onnx_model_with_custom_domain_is_refused() -> None:
    import onnx
    from onnx import helper

    from certifia_grading.domain.testing import zip_files

    node = helper.make_node("Evil", ["X"], ["label"], domain="com.evil")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [None, 30])],
        [helper.make_tensor_value_info("label", onnx.TensorProto.INT64, [None])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.evil", 1)]
    )
    outcome = ENGINE.grade("b2_supervised_onnx", zip_files({"model.onnx": model.SerializeToString()}))
    assert outcome.failed_reason and (
        "domain" in outcome.failed_reason or "valid ONNX" in outcome.failed_reason
    )


def test_make_packs_prints_json() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "packs.py")], capture_output=True, text=True, check=True
    ).stdout
    rows = json.loads(out)
    assert {r["id"] for r in rows} == {p.id for p in ENGINE.list_packs()}
    for row in rows:
        assert set(row) >= {"id", "version", "interface", "criteria"} and row["interface"] in (
            "python",
            "onnx",
        )
