"""TritonRepositoryInference without a server: config.pbtxt rendering, settings and wiring."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from onnx import TensorProto, helper

from certifia_grading.adapters.triton import TritonInference
from certifia_grading.adapters.triton_repository import (
    TritonRepositoryInference,
    render_model_config,
    signature_of,
)
from certifia_grading.bootstrap import grading_readiness, make_grader
from certifia_grading.config import Settings


def identities(serialise: Callable[..., bytes], types: dict[str, int], shape: list[str | int]) -> bytes:
    """One Identity per element type: inputs ``in_<t>`` and outputs ``out_<t>`` of the given shape."""
    graph = helper.make_graph(
        [helper.make_node("Identity", [f"in_{t}"], [f"out_{t}"]) for t in types],
        "identities",
        [helper.make_tensor_value_info(f"in_{t}", v, shape) for t, v in types.items()],
        [helper.make_tensor_value_info(f"out_{t}", v, shape) for t, v in types.items()],
    )
    return serialise(graph)


def render(model: bytes, **kwargs: object) -> str:
    options: dict[str, object] = {
        "backend": "onnxruntime",
        "device": "auto",
        "max_batch_size": 64,
        "max_queue_delay_us": 500,
    }
    return render_model_config("onnx_m", signature_of(model), **(options | kwargs))  # type: ignore[arg-type]


def test_onnxruntime_config_of_a_classifier(classifier) -> None:
    assert render(classifier[1]) == (
        'name: "onnx_m"\n'
        'backend: "onnxruntime"\n'
        "max_batch_size: 64\n"
        "input [\n"
        "  {\n"
        '    name: "X"\n'
        "    data_type: TYPE_FP32\n"
        "    dims: [ 4 ]\n"
        "  }\n"
        "]\n"
        "output [\n"
        "  {\n"
        '    name: "label"\n'
        "    data_type: TYPE_INT64\n"
        "    dims: [ 1 ]\n"
        "    reshape: { shape: [ ] }\n"  # ONNX label is [N]: Triton's [N, 1] is reshaped for the model
        "  },\n"
        "  {\n"
        '    name: "probabilities"\n'
        "    data_type: TYPE_FP32\n"
        "    dims: [ 2 ]\n"
        "  }\n"
        "]\n"
        "dynamic_batching {\n"
        "  max_queue_delay_microseconds: 500\n"
        "}\n"
        "optimization { execution_accelerators {\n"  # where the server has a GPU: full float32 there
        "  gpu_execution_accelerator: [ {\n"
        '    name: "cuda"\n'
        '    parameters { key: "use_tf32" value: "0" }\n'
        '    parameters { key: "cudnn_conv_algo_search" value: "HEURISTIC" }\n'
        "  } ]\n"
        "} }\n"
    )


def test_cuda_options_only_where_the_onnxruntime_backend_may_use_a_gpu(classifier) -> None:
    model = classifier[1]
    assert 'key: "use_tf32" value: "0"' in render(model, device="gpu")
    assert "optimization" not in render(model, device="cpu")
    assert "optimization" not in render(model, backend="python")  # the python model runs on the CPU


def test_device_decides_the_instance_group(classifier) -> None:
    model = classifier[1]
    assert render(model, device="gpu").endswith("}\ninstance_group [ { kind: KIND_GPU } ]\n")
    assert render(model, device="cpu").endswith("}\ninstance_group [ { kind: KIND_CPU } ]\n")
    assert "instance_group" not in render(model, device="auto")  # Triton takes the GPU when it has one
    with pytest.raises(ValueError, match="device"):
        render(model, device="tpu")


def test_backend_batch_size_and_queue_delay_are_rendered(classifier) -> None:
    text = render(classifier[1], backend="python", max_batch_size=8, max_queue_delay_us=250)
    lines = text.splitlines()
    assert 'backend: "python"' in lines and "max_batch_size: 8" in lines
    assert "  max_queue_delay_microseconds: 250" in lines
    with pytest.raises(ValueError, match="backend"):
        render(classifier[1], backend="tensorrt")


def test_every_onnx_element_type_maps_to_its_triton_type_with_per_row_dims(onnx_model_bytes) -> None:
    types = {
        "f32": TensorProto.FLOAT,
        "f64": TensorProto.DOUBLE,
        "f16": TensorProto.FLOAT16,
        "i64": TensorProto.INT64,
        "i32": TensorProto.INT32,
        "i16": TensorProto.INT16,
        "i8": TensorProto.INT8,
        "u8": TensorProto.UINT8,
        "bool": TensorProto.BOOL,
        "str": TensorProto.STRING,
    }
    expected = {
        "f32": "TYPE_FP32",
        "f64": "TYPE_FP64",
        "f16": "TYPE_FP16",
        "i64": "TYPE_INT64",
        "i32": "TYPE_INT32",
        "i16": "TYPE_INT16",
        "i8": "TYPE_INT8",
        "u8": "TYPE_UINT8",
        "bool": "TYPE_BOOL",
        "str": "TYPE_STRING",
    }
    text = render(identities(onnx_model_bytes, types, ["N", 3, "W"]))
    for t, triton_type in expected.items():
        for prefix in ("in", "out"):
            block = f'    name: "{prefix}_{t}"\n    data_type: {triton_type}\n    dims: [ 3, -1 ]\n  }}'
            assert block in text, (t, text)
    assert "reshape" not in text  # rank 3: no reshape


def test_a_rank_one_tensor_is_one_value_per_row_reshaped_for_the_model(onnx_model_bytes) -> None:
    text = render(identities(onnx_model_bytes, {"x": TensorProto.FLOAT}, ["N"]))
    for prefix in ("in", "out"):
        assert (
            f'name: "{prefix}_x"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    reshape: {{ shape: [ ] }}'
            in text
        )


def test_names_are_quoted_for_the_text_format(onnx_model_bytes) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ['we"ird\\name'], ["é"])],
        "g",
        [helper.make_tensor_value_info('we"ird\\name', TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("é", TensorProto.FLOAT, ["N", 2])],
    )
    text = render(onnx_model_bytes(graph))
    assert '    name: "we\\"ird\\\\name"\n' in text and '    name: "é"\n' in text


# -- settings and wiring -----------------------------------------------------------------------


def settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


def test_an_external_triton_needs_its_model_repository() -> None:
    with pytest.raises(ValueError, match="TRITON_MODEL_REPOSITORY"):
        settings(use_triton=True, triton_url="http://triton:8000")
    with pytest.raises(ValueError, match="triton_backend"):
        settings(
            triton_url="http://triton:8000", triton_model_repository="/models", triton_backend="tensorrt"
        )


def test_triton_url_selects_the_external_server_else_the_embedded_one(tmp_path) -> None:
    external = settings(
        use_triton=True, triton_url="http://127.0.0.1:9/", triton_model_repository=str(tmp_path)
    )
    engine = make_grader(external)
    inference = engine.inference
    assert isinstance(inference, TritonRepositoryInference)
    assert (inference.url, inference.model_repository, inference.backend) == (
        "http://127.0.0.1:9",
        tmp_path,
        "onnxruntime",
    )
    # nothing answers on the discard port: readiness says so (a live server: test_triton_repository)
    assert grading_readiness(external, engine) == {"triton": "not running"}
    assert isinstance(make_grader(settings(use_triton=True)).inference, TritonInference)
    assert make_grader(
        settings(triton_url="http://x:1", triton_model_repository="/m")
    ).inference.__class__.__name__ == (
        "OnnxRuntimeBackend"  # use_triton off: TRITON_URL alone changes nothing
    )
