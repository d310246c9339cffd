"""Static measurements of an ONNX model: how many numbers it stores, in which types, and how many of the
bytes of its weights are stored in a type lighter than float32.

Only data the graph actually uses counts: tensors feeding a node that contributes to an output (dead
initializers or unused Constant nodes would otherwise let a model look lighter than it runs). Stored data
is every initializer, sparse initializer (its non-zero values) and numeric attribute of a live node
(Constant values, tree ensembles' lists...), subgraphs included. Strings count too, so weights cannot
hide in a string tensor cast to float at run time.

``low_precision_share`` is a share of BYTES (a float32 weight weighs four int8 ones), over the weights the
graph reads for their values, where:

- a light float (float16, bfloat16, float8...) counts as light wherever the graph reads it;
- a light integer (int8, uint8, int4...) counts as light only where a quantized operator reads it as a
  weight or zero point (``DequantizeLinear``, ``MatMulInteger``, ``ConvInteger``, ``QLinearMatMul``,
  ``QLinearConv``, ``QuantizeLinear``'s zero point), possibly through ``Identity``/``Reshape``/
  ``Transpose``/``Squeeze``/``Unsqueeze``/``Flatten``; read anywhere else (``Cast``, ``Gather`` indices...)
  it is data of its own width, not a quantized weight;
- a tensor read only for its shape (``Shape``, ``Size``) weighs nothing;
- a tensor whose values are all equal (zeros, a constant scale) weighs one value: 10,000 int8 zeros are
  one number, not 10,000 bytes of quantized weights.

What static analysis cannot see is a light weight read by a quantized operator whose result is then
discarded by arithmetic (multiplied by zero): the model still has to keep its accuracy, and the jury
reads the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import AttributeProto, GraphProto, NodeProto, TensorProto, numpy_helper

LIGHT_BITS = 16  # float16, bfloat16, int8, uint8, float8, int4...: "lighter" than float32

_BITS_BY_NAME = {
    "DOUBLE": 64, "COMPLEX64": 64, "COMPLEX128": 128, "INT64": 64, "UINT64": 64,
    "FLOAT": 32, "INT32": 32, "UINT32": 32,
    "FLOAT16": 16, "BFLOAT16": 16, "INT16": 16, "UINT16": 16,
    "INT8": 8, "UINT8": 8, "BOOL": 8, "FLOAT8E4M3FN": 8, "FLOAT8E4M3FNUZ": 8, "FLOAT8E5M2": 8,
    "FLOAT8E5M2FNUZ": 8, "FLOAT8E8M0": 8, "FLOAT6E2M3": 6, "FLOAT6E3M2": 6,
    "INT4": 4, "UINT4": 4, "FLOAT4E2M1": 4, "INT2": 2, "UINT2": 2,
}  # fmt: skip
BITS = {getattr(TensorProto, k): v for k, v in _BITS_BY_NAME.items() if hasattr(TensorProto, k)}
_HEAVY_BITS = 32  # an element type this table does not know counts as float32, never as light


_LIGHT_FLOATS = frozenset(
    getattr(TensorProto, k)
    for k in (
        "FLOAT16", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
        "FLOAT8E8M0", "FLOAT6E2M3", "FLOAT6E3M2", "FLOAT4E2M1",
    )
    if hasattr(TensorProto, k)
)  # fmt: skip
# inputs a quantized operator reads as (integer) weights, activations or zero points
_QUANTIZED_INPUTS = {
    "DequantizeLinear": (0, 2),
    "QuantizeLinear": (2,),
    "MatMulInteger": (0, 1, 2, 3),
    "ConvInteger": (0, 1, 2, 3),
    "QLinearMatMul": (0, 2, 3, 5, 7),
    "QLinearConv": (0, 2, 3, 5, 7),
}
_PASS_THROUGH = frozenset({"Identity", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten"})
_SHAPE_ONLY = frozenset({"Shape", "Size"})
_Uses = dict[str, list[tuple[str, int, str]]]  # name -> (op_type, input index, first output) of readers


@dataclass(frozen=True)
class WeightStats:
    parameters: int  # stored numbers (elements) the graph uses
    light_parameters: int  # those counted as light (see the module's docstring)
    weight_bytes: float  # their size in their stored types
    light_bytes: float = 0.0  # bytes of weights counted as light
    share_bytes: float = 0.0  # bytes the share is computed over (read for their values, repeats once)

    @property
    def low_precision_share(self) -> float:
        """Share of the weights' bytes stored in a light type and read as such (0 when none is stored)."""
        return self.light_bytes / self.share_bytes if self.share_bytes else 0.0


@dataclass(frozen=True)
class _Item:
    elements: int
    nbytes: float
    light: bool
    share_bytes: float


def _count(values: Iterable[int]) -> int:
    total = 1
    for v in values:
        total *= int(v)
    return total


def _all_equal(t: TensorProto, n: int) -> bool:
    if n <= 1:
        return False
    try:
        values = numpy_helper.to_array(t).reshape(-1)
    except Exception:  # a type numpy cannot hold: counted in full
        return False
    return bool(values.size == n and np.all(values == values[0]))


def _reads(name: str, uses: _Uses) -> tuple[bool, bool]:
    """(read for its values, read by a quantized operator), following value-preserving operators."""
    values = quantized = False
    todo, seen = [name], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for op, index, output in uses.get(current, ()):
            if op in _SHAPE_ONLY:
                continue
            values = True
            if index in _QUANTIZED_INPUTS.get(op, ()):
                quantized = True
            elif op in _PASS_THROUGH and index == 0 and output:
                todo.append(output)
    return values, quantized


def _tensor(t: TensorProto, name: str | None = None, uses: _Uses | None = None) -> _Item:
    """One stored tensor; ``name``: the value it is read as (None: an attribute read by its node)."""
    if t.data_type == TensorProto.STRING:
        size = float(sum(len(s) for s in t.string_data))
        return _Item(len(t.string_data), size, False, size)
    n = _count(t.dims)
    bits = BITS.get(t.data_type, _HEAVY_BITS)
    read, quantized = _reads(name, uses or {}) if name is not None else (True, False)
    light = bits <= LIGHT_BITS and read and (t.data_type in _LIGHT_FLOATS or quantized)
    weighed = 0.0 if not read else (bits / 8 if _all_equal(t, n) else n * bits / 8)
    return _Item(n, n * bits / 8, light, weighed)


def _subgraphs(node: NodeProto) -> Iterator[GraphProto]:
    for attr in node.attribute:
        if attr.type == AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == AttributeProto.GRAPHS:
            yield from attr.graphs


def _names_used_inside(graph: GraphProto) -> set[str]:
    """Every name a subgraph reads (over-approximates its outer-scope references; enough to keep them live)."""
    names: set[str] = set()
    for node in graph.node:
        names.update(node.input)
        for sub in _subgraphs(node):
            names |= _names_used_inside(sub)
    return names


def _attribute_data(attr: AttributeProto, name: str | None, uses: _Uses) -> Iterator[_Item]:
    if attr.type == AttributeProto.TENSOR:
        yield _tensor(attr.t, name, uses)
    elif attr.type == AttributeProto.TENSORS:
        yield from (_tensor(t) for t in attr.tensors)
    elif attr.type == AttributeProto.SPARSE_TENSOR:
        yield _tensor(attr.sparse_tensor.values, name, uses)
    elif attr.type == AttributeProto.SPARSE_TENSORS:
        yield from (_tensor(s.values) for s in attr.sparse_tensors)
    elif attr.type == AttributeProto.FLOATS:
        yield _Item(len(attr.floats), 4.0 * len(attr.floats), False, 4.0 * len(attr.floats))
    elif attr.type == AttributeProto.INTS:
        yield _Item(len(attr.ints), 8.0 * len(attr.ints), False, 8.0 * len(attr.ints))
    elif attr.type == AttributeProto.STRINGS:
        size = float(sum(len(s) for s in attr.strings))
        yield _Item(len(attr.strings), size, False, size)


def _live_nodes(graph: GraphProto) -> tuple[list[NodeProto], set[str]]:
    """The nodes that reach the graph's outputs (nodes are topologically sorted) and the names they read."""
    needed = {o.name for o in graph.output}
    live = []
    for node in reversed(graph.node):
        if not any(name in needed for name in node.output):
            continue
        live.append(node)
        needed.update(node.input)
        for sub in _subgraphs(node):
            needed |= _names_used_inside(sub)
    return live, needed


def _uses(nodes: list[NodeProto]) -> _Uses:
    """Who reads each name among these live nodes and, through their subgraphs, their live nodes."""
    uses: _Uses = {}
    for node in nodes:
        for index, name in enumerate(node.input):
            uses.setdefault(name, []).append((node.op_type, index, node.output[0] if node.output else ""))
        for sub in _subgraphs(node):
            for name, readers in _uses(_live_nodes(sub)[0]).items():
                uses.setdefault(name, []).extend(readers)
    return uses


def _graph_data(graph: GraphProto) -> Iterator[_Item]:
    """Stored data of the nodes that reach the graph's outputs, and of the initializers they read."""
    live, needed = _live_nodes(graph)
    uses = _uses(live)
    for node in live:
        value = node.output[0] if node.op_type == "Constant" and node.output else None
        for attr in node.attribute:
            yield from _attribute_data(attr, value, uses)
        for sub in _subgraphs(node):
            yield from _graph_data(sub)
    yield from (_tensor(t, t.name, uses) for t in graph.initializer if t.name in needed)
    yield from (
        _tensor(s.values, s.values.name, uses) for s in graph.sparse_initializer if s.values.name in needed
    )


def weight_stats(model_bytes: bytes) -> WeightStats:
    model = onnx.load_model_from_string(model_bytes)
    parameters, light, size, light_size, share_size = 0, 0, 0.0, 0.0, 0.0
    for item in _graph_data(model.graph):
        parameters += item.elements
        size += item.nbytes
        share_size += item.share_bytes
        if item.light:
            light += item.elements
            light_size += item.share_bytes
    return WeightStats(
        parameters=parameters,
        light_parameters=light,
        weight_bytes=size,
        light_bytes=light_size,
        share_bytes=share_size,
    )
