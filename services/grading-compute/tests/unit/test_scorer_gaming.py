"""Scorers measure what their criterion says, not a name or a count that is easy to game (issue 12, item 5).

b2_data_cleaning: personal data is found whatever its case, accents, spacing or common obfuscation
(``x @ y``, ``x [at] y``, ``(dot)``, phone separators), split over columns or in a header; a useless
column (identifier, constant, duplicate) is found by its content under any name, and an informative one
counts as kept under any name. b5b_model_compression: ``low_precision_share`` is a share of the bytes of
the weights the graph uses, a light integer tensor counting only where a quantized operator reads it.

Pure-logic tests of the trusted scorers: honest outputs come from the pack's own reference solution (run
in this process: it is our code), then one thing is changed the way a gaming submission would.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from certifia_grading.adapters.sandbox import UnsandboxedRunner
from certifia_grading.domain import Grader, safe_io
from certifia_grading.domain.spec import Dataset, ScoreContext, Submission, load_module
from certifia_grading.domain.verdicts import judge
from certifia_grading.packs.b5b_model_compression.model_stats import weight_stats

ENGINE = Grader(sandbox=UnsandboxedRunner())
B2 = "b2_data_cleaning"
PERSONAL = "2.A1.C1.E1"
USEFUL = "2.A1.C2.E3"


# -- b2_data_cleaning -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def b2() -> Dataset:
    return ENGINE.dataset(B2)


@pytest.fixture(scope="module")
def honest(b2: Dataset) -> dict[str, Any]:
    """The reference solution's outputs, as the scorer receives them (cleaned through CSV)."""
    path = ENGINE.spec(B2).folder / "reference" / "solution.py"
    spec = importlib.util.spec_from_file_location("certifia_b2_reference_for_gaming", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.clean(b2.inputs["table"].copy()))


def _table(b2: Dataset) -> pd.DataFrame:
    table: pd.DataFrame = b2.hidden["table"]
    return table


def _score(b2: Dataset, outputs: dict[str, Any], cleaned: pd.DataFrame) -> dict[str, str]:
    data = cleaned.to_csv(index=False).encode("utf-8")
    parsed = {**outputs, "cleaned": safe_io.parse("cleaned", data, "csv")}
    spec = ENGINE.spec(B2)
    ctx = ScoreContext(inference=ENGINE.inference, spec=spec)
    metrics = load_module(spec).score(Submission(outputs=parsed), b2, ctx)
    return {c.id: judge(c, metrics).verdict for c in spec.criteria} | {k: str(v) for k, v in metrics.items()}


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def test_the_honest_reference_validates_both_criteria(b2: Dataset, honest: dict[str, Any]) -> None:
    result = _score(b2, honest, honest["cleaned"])
    assert result[PERSONAL] == result[USEFUL] == "validated", result


def _with(honest: dict[str, Any], **columns: Any) -> pd.DataFrame:
    cleaned = honest["cleaned"].copy()
    for name, values in columns.items():
        cleaned[name] = list(values)
    return cleaned


PERSONAL_GAMES: dict[str, Callable[[pd.DataFrame], dict[str, Any]]] = {
    "names-uppercased": lambda t: {"CEO_NAME": t["ceo_name"].str.upper()},
    "names-without-accents-and-underscored": lambda t: {
        "dirigeant": [_ascii(v).lower().replace(" ", "_") for v in t["ceo_name"]]
    },
    "names-reversed": lambda t: {"ceo": [" ".join(reversed(v.split())) for v in t["ceo_name"]]},
    "names-split-over-two-columns": lambda t: {
        "first": [v.split()[0] for v in t["ceo_name"]],
        "last": [v.split()[1].upper() for v in t["ceo_name"]],
    },
    "emails-with-spaced-at": lambda t: {"contact": t["ceo_email"].str.replace("@", " @ ")},
    "emails-with-bracket-at-and-dot": lambda t: {
        "contact": [e.replace("@", " [at] ").replace(".", "(dot)") for e in t["ceo_email"]]
    },
    "emails-uppercased-with-at-word": lambda t: {
        "MAIL": [e.upper().replace("@", " AT ").replace(".", " DOT ") for e in t["ceo_email"]]
    },
    "phones-with-dots": lambda t: {
        "tel": [".".join(_digits(p)[i : i + 2] for i in range(0, 10, 2)) for p in t["ceo_phone"]]
    },
    "phones-with-spaces-and-no-prefix": lambda t: {
        "tel": [" ".join(_digits(p)[i : i + 2] for i in range(0, 10, 2)) for p in t["ceo_phone"]]
    },
    "phones-as-plain-numbers": lambda t: {"tel": [int(_digits(p)) for p in t["ceo_phone"]]},
}


def _digits(phone: str) -> str:
    """The national form 0XXXXXXXXX of a +33 number."""
    digits = "".join(c for c in phone if c.isdigit())
    return "0" + digits[2:] if digits.startswith("33") else digits


@pytest.mark.parametrize("game", sorted(PERSONAL_GAMES))
def test_personal_data_in_any_form_is_a_leak(b2: Dataset, honest: dict[str, Any], game: str) -> None:
    cleaned = _with(honest, **PERSONAL_GAMES[game](_table(b2)))
    result = _score(b2, honest, cleaned)
    assert result[PERSONAL] == "rejected", (game, result["personal_data_leaks"])
    assert float(result["personal_data_leaks"]) >= 300


def test_a_name_in_a_column_header_is_a_leak(b2: Dataset, honest: dict[str, Any]) -> None:
    name = str(_table(b2)["ceo_name"].iloc[7]).upper()
    result = _score(b2, honest, _with(honest, **{name: [1.0] * len(_table(b2))}))
    assert result[PERSONAL] == "rejected"


USELESS_GAMES: dict[str, Callable[[pd.DataFrame], dict[str, Any]]] = {
    "identifier-uppercased": lambda t: {"COMPANY_ID": t["company_id"]},
    "identifier-renamed": lambda t: {"ref_entreprise": t["company_id"].str.lower()},
    "identifier-as-row-numbers": lambda t: {"numero": range(len(t))},
    "constant-renamed": lambda t: {"devise": t["currency"]},
    "duplicate-renamed": lambda t: {"actifs_k": t["total_assets_keur"]},
    "duplicate-of-a-category": lambda t: {"secteur_code": pd.factorize(t["sector"])[0]},
}


@pytest.mark.parametrize("game", sorted(USELESS_GAMES))
def test_a_useless_column_is_found_by_its_content(b2: Dataset, honest: dict[str, Any], game: str) -> None:
    cleaned = _with(honest, **USELESS_GAMES[game](_table(b2)))
    result = _score(b2, honest, cleaned)
    assert result[USEFUL] == "rejected", (game, result["useless_columns_kept"])
    assert result["useless_columns_kept"] == "1.0" and result["informative_columns_dropped"] == "0.0"


def test_an_informative_column_under_another_name_is_kept(b2: Dataset, honest: dict[str, Any]) -> None:
    cleaned = honest["cleaned"].rename(columns={"sector": "Secteur", "country": "pays"})
    cleaned["pays"] = cleaned["pays"].str.lower()
    result = _score(b2, honest, cleaned)
    assert result[USEFUL] == "validated", result
    dropped = honest["cleaned"].drop(columns=["country"])
    assert _score(b2, honest, dropped)["informative_columns_dropped"] == "1.0"


def test_a_table_of_absurd_width_is_not_measured(b2: Dataset, honest: dict[str, Any]) -> None:
    wide = pd.concat([honest["cleaned"], pd.DataFrame(np.zeros((len(_table(b2)), 300)))], axis=1)
    result = _score(b2, honest, wide)
    assert result["personal_data_leaks"] == result["useless_columns_kept"] == "None"
    assert result[PERSONAL] == result[USEFUL] == "rejected"


# -- b5b_model_compression: low_precision_share ---------------------------------------------------------
SHARE_THRESHOLD = 0.5  # 5B.A3.C1.E2's check, read from the pack below


def _linear_with(extra_nodes: list[Any], extra_inits: list[Any], logits_from: str = "z") -> bytes:
    """A float32 linear classifier on 64 inputs; extra nodes may add a term to its logits."""
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(64, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["z"]),
        *extra_nodes,
        helper.make_node("Softmax", [logits_from], ["probabilities"], axis=1),
        helper.make_node("ArgMax", [logits_from], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "gamed",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 64])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 10]),
        ],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B"), *extra_inits],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _times_zero(source: str) -> list[Any]:
    """ReduceSum(source) * 0 added to the logits: the tensor is live, and changes nothing."""
    return [
        helper.make_node("ReduceSum", [source], ["junk_sum"], keepdims=0),
        helper.make_node("Mul", ["junk_sum", "zero"], ["junk_zero"]),
        helper.make_node("Add", ["z", "junk_zero"], ["z2"]),
    ]


ZERO = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")
SCALE = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "junk_scale")


def _int8(values: np.ndarray) -> Any:
    return numpy_helper.from_array(values.astype(np.int8), "junk")


def _noise() -> np.ndarray:
    return np.random.default_rng(1).integers(-127, 128, size=10_000)


GAMED_MODELS: dict[str, Callable[[], bytes]] = {
    "int8-zeros-cast-and-multiplied-by-zero": lambda: _linear_with(
        [helper.make_node("Cast", ["junk"], ["junk_f"], to=TensorProto.FLOAT), *_times_zero("junk_f")],
        [_int8(np.zeros(10_000)), ZERO],
        "z2",
    ),
    "int8-noise-cast-and-multiplied-by-zero": lambda: _linear_with(
        [helper.make_node("Cast", ["junk"], ["junk_f"], to=TensorProto.FLOAT), *_times_zero("junk_f")],
        [_int8(_noise()), ZERO],
        "z2",
    ),
    "int8-zeros-dequantized-and-multiplied-by-zero": lambda: _linear_with(
        [helper.make_node("DequantizeLinear", ["junk", "junk_scale"], ["junk_f"]), *_times_zero("junk_f")],
        [_int8(np.zeros(10_000)), SCALE, ZERO],
        "z2",
    ),
    "int8-zeros-read-for-their-shape-only": lambda: _linear_with(
        [
            helper.make_node("Shape", ["junk"], ["junk_shape"]),
            helper.make_node("Cast", ["junk_shape"], ["junk_f"], to=TensorProto.FLOAT),
            *_times_zero("junk_f"),
        ],
        [_int8(_noise()), ZERO],
        "z2",
    ),
}


def _share_check() -> Any:
    spec = ENGINE.spec("b5b_model_compression")
    criterion = next(c for c in spec.criteria if c.id == "5B.A3.C1.E2")
    return next(k for k in criterion.checks if k.metric == "low_precision_share")


@pytest.mark.parametrize("game", sorted(GAMED_MODELS))
def test_light_padding_beside_float32_weights_is_not_quantization(game: str) -> None:
    import onnxruntime as ort

    model = GAMED_MODELS[game]()
    x = np.random.default_rng(2).normal(size=(5, 64)).astype(np.float32)
    plain = _linear_with([], [])
    run = ort.InferenceSession(model).run(["probabilities"], {"X": x})[0]
    np.testing.assert_allclose(run, ort.InferenceSession(plain).run(["probabilities"], {"X": x})[0])
    stats = weight_stats(model)
    assert stats.low_precision_share < 0.05, stats
    assert not _share_check().passes(stats.low_precision_share)
    assert _share_check().threshold == SHARE_THRESHOLD


def test_the_share_is_over_bytes_and_real_quantization_still_counts() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(64, 10)).astype(np.float32)
    scale = (np.abs(w).max(axis=0) / 127).astype(np.float32)
    wq = np.round(w / scale).astype(np.int8)
    nodes = [
        helper.make_node("DequantizeLinear", ["Wq", "scale"], ["Wd"], axis=1),
        helper.make_node("MatMul", ["X", "Wd"], ["xq"]),
        helper.make_node("Add", ["z", "xq"], ["z2"]),
    ]
    inits = [numpy_helper.from_array(wq, "Wq"), numpy_helper.from_array(scale, "scale")]
    stats = weight_stats(_linear_with(nodes, inits, "z2"))
    # 640 int8 bytes read by DequantizeLinear; float32: W 2560, B 40, scale 40 bytes
    assert stats.light_bytes == 640 and stats.share_bytes == 640 + 2560 + 40 + 40
    assert stats.low_precision_share == pytest.approx(640 / 3280)
    # counted in numbers it was at 0.49 (640 int8 against 660 float32 numbers), in bytes it is at 0.2
    assert (stats.light_parameters, stats.parameters) == (640, 1300)


def test_honest_int8_zero_points_count_once_not_for_each_element() -> None:
    rng = np.random.default_rng(4)
    w = rng.normal(size=(64, 10)).astype(np.float32)
    scale = (np.abs(w).max(axis=0) / 127).astype(np.float32)
    wq = np.round(w / scale).astype(np.int8)
    zero_point = np.zeros(10, dtype=np.int8)
    nodes = [
        helper.make_node("DequantizeLinear", ["Wq", "scale", "zp"], ["Wd"], axis=1),
        helper.make_node("MatMul", ["X", "Wd"], ["xq"]),
        helper.make_node("Add", ["xq", "B"], ["z"]),
        helper.make_node("Softmax", ["z"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["z"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "int8",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 64])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 10]),
        ],
        [
            numpy_helper.from_array(wq, "Wq"),
            numpy_helper.from_array(scale, "scale"),
            numpy_helper.from_array(zero_point, "zp"),
            numpy_helper.from_array(np.zeros(10, dtype=np.float32), "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    stats = weight_stats(model.SerializeToString())
    # weights 640 + one zero point byte, against scale 40 + one float32 bias value 4
    assert (stats.light_bytes, stats.share_bytes) == (641, 641 + 40 + 4)
    assert _share_check().passes(stats.low_precision_share)
