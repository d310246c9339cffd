"""What a candidate's ONNX model may contain, checked on its bytes before anything loads it.

A model is hostile input, like code. Measured once: a ``Constant`` node holding an external-data tensor
(``location`` = a file of the host) passed a check that looked at ``graph.initializer`` only, and
onnxruntime, loading the model in the service, read that file. So every tensor anywhere is checked:
initializers, sparse initializers, node attributes (tensors, sparse tensors), and the graphs nested in
``If``/``Loop``/``Scan`` attributes; no external data, no custom operator domain, no local functions, no
absurd tensor or shape. The messages name what is refused, never what the model contained.

Then the model is loaded and run only in the sandbox (certifia_grading.domain.sandboxed_inference).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from certifia_grading.domain.model import SubmissionError

ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
MAX_MODEL_BYTES = 64 * 1024 * 1024
MAX_NODES = 20_000
MAX_GRAPH_DEPTH = 8
MAX_TENSOR_ELEMENTS = 64 * 1024 * 1024  # any one stored tensor
MAX_DIM = 1 << 31  # a declared dimension (inputs, outputs, value_info)


def inspect_model(model_bytes: bytes, model_inputs: dict[str, str]) -> None:
    """Raise SubmissionError when the model may not be loaded; return when it may (in the sandbox)."""
    import onnx

    if len(model_bytes) > MAX_MODEL_BYTES:
        raise SubmissionError(f"model is {len(model_bytes)} bytes, more than the {MAX_MODEL_BYTES} allowed")
    try:
        model = onnx.load_model_from_string(model_bytes)
    except Exception:
        raise SubmissionError("model is not an ONNX model (it does not parse as a ModelProto)") from None
    if len(model.functions):
        raise SubmissionError("model defines local functions: refused (only standard ONNX operators)")
    for opset in model.opset_import:
        if opset.domain not in ALLOWED_DOMAINS:
            raise SubmissionError(f"model imports the operator domain {_shown(opset.domain)}: refused")
    nodes = 0
    for graph, depth in _graphs(model.graph, 0):
        if depth > MAX_GRAPH_DEPTH:
            raise SubmissionError(f"model nests subgraphs more than {MAX_GRAPH_DEPTH} deep: refused")
        nodes += len(graph.node)
        if nodes > MAX_NODES:
            raise SubmissionError(f"model has more than {MAX_NODES} nodes: refused")
        for node in graph.node:
            if node.domain not in ALLOWED_DOMAINS:
                raise SubmissionError(f"model uses an operator of the domain {_shown(node.domain)}: refused")
        for tensor in _tensors(graph):
            _check_tensor(tensor)
        for value in (*graph.input, *graph.output, *graph.value_info):
            _check_shape(value)
    _check_inputs(model, model_inputs)
    try:
        onnx.checker.check_model(model)
    except Exception:
        raise SubmissionError("model is not a valid ONNX model (the ONNX checker refuses it)") from None


def _shown(text: str) -> str:
    return repr(text[:40])


def _graphs(graph: Any, depth: int) -> Iterator[tuple[Any, int]]:
    yield graph, depth
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g, depth + 1)
            for sub in attribute.graphs:
                yield from _graphs(sub, depth + 1)


def _tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices
            for sparse in attribute.sparse_tensors:
                yield sparse.values
                yield sparse.indices


def _check_tensor(tensor: Any) -> None:
    import onnx

    if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
        raise SubmissionError("model refers to external data (a file outside the model): refused")
    elements = 1
    for dim in tensor.dims:
        if dim < 0:
            raise SubmissionError("model holds a tensor with a negative dimension: refused")
        elements *= dim
        if elements > MAX_TENSOR_ELEMENTS:
            raise SubmissionError(
                f"model holds a tensor of more than {MAX_TENSOR_ELEMENTS} elements: refused"
            )


def _check_shape(value: Any) -> None:
    kind = value.type.WhichOneof("value") if value.HasField("type") else None
    if kind != "tensor_type":
        return
    for dim in value.type.tensor_type.shape.dim:
        if dim.HasField("dim_value") and not 0 <= dim.dim_value <= MAX_DIM:
            raise SubmissionError("model declares an absurd tensor shape: refused")


def _check_inputs(model: Any, model_inputs: dict[str, str]) -> None:
    declared = {i.name for i in model.graph.input} - {t.name for t in model.graph.initializer}
    missing, extra = set(model_inputs) - declared, declared - set(model_inputs)
    if missing or extra:
        names = sorted(n[:40] for n in declared)[:10]
        raise SubmissionError(f"model inputs {names} do not match the pack's contract {sorted(model_inputs)}")
