"""Hostile candidate models against the real sandbox: a model is hostile input, like code.

Measured before (issue 12): an ONNX model whose Constant node held an external-data tensor pointing at a
host file passed the check (it looked at graph.initializer only); onnxruntime, loading it in the service,
read the file and its bytes reached the failure reason. A 560-byte model took 24 s to load in the service
and an 816-byte one grew it by 0.9 GB. Each case below ends in a failed outcome naming the reason (never
the runtime's message, a host path or an exception's class), and the next honest model is graded.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader, GradingOutcome
from certifia_grading.domain.testing import zip_files

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"),
]

PACK_YAML = """
id: hostile_models
version: "0.0.1"
title: "probe pack for hostile models"
interface:
  kind: onnx
  model_file: model.onnx
  signature: "X float32[N,4] -> label int64[N], probabilities float32[N,2]"
  model_inputs: {X: "float32[N,4]"}
  model_outputs: {label: "int64[N]", probabilities: "float32[N,2]"}
dataset: {seed: 1}
limits: {cpu_seconds: 8, memory_mb: 1536, wall_seconds: 20, max_processes: 16, max_output_mb: 16, max_log_kb: 16}
criteria:
  - id: "2.A1.C1.E1"
    summary: "probe"
    checks: [{metric: accuracy, comparator: ">=", threshold: 0.9, reason: "the classes are separable"}]
"""
PACK_PY = """
import numpy as np
from certifia_grading.domain.spec import Dataset
from certifia_grading.packs.common import run_classifier

def build(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    return Dataset(inputs={"X": x}, hidden={"y": (x[:, 0] > 0).astype(np.int64)})

def score(submission, dataset, ctx):
    y = dataset.hidden["y"]
    label, _proba = run_classifier(ctx, submission.model_bytes, {"X": dataset.inputs["X"]}, len(y))
    return {"accuracy": float(np.mean(label == y))}
"""
SECRET = "certifia-token-secret-do-not-leak-0123456789"


@pytest.fixture(scope="module")
def probe() -> Iterator[tuple[Grader, Path]]:
    root = Path(tempfile.mkdtemp(prefix="certifia-hostile-models-"))
    pack = root / "packs" / "hostile_models"
    pack.mkdir(parents=True)
    (pack / "pack.yaml").write_text(PACK_YAML)
    (pack / "pack.py").write_text(PACK_PY)
    (root / "auth-secret").write_text(SECRET)
    yield Grader(root / "packs", sandbox=BwrapSandbox()), root
    shutil.rmtree(root, ignore_errors=True)


def classifier(
    extra_nodes: list[onnx.NodeProto] = (), extra_init: list[TensorProto] = (), bias: str | None = None
) -> onnx.GraphProto:  # type: ignore[assignment]
    """X -> logits = X @ W (+ bias) -> label (ArgMax), probabilities (Softmax): separable on feature 0."""
    weights = helper.make_tensor("W", TensorProto.FLOAT, [4, 2], [-1, 1, 0, 0, 0, 0, 0, 0])
    nodes = [helper.make_node("MatMul", ["X", "W"], ["raw"])]
    if bias:
        nodes.append(helper.make_node("Add", ["raw", bias], ["logits"]))
    else:
        nodes.append(helper.make_node("Identity", ["raw"], ["logits"]))
    nodes += [
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
    ]
    return helper.make_graph(
        [*extra_nodes, *nodes],
        "probe",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]),
        ],
        [weights, *extra_init],
    )


def serialise(graph: onnx.GraphProto, **kw: object) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9, **kw)
    return model.SerializeToString()


def external(path: Path, name: str = "leak") -> TensorProto:
    """A tensor whose data is a host file (what onnxruntime would read)."""
    tensor = TensorProto(name=name, data_type=TensorProto.UINT8, dims=[len(SECRET)])
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=str(path))
    return tensor


def grade(probe: tuple[Grader, Path], model: bytes) -> GradingOutcome:
    engine, _root = probe
    return engine.grade("hostile_models", zip_files({"model.onnx": model}))


def assert_told_nothing(outcome: GradingOutcome, root: Path) -> str:
    reason = outcome.failed_reason or ""
    assert reason, outcome
    assert SECRET not in reason and SECRET[:12] not in outcome.logs
    for leak in (str(root), "/tmp/", "/work/", "Error:", "Exception", "onnxruntime.capi", "Traceback"):
        assert leak not in reason, (leak, reason)
    return reason


@pytest.fixture
def honest_is_graded(probe: tuple[Grader, Path]) -> Iterator[None]:
    yield
    outcome = grade(probe, serialise(classifier()))
    assert outcome.failed_reason is None and all(v.verdict == "validated" for v in outcome.criteria), outcome


def constant_of(tensor: TensorProto, output: str = "c") -> onnx.NodeProto:
    return helper.make_node("Constant", [], [output], value=tensor)


CASES: dict[str, Callable[[Path], bytes]] = {
    "a Constant node's external data": lambda root: serialise(
        classifier([constant_of(external(root / "auth-secret"))])
    ),
    "an initializer's external data": lambda root: serialise(
        classifier(extra_init=[external(root / "auth-secret")])
    ),
    "external data inside an If branch": lambda root: serialise(
        classifier(
            [
                helper.make_node(
                    "Constant", [], ["cond"], value=helper.make_tensor("b", TensorProto.BOOL, [], [True])
                ),
                helper.make_node(
                    "If",
                    ["cond"],
                    ["branch"],
                    then_branch=helper.make_graph(
                        [constant_of(external(root / "auth-secret"), "t")],
                        "then",
                        [],
                        [helper.make_tensor_value_info("t", TensorProto.UINT8, [len(SECRET)])],
                    ),
                    else_branch=helper.make_graph(
                        [constant_of(helper.make_tensor("e", TensorProto.UINT8, [1], [0]), "e")],
                        "else",
                        [],
                        [helper.make_tensor_value_info("e", TensorProto.UINT8, [1])],
                    ),
                ),
            ]
        )
    ),
    "a sparse tensor's external data": lambda root: serialise(
        classifier(
            [
                helper.make_node(
                    "Constant",
                    [],
                    ["sparse"],
                    sparse_value=helper.make_sparse_tensor(
                        external(root / "auth-secret", "values"),
                        helper.make_tensor("indices", TensorProto.INT64, [1], [0]),
                        [len(SECRET)],
                    ),
                )
            ]
        )
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_model_pointing_at_a_host_file_is_refused_before_anything_loads_it(
    probe: tuple[Grader, Path], case: str, honest_is_graded: None
) -> None:
    outcome = grade(probe, CASES[case](probe[1]))
    assert "external data" in assert_told_nothing(outcome, probe[1])


def test_a_local_function_or_a_custom_domain_in_a_subgraph_is_refused(
    probe: tuple[Grader, Path], honest_is_graded: None
) -> None:
    function = helper.make_function(
        "evil.ops",
        "Double",
        ["x"],
        ["y"],
        [helper.make_node("Add", ["x", "x"], ["y"])],
        [helper.make_opsetid("", 17)],
    )
    with_function = helper.make_model(
        classifier(), opset_imports=[helper.make_opsetid("", 17)], ir_version=9, functions=[function]
    )
    assert "local functions" in assert_told_nothing(grade(probe, with_function.SerializeToString()), probe[1])
    custom = helper.make_node("Mystery", ["X"], ["m"], domain="com.evil")
    nested = helper.make_node(
        "If",
        ["cond"],
        ["n"],
        then_branch=helper.make_graph(
            [custom], "t", [], [helper.make_tensor_value_info("m", TensorProto.FLOAT, None)]
        ),
        else_branch=helper.make_graph(
            [custom], "e", [], [helper.make_tensor_value_info("m", TensorProto.FLOAT, None)]
        ),
    )
    cond = helper.make_node(
        "Constant", [], ["cond"], value=helper.make_tensor("b", TensorProto.BOOL, [], [True])
    )
    reason = assert_told_nothing(grade(probe, serialise(classifier([cond, nested]))), probe[1])
    assert "domain" in reason


def _bigger_than_memory() -> bytes:
    """Tiny on disk: a 40000 x 40000 float tensor (6.4 GB) made at load or run time, folded into the
    logits so that it cannot be pruned."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [40000, 40000])
    nodes = [
        helper.make_node(
            "ConstantOfShape",
            ["shape"],
            ["huge"],
            value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]),
        ),
        helper.make_node("ReduceSum", ["huge"], ["zero"], keepdims=0),
    ]
    return serialise(classifier(nodes, [shape], bias="zero"))


def _slower_than_its_limits() -> bytes:
    """A chain of 2000 x 2000 MatMuls on a constant: minutes of CPU for a few hundred bytes."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [2000, 2000])
    nodes = [
        helper.make_node(
            "ConstantOfShape",
            ["shape"],
            ["m0"],
            value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.001]),
        )
    ]
    for i in range(200):
        nodes.append(helper.make_node("MatMul", [f"m{i}", f"m{i}"], [f"m{i + 1}"]))
    nodes.append(helper.make_node("ReduceSum", ["m200"], ["zero"], keepdims=0))
    return serialise(classifier(nodes, [shape], bias="zero"))


@pytest.mark.parametrize("build", [_bigger_than_memory, _slower_than_its_limits], ids=["memory", "cpu"])
def test_a_model_that_would_exhaust_the_service_is_stopped_by_its_limits_in_the_sandbox(
    probe: tuple[Grader, Path], build: Callable[[], bytes], honest_is_graded: None
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = grade(probe, build())
    reason = assert_told_nothing(outcome, probe[1])
    assert any(word in reason for word in ("limits", "longer than", "could not be")), reason
    assert outcome.duration_s < 60
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"the grading process grew by {grown_mb:.0f} MB: the model ran in it"


def test_an_honest_model_is_scored_from_what_the_sandbox_returns(probe: tuple[Grader, Path]) -> None:
    outcome = grade(probe, serialise(classifier()))
    assert outcome.failed_reason is None and outcome.metrics["accuracy"] == 1.0
    assert np.isclose(outcome.metrics["accuracy"], 1.0)
