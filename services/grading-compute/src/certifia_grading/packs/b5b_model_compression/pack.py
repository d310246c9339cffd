"""Bloc 5B model compression: a wide teacher network on 8x8 digits (scikit-learn's load_digits, no download)
is handed to the candidate, who returns a lighter model with the same contract.

The teacher is a random-feature network: 4096 fixed random ReLU units, the output layer solved in closed
form (ridge regression), so it is built in well under a second and identically on every machine. The
candidate gets the teacher and the images it was trained on, without their labels: a student has to be
trained on the teacher's predictions. The trusted scorer compares student and teacher on the hidden
set (accuracy, agreement), statically (file size, stored parameters, bytes in light types) and in time.
The teacher and its images derive from the published seed (``public_seed``: the candidate rebuilds them);
the hidden set is never images of the public dataset: variants of the held-out images drawn under the
grading secret (``seed``: packs.common.digit_variants), in a secret order.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from certifia_grading.engine.inference import OnnxRuntimeBackend
from certifia_grading.engine.model import SubmissionError
from certifia_grading.engine.spec import Dataset, ScoreContext, Submission
from certifia_grading.packs.b5b_model_compression import latency
from certifia_grading.packs.b5b_model_compression.model_stats import weight_stats
from certifia_grading.packs.common import digit_variants, run_classifier

CLASSES = 10
HIDDEN_UNITS = 4096  # wide enough that a small student is many times faster, still ~1.2 MB
RIDGE = 0.01  # relative to the mean feature energy
TEMPERATURE = 10.0  # turns ridge scores (~0..1) into confident, still informative probabilities


def teacher_model(x: np.ndarray, y: np.ndarray, seed: int) -> bytes:
    rng = np.random.default_rng(seed)  # numpy's generators give the same numbers on every platform
    w1 = (rng.normal(size=(x.shape[1], HIDDEN_UNITS)) / 32.0).astype(np.float32)
    b1 = (rng.normal(size=HIDDEN_UNITS) * 0.5).astype(np.float32)
    features = np.maximum(x.astype(np.float64) @ w1 + b1, 0.0)
    gram = features @ features.T  # dual ridge: a (n, n) solve instead of (4096, 4096)
    shift = RIDGE * np.trace(gram) / len(gram)
    dual = np.linalg.solve(gram + shift * np.eye(len(gram)), np.eye(CLASSES)[y])
    # Rounded so that the last bits of the BLAS solve (which depend on the CPU and thread count) cannot
    # change the teacher's bytes from one worker to another.
    w2 = np.round(features.T @ dual * TEMPERATURE, 6).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["X", "W1"], ["h_lin"]),
        helper.make_node("Add", ["h_lin", "B1"], ["h_pre"]),
        helper.make_node("Relu", ["h_pre"], ["h"]),
        helper.make_node("MatMul", ["h", "W2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "teacher",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, x.shape[1]])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, CLASSES]),
        ],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "W1"), (b1, "B1"), (w2, "W2"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="certifia")
    model.ir_version = 8  # loadable by older onnxruntime builds (Triton's) too
    onnx.checker.check_model(model)
    return model.SerializeToString()


def build(seed: int, public_seed: int | None = None) -> Dataset:
    data = load_digits()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    split = (seed if public_seed is None else public_seed) % 2**32  # sklearn: a 32-bit random_state
    x_train, x_held, y_train, y_held = train_test_split(x, y, test_size=0.3, stratify=y, random_state=split)
    teacher = teacher_model(x_train, y_train, split)
    x_test, y_test = digit_variants(x_held, y_held, np.random.default_rng(seed))
    teacher_label = OnnxRuntimeBackend().predict(teacher, {"X": x_test})["label"].astype(np.int64)
    return Dataset(
        inputs={"X": x_test},
        hidden={
            "y": y_test,
            "teacher_label": teacher_label,
            "teacher_accuracy": float(accuracy_score(y_test, teacher_label)),
            "teacher_model": teacher,
            "teacher_weights": weight_stats(teacher),
        },
        public={"teacher_model": teacher, "X_transfer": x_train},  # no labels: distil from the teacher
    )


@functools.cache
def latency_config(folder: Path) -> latency.LatencyConfig:
    """The timing configuration, stated in the pack's pack.yaml (``latency:``)."""
    raw = yaml.safe_load((folder / "pack.yaml").read_text(encoding="utf-8"))
    return latency.LatencyConfig.from_mapping(raw["latency"])


def score(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
    x, y, hidden = dataset.inputs["X"], dataset.hidden["y"], dataset.hidden
    model = submission.model_bytes
    label, proba = run_classifier(ctx, model, {"X": x}, len(y))
    if proba.shape[1] != CLASSES:
        raise SubmissionError(
            f"'probabilities' must have {CLASSES} columns (one per digit), got {proba.shape}"
        )
    accuracy = float(accuracy_score(y, label))
    student, teacher = weight_stats(model), hidden["teacher_weights"]
    times = latency.p50_ms(
        {"teacher": hidden["teacher_model"], "student": model},
        {"X": x},
        latency_config(ctx.spec.folder),
        timer=ctx.timer,  # the sandbox: a candidate model is never loaded in this process
    )
    return {
        "accuracy": accuracy,
        "teacher_accuracy": hidden["teacher_accuracy"],
        "accuracy_kept": accuracy / hidden["teacher_accuracy"],
        "fidelity": float(accuracy_score(hidden["teacher_label"], label)),
        "model_bytes": float(len(model)),
        "teacher_model_bytes": float(len(hidden["teacher_model"])),
        "size_ratio": len(model) / len(hidden["teacher_model"]),
        "parameters": float(student.parameters),
        "teacher_parameters": float(teacher.parameters),
        "parameter_ratio": student.parameters / teacher.parameters,
        "low_precision_share": student.low_precision_share,
        "bytes_per_parameter": student.weight_bytes / student.parameters if student.parameters else None,
        "latency_teacher_ms": times["teacher"],
        "latency_student_ms": times["student"],
        "latency_ratio": times["student"] / times["teacher"],
    }
