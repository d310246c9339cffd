"""Static measurements of an ONNX model: how many numbers it stores and in which types.

Only data the graph actually uses counts: tensors feeding a node that contributes to an output (dead
initializers or unused Constant nodes would otherwise let a model look lighter than it runs). Stored data
is every initializer, sparse initializer (its non-zero values) and numeric attribute of a live node
(Constant values, tree ensembles' lists...), subgraphs included. Strings count too, so weights cannot
hide in a string tensor cast to float at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import onnx
from onnx import AttributeProto, GraphProto, NodeProto, TensorProto

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


@dataclass(frozen=True)
class WeightStats:
    parameters: int  # stored numbers (elements) the graph uses
    light_parameters: int  # those stored in types of LIGHT_BITS bits or fewer
    weight_bytes: float  # their size in their stored types

    @property
    def low_precision_share(self) -> float:
        """Share of the stored numbers kept in a light type (int8, float16...), 0 when none is stored."""
        return self.light_parameters / self.parameters if self.parameters else 0.0


def _count(values: Iterable[int]) -> int:
    total = 1
    for v in values:
        total *= int(v)
    return total


def _tensor(t: TensorProto) -> tuple[int, int, float]:
    """(elements, elements in a light type, bytes) of one stored tensor."""
    if t.data_type == TensorProto.STRING:
        return len(t.string_data), 0, float(sum(len(s) for s in t.string_data))
    n = _count(t.dims)
    bits = BITS.get(t.data_type, _HEAVY_BITS)
    return n, n if bits <= LIGHT_BITS else 0, n * bits / 8


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


def _attribute_data(attr: AttributeProto) -> Iterator[tuple[int, int, float]]:
    if attr.type == AttributeProto.TENSOR:
        yield _tensor(attr.t)
    elif attr.type == AttributeProto.TENSORS:
        yield from (_tensor(t) for t in attr.tensors)
    elif attr.type == AttributeProto.SPARSE_TENSOR:
        yield _tensor(attr.sparse_tensor.values)
    elif attr.type == AttributeProto.SPARSE_TENSORS:
        yield from (_tensor(s.values) for s in attr.sparse_tensors)
    elif attr.type == AttributeProto.FLOATS:
        yield len(attr.floats), 0, 4.0 * len(attr.floats)
    elif attr.type == AttributeProto.INTS:
        yield len(attr.ints), 0, 8.0 * len(attr.ints)
    elif attr.type == AttributeProto.STRINGS:
        yield len(attr.strings), 0, float(sum(len(s) for s in attr.strings))


def _graph_data(graph: GraphProto) -> Iterator[tuple[int, int, float]]:
    """Stored data of the nodes that reach the graph's outputs (nodes are topologically sorted)."""
    needed = {o.name for o in graph.output}
    for node in reversed(graph.node):
        if not any(name in needed for name in node.output):
            continue
        needed.update(node.input)
        for attr in node.attribute:
            yield from _attribute_data(attr)
        for sub in _subgraphs(node):
            needed |= _names_used_inside(sub)
            yield from _graph_data(sub)
    yield from (_tensor(t) for t in graph.initializer if t.name in needed)
    yield from (_tensor(s.values) for s in graph.sparse_initializer if s.values.name in needed)


def weight_stats(model_bytes: bytes) -> WeightStats:
    model = onnx.load_model_from_string(model_bytes)
    parameters, light, size = 0, 0, 0.0
    for n, n_light, n_bytes in _graph_data(model.graph):
        parameters += n
        light += n_light
        size += n_bytes
    return WeightStats(parameters=parameters, light_parameters=light, weight_bytes=size)
