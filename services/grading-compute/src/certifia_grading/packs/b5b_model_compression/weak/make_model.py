"""Builds the weak model.onnx for b5b_model_compression: the teacher re-exported unchanged.

Re-saving the teacher (all weights in float32, same architecture) is "delivering a model" without
compressing it: lighter types (E2), size (E4), distillation (E5) and speed-up (A4.C1.E1) are all missed
while its accuracy is, of course, kept.
"""

import onnx


def build(public: dict) -> dict[str, bytes]:
    model = onnx.load_model_from_string(public["teacher_model"])
    model.producer_name = "re-exported"
    return {"model.onnx": model.SerializeToString()}
