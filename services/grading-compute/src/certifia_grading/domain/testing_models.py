"""Hand-made ONNX classifiers for the b5b_model_compression tests (unit and integration): a float32 linear
classifier over the pack's 64 features and 10 classes, and its float16 re-export."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def classifier(nodes: list, initializers: list, *, width: int = 64, classes: int = 10) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "hand_made",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, width])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, classes]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def softmax_head(logits: str) -> list:
    return [
        helper.make_node("Softmax", [logits], ["probabilities"], axis=1),
        helper.make_node("ArgMax", [logits], ["label"], axis=1, keepdims=0),
    ]


def linear_classifier(w: np.ndarray, b: np.ndarray, *, extra: list | None = None) -> onnx.ModelProto:
    """A float32 linear classifier X @ W + B (extra: initializers the graph does not use)."""
    nodes = [helper.make_node("MatMul", ["X", "W"], ["xw"]), helper.make_node("Add", ["xw", "B"], ["z"])]
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B"), *(extra or [])]
    return classifier(nodes + softmax_head("z"), inits, width=w.shape[0], classes=w.shape[1])


def linear_weights(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(64, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32)


def as_float16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every initializer stored in float16, the input cast down and the probabilities cast back up."""
    inits = [
        numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name)
        for t in model.graph.initializer
    ]
    nodes = [helper.make_node("Cast", ["X"], ["X16"], to=TensorProto.FLOAT16)]
    for node in model.graph.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.input[:] = ["X16" if name == "X" else name for name in node.input]
        copy.output[:] = ["p16" if name == "probabilities" else name for name in node.output]
        nodes.append(copy)
    nodes.append(helper.make_node("Cast", ["p16"], ["probabilities"], to=TensorProto.FLOAT))
    width = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    return classifier(nodes, inits, width=width)
