"""Builds the reference model.onnx for b5b_model_compression: distillation, then int8 quantization.

The teacher labels the transfer images; a small MLP (64-64-10, ~60 times fewer parameters) learns those
predictions; onnxruntime's dynamic quantization then stores its weight matrices in int8 (standard
DynamicQuantizeLinear / MatMulInteger operators, per output channel).
"""

import tempfile
from pathlib import Path

import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def build(public: dict) -> dict[str, bytes]:
    x = public["X_transfer"]
    teacher = ort.InferenceSession(public["teacher_model"], providers=["CPUExecutionProvider"])
    y = teacher.run(["label"], {"X": x})[0]
    student = make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=500, random_state=0)
    ).fit(x, y)
    onx = convert_sklearn(
        student,
        initial_types=[("X", FloatTensorType([None, 64]))],
        options={"zipmap": False},
        target_opset=17,
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "student_int8.onnx"
        quantize_dynamic(onx, out, per_channel=True, weight_type=QuantType.QInt8)
        quantized = onnx.load(out)
    return {"model.onnx": quantized.SerializeToString()}
