"""TritonInference against PyTriton's real embedded tritonserver (one server per module)."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator

import numpy as np
import pytest

from certifia_grading.adapters.triton import TritonInference, python_libdir_env

pytestmark = pytest.mark.integration


# the classifier fixtures (classifier, classifier_data, ...) are in conftest.py, shared with
# test_triton_repository.py


@pytest.fixture(scope="module")
def triton() -> Iterator[TritonInference]:
    with TritonInference(max_batch_size=64) as backend:
        yield backend


def test_predictions_equal_onnxruntime_and_sklearn(
    triton: TritonInference, classifier, classifier_data, check_classifier_outputs
) -> None:
    _, onnx_bytes = classifier
    x, _ = classifier_data
    check_classifier_outputs(triton.predict(onnx_bytes, {"X": x}))


def test_dynamic_batching_and_one_request_per_row_agree(
    triton: TritonInference, classifier, classifier_data
) -> None:
    _, onnx_bytes = classifier
    x = classifier_data[0][:80]
    batched = triton.predict(onnx_bytes, {"X": x})
    merged = triton.predict(onnx_bytes, {"X": x}, request_rows=1)  # single rows, merged by the batcher
    one_by_one = triton.predict_one_by_one(onnx_bytes, {"X": x})
    for other in (merged, one_by_one):
        np.testing.assert_array_equal(other["label"], batched["label"])
        # Same rows, but a batch of 1 goes through another GEMM kernel than a batch of 64: ulp-level only.
        np.testing.assert_allclose(other["probabilities"], batched["probabilities"], rtol=0, atol=1e-6)
    assert (
        triton.predict(onnx_bytes, {"X": x})["probabilities"].tobytes() == batched["probabilities"].tobytes()
    )


def test_one_triton_model_per_digest(triton: TritonInference, classifier, classifier_data) -> None:
    _, onnx_bytes = classifier
    triton.predict(onnx_bytes, {"X": classifier_data[0][:3]})
    triton.predict(bytes(onnx_bytes), {"X": classifier_data[0][:5]})
    assert triton.loaded_models.count(triton.model_name(onnx_bytes)) == 1


def test_latency_is_measured_with_a_stated_configuration(
    triton: TritonInference, classifier, classifier_data
) -> None:
    _, onnx_bytes = classifier
    report = triton.measure_latency(
        onnx_bytes, {"X": classifier_data[0]}, warmup=3, requests=30, batch_size=8
    )
    assert 0 < report.p50_ms <= report.p95_ms < 2000
    assert report.as_dict() | {"p50_ms": 0, "p95_ms": 0, "mean_ms": 0} == {
        "p50_ms": 0,
        "p95_ms": 0,
        "mean_ms": 0,
        "requests": 30,
        "warmup": 3,
        "batch_size": 8,
        "device": triton.device_kind,
        "protocol": "http",
        "max_batch_size": 64,
        "max_queue_delay_us": 500,
        "ort_threads": 1,
    }


def test_inputs_that_do_not_fit_the_model_are_refused(
    triton: TritonInference, classifier, classifier_data
) -> None:
    _, onnx_bytes = classifier
    with pytest.raises(ValueError, match="takes inputs"):
        triton.predict(onnx_bytes, {"features": classifier_data[0]})


def test_a_model_with_non_tensor_outputs_is_refused(
    triton: TritonInference, classifier_onnx, classifier_data
) -> None:
    with pytest.raises(ValueError, match="zipmap=False"):
        triton.predict(classifier_onnx(zipmap=True), {"X": classifier_data[0]})


def test_python_libdir_goes_first_in_ld_library_path() -> None:
    libdir = sysconfig.get_config_var("LIBDIR")
    env = python_libdir_env({"LD_LIBRARY_PATH": f"/opt/x:{libdir}"})
    assert env["LD_LIBRARY_PATH"] == f"{libdir}:/opt/x"


def test_least_recent_models_are_unloaded_beyond_the_limit_and_reload_on_demand(
    classifier_onnx, classifier_data
) -> None:
    x, _ = classifier_data
    models = [classifier_onnx(C=c) for c in (0.01, 0.1, 1.0)]
    with TritonInference(max_batch_size=64, max_models=2) as backend:
        first = backend.predict(models[0], {"X": x})
        for model in models[1:]:
            backend.predict(model, {"X": x})
        assert backend.loaded_models == sorted(backend.model_name(m) for m in models[1:])
        bound = {name for name, _version in backend._triton._model_manager._models}  # type: ignore[union-attr]
        assert len(bound) == 2 and not any(n.startswith(backend.model_name(models[0])) for n in bound)
        again = backend.predict(models[0], {"X": x})  # reloaded under the same name
        np.testing.assert_array_equal(again["label"], first["label"])
        assert backend.loaded_models == sorted(backend.model_name(m) for m in models[::2])
