"""b5b_model_compression: a deterministic teacher; the reference (distilled, int8) validates the four criteria
and the weak submission (the teacher re-exported) fails all four; the scorer's static measurements,
contract checks and timing on hand-made models; agreement with scikit-learn on the same predictions.

Here, what runs in this process (no sandbox, no child process); tests/integration/test_pack_b5b_model_compression.py has the rest.
"""

from __future__ import annotations

import time

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.model import SubmissionError
from certifia_grading.domain.spec import Dataset, load_module
from certifia_grading.domain.testing_models import as_float16 as _float16
from certifia_grading.domain.testing_models import classifier as _model
from certifia_grading.domain.testing_models import linear_classifier as _linear
from certifia_grading.domain.testing_models import linear_weights as _weights
from certifia_grading.domain.testing_models import softmax_head as _head
from certifia_grading.packs.b5b_model_compression import latency
from certifia_grading.packs.b5b_model_compression.model_stats import weight_stats

ENGINE = Grader(sandbox=BwrapSandbox())
PACK = "b5b_model_compression"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return ENGINE.dataset(PACK)


# -- the dataset and the teacher -------------------------------------------------------------------------
def test_teacher_is_deterministic_accurate_and_labels_stay_hidden(dataset: Dataset) -> None:
    module = load_module(ENGINE.spec(PACK))
    seed, hidden_seed = ENGINE.spec(PACK).seed, ENGINE.hidden_seed(PACK)  # published, derived (secret)
    again = module.build(hidden_seed, public_seed=seed)
    assert again.hidden["teacher_model"] == dataset.hidden["teacher_model"]
    np.testing.assert_array_equal(again.hidden["teacher_label"], dataset.hidden["teacher_label"])
    np.testing.assert_array_equal(again.inputs["X"], dataset.inputs["X"])
    # the teacher derives from the published seed (the candidate rebuilds it), the hidden images do not
    teacher = again.hidden["teacher_model"]
    assert module.build(hidden_seed, public_seed=seed + 1).hidden["teacher_model"] != teacher
    assert module.build(hidden_seed + 1, public_seed=seed).hidden["teacher_model"] == teacher
    assert set(dataset.public) == {"teacher_model", "X_transfer"}  # no labels: the student must distil
    assert dataset.public["X_transfer"].shape == (1257, 64) and dataset.inputs["X"].shape == (540, 64)
    assert dataset.hidden["teacher_accuracy"] >= 0.98
    # the stored teacher labels are what onnxruntime predicts with the teacher's own bytes
    label = ort.InferenceSession(dataset.public["teacher_model"]).run(["label"], dataset.inputs)[0]
    np.testing.assert_array_equal(label, dataset.hidden["teacher_label"])

    # A4.C1.E1 is left out: the speed-up of int8 alone depends on the CPU's int8 instructions


# -- static measurements on hand-made models (fast) ------------------------------------------------------
def test_float16_and_int8_weights_are_recognised_as_lighter() -> None:
    w, b = _weights()
    f32 = weight_stats(_linear(w, b).SerializeToString())
    assert (f32.parameters, f32.light_parameters, f32.weight_bytes) == (650, 0, 2600.0)
    f16 = weight_stats(_float16(_linear(w, b)).SerializeToString())
    assert (f16.parameters, f16.low_precision_share, f16.weight_bytes) == (650, 1.0, 1300.0)
    scale = np.abs(w).max(axis=0) / 127
    wq = np.round(w / scale).astype(np.int8)
    nodes = [
        helper.make_node("DequantizeLinear", ["Wq", "scale"], ["W"], axis=1),
        helper.make_node("MatMul", ["X", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["z"]),
    ]
    inits = [
        numpy_helper.from_array(a, n) for a, n in ((wq, "Wq"), (scale.astype(np.float32), "scale"), (b, "B"))
    ]
    i8 = weight_stats(_model(nodes + _head("z"), inits).SerializeToString())
    assert (i8.parameters, i8.light_parameters) == (660, 640)
    assert i8.weight_bytes == 640 + 20 * 4 and i8.low_precision_share == pytest.approx(640 / 720)  # bytes


def test_only_data_the_graph_uses_is_counted() -> None:
    w, b = _weights()
    base = weight_stats(_linear(w, b).SerializeToString())
    unused = numpy_helper.from_array(np.zeros(10_000, dtype=np.int8), "padding")
    assert weight_stats(_linear(w, b, extra=[unused]).SerializeToString()) == base
    dead_constant = helper.make_node("Constant", [], ["junk"], value=unused)
    padded = _linear(w, b)
    padded.graph.node.insert(0, dead_constant)
    assert weight_stats(padded.SerializeToString()) == base
    # the same weights delivered by a Constant node, or hidden in strings cast at run time, still count
    as_constant = _model(
        [
            helper.make_node("Constant", [], ["W"], value=numpy_helper.from_array(w, "W")),
            helper.make_node("MatMul", ["X", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "B"], ["z"]),
            *_head("z"),
        ],
        [numpy_helper.from_array(b, "B")],
    )
    assert weight_stats(as_constant.SerializeToString()) == base
    strings = helper.make_tensor("Ws", TensorProto.STRING, w.shape, [str(v).encode() for v in w.ravel()])
    as_strings = _model(
        [
            helper.make_node("Cast", ["Ws"], ["W"], to=TensorProto.FLOAT),
            helper.make_node("MatMul", ["X", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "B"], ["z"]),
            *_head("z"),
        ],
        [strings, numpy_helper.from_array(b, "B")],
    )
    hidden = weight_stats(as_strings.SerializeToString())
    assert hidden.parameters == 650 and hidden.light_parameters == 0


def _input_width_32() -> onnx.ModelProto:
    return _linear(np.zeros((32, 10), np.float32), np.zeros(10, np.float32))


def test_latency_configuration_is_the_one_stated_and_orders_models(dataset: Dataset) -> None:
    spec = ENGINE.spec(PACK)
    config = load_module(spec).latency_config(spec.folder)  # type: ignore[attr-defined]
    rows = len(dataset.inputs["X"])
    assert f"{config.warmup} warm-up runs then {config.runs} runs" in spec.interface.signature
    assert f"{rows} hidden rows" in spec.interface.signature and config.threads == 1
    assert f"stop after {config.budget_s:g} s" in spec.interface.signature
    small = _linear(*_weights()).SerializeToString()
    quick = latency.LatencyConfig(warmup=1, runs=11)
    times = latency.p50_ms(
        {"teacher": dataset.hidden["teacher_model"], "small": small}, dataset.inputs, quick
    )
    assert times["small"] < times["teacher"]  # ~650 vs ~307,000 weights: a wide, load-proof gap
    broken = _input_width_32().SerializeToString()
    with pytest.raises(SubmissionError, match="could not be timed"):
        latency.p50_ms({"broken": broken}, dataset.inputs, quick)
    # the budget bounds the rounds: 100,000 teacher runs would take minutes
    started = time.perf_counter()
    endless = latency.LatencyConfig(warmup=0, runs=100_000, budget_s=0.2)
    assert (
        latency.p50_ms({"teacher": dataset.hidden["teacher_model"]}, dataset.inputs, endless)["teacher"] > 0
    )
    assert time.perf_counter() - started < 10
