"""b5b_model_compression: a deterministic teacher; the reference (distilled, int8) validates the four criteria
and the weak submission (the teacher re-exported) fails all four; the scorer's static measurements,
contract checks and timing on hand-made models; agreement with scikit-learn on the same predictions.

Here, what runs the sandbox or a child process; tests/unit/test_pack_b5b_model_compression.py has the rest.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from sklearn.metrics import accuracy_score

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.model import GradingOutcome
from certifia_grading.domain.spec import Dataset
from certifia_grading.domain.testing import sample_submission, zip_files
from certifia_grading.domain.testing_models import as_float16 as _float16
from certifia_grading.domain.testing_models import linear_classifier as _linear
from certifia_grading.domain.testing_models import linear_weights as _weights

ENGINE = Grader(sandbox=BwrapSandbox())
PACK = "b5b_model_compression"
CRITERIA = ("5B.A3.C1.E2", "5B.A3.C1.E4", "5B.A3.C2.E5", "5B.A4.C1.E1")
VOLATILE = {"latency_teacher_ms", "latency_student_ms", "latency_ratio"}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return ENGINE.dataset(PACK)


@pytest.fixture(scope="module")
def reference_archive() -> bytes:
    return sample_submission(ENGINE, PACK, "reference")


@pytest.fixture(scope="module")
def reference(reference_archive: bytes) -> GradingOutcome:
    return ENGINE.grade(PACK, reference_archive)


def _grade(model: onnx.ModelProto | bytes) -> GradingOutcome:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ENGINE.grade(PACK, zip_files({"model.onnx": data}))


def _verdicts(outcome: GradingOutcome) -> dict[str, str]:
    assert outcome.failed_reason is None, outcome.failed_reason
    return {c.criterion_id: c.verdict for c in outcome.criteria}


# -- reference and weak submissions ----------------------------------------------------------------------
def test_reference_validates_the_four_criteria_reproducibly(
    reference: GradingOutcome, reference_archive: bytes
) -> None:
    assert _verdicts(reference) == dict.fromkeys(CRITERIA, "validated")
    metrics = reference.metrics
    assert set(metrics) >= VOLATILE and set(reference.volatile_metrics) == VOLATILE
    assert metrics["latency_student_ms"] < metrics["latency_teacher_ms"]
    again = Grader(sandbox=BwrapSandbox()).grade(PACK, reference_archive)
    view = reference.reproducible_view()
    assert again.reproducible_view() == view
    assert again.metrics["latency_ratio"] <= 0.25  # the margin holds on a second timing too
    assert not VOLATILE & set(view["metrics"])
    assert next(c for c in view["criteria"] if c["criterion_id"] == "5B.A4.C1.E1")["value"] is None


def test_weak_teacher_reexport_is_rejected_on_all_four_criteria() -> None:
    outcome = ENGINE.grade(PACK, sample_submission(ENGINE, PACK, "weak"))
    assert _verdicts(outcome) == dict.fromkeys(CRITERIA, "rejected")
    failing = {c.criterion_id: c.metric for c in outcome.criteria}
    assert failing == {
        "5B.A3.C1.E2": "low_precision_share",
        "5B.A3.C1.E4": "size_ratio",
        "5B.A3.C2.E5": "parameter_ratio",
        "5B.A4.C1.E1": "latency_ratio",
    }
    for verdict in outcome.criteria:
        assert verdict.explanation.startswith("Rejeté") and "non atteint" in verdict.explanation
    # it is the teacher: quality is kept, nothing was compressed
    assert outcome.metrics["accuracy_kept"] == 1.0 and outcome.metrics["fidelity"] == 1.0
    assert outcome.metrics["parameter_ratio"] == 1.0 and outcome.metrics["low_precision_share"] == 0.0


def test_accuracy_and_fidelity_agree_with_sklearn(
    reference: GradingOutcome, reference_archive: bytes, dataset: Dataset
) -> None:
    model = zipfile.ZipFile(io.BytesIO(reference_archive)).read("model.onnx")
    label = ort.InferenceSession(model).run(["label"], dataset.inputs)[0]
    y, teacher = dataset.hidden["y"], dataset.hidden["teacher_label"]
    metrics = reference.metrics
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, label), abs=1e-6)
    assert metrics["fidelity"] == pytest.approx(accuracy_score(teacher, label), abs=1e-6)
    assert metrics["teacher_accuracy"] == pytest.approx(accuracy_score(y, teacher), abs=1e-6)
    kept = accuracy_score(y, label) / accuracy_score(y, teacher)
    assert metrics["accuracy_kept"] == pytest.approx(kept, abs=1e-6)
    assert metrics["size_ratio"] == pytest.approx(len(model) / len(dataset.hidden["teacher_model"]), abs=1e-6)


# -- partial attempts: each criterion measures its own thing ---------------------------------------------
def test_float16_teacher_is_lighter_but_neither_compressed_enough_nor_distilled(dataset: Dataset) -> None:
    teacher = onnx.load_model_from_string(dataset.public["teacher_model"])
    outcome = _grade(_float16(teacher))
    verdicts = _verdicts(outcome)
    assert verdicts["5B.A3.C1.E2"] == "validated" and outcome.metrics["low_precision_share"] == 1.0
    assert verdicts["5B.A3.C1.E4"] == "rejected" and outcome.metrics["size_ratio"] == pytest.approx(0.5, 0.01)
    assert verdicts["5B.A3.C2.E5"] == "rejected"


def test_int8_teacher_is_compressed_but_not_distilled(dataset: Dataset) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "teacher_int8.onnx"
        quantize_dynamic(
            onnx.load_model_from_string(dataset.public["teacher_model"]), out, weight_type=QuantType.QInt8
        )
        outcome = _grade(out.read_bytes())
    verdicts = _verdicts(outcome)
    assert verdicts["5B.A3.C1.E2"] == verdicts["5B.A3.C1.E4"] == "validated"
    assert verdicts["5B.A3.C2.E5"] == "rejected" and outcome.metrics["parameter_ratio"] >= 0.99
    # A4.C1.E1 is left out: the speed-up of int8 alone depends on the CPU's int8 instructions


def test_small_float32_student_is_distilled_but_not_in_a_lighter_type(dataset: Dataset) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = dataset.public["X_transfer"]
    y = ort.InferenceSession(dataset.public["teacher_model"]).run(["label"], {"X": x})[0]
    student = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000)).fit(x, y)
    outcome = _grade(to_onnx(student, x[:1], options={"zipmap": False}, target_opset=17))
    verdicts = _verdicts(outcome)
    assert verdicts["5B.A3.C1.E2"] == "rejected" and outcome.metrics["low_precision_share"] == 0.0
    assert verdicts["5B.A3.C1.E4"] == verdicts["5B.A3.C2.E5"] == verdicts["5B.A4.C1.E1"] == "validated"


# -- contract and timing ---------------------------------------------------------------------------------
def _three_classes() -> onnx.ModelProto:
    w, b = _weights()
    return _linear(w[:, :3].copy(), b[:3].copy())


def _renamed_input() -> onnx.ModelProto:
    model = _linear(*_weights())
    model.graph.input[0].name = "images"
    model.graph.node[0].input[0] = "images"
    return model


def _without_label() -> onnx.ModelProto:
    model = _linear(*_weights())
    del model.graph.output[0]
    del model.graph.node[-1]
    return model


def _input_width_32() -> onnx.ModelProto:
    return _linear(np.zeros((32, 10), np.float32), np.zeros(10, np.float32))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_three_classes, "10 columns"),
        (_renamed_input, "contract"),
        (_input_width_32, "could not be run"),
        (_without_label, "must output 'label'"),
    ],
    ids=["three-classes", "input-renamed", "input-width-32", "no-label-output"],
)
def test_a_model_with_the_wrong_contract_is_refused_with_a_reason(
    make: Callable[[], onnx.ModelProto], expected: str
) -> None:
    outcome = _grade(make())
    assert outcome.failed_reason and expected in outcome.failed_reason
    assert outcome.criteria == ()
