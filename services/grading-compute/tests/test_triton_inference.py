"""TritonInference against PyTriton's real embedded tritonserver (one server per module)."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator

import numpy as np
import onnxruntime as ort
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

from certifia_grading.adapters.triton import TritonInference, python_libdir_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] - 0.5 * x[:, 2] + rng.normal(scale=0.3, size=300) > 0).astype(np.int64)
    return x, y


@pytest.fixture(scope="module")
def model(data: tuple[np.ndarray, np.ndarray]) -> tuple[LogisticRegression, bytes]:
    x, y = data
    clf = LogisticRegression().fit(x, y)
    return clf, to_onnx(clf, x[:1], options={"zipmap": False}).SerializeToString()


@pytest.fixture(scope="module")
def triton() -> Iterator[TritonInference]:
    with TritonInference(max_batch_size=64) as backend:
        yield backend


def test_predictions_equal_onnxruntime_and_sklearn(triton: TritonInference, model, data) -> None:
    clf, onnx_bytes = model
    x, _ = data
    served = triton.predict(onnx_bytes, {"X": x})

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], {"X": x})
    np.testing.assert_array_equal(served["label"], label)
    np.testing.assert_array_equal(served["label"], clf.predict(x))
    np.testing.assert_allclose(served["probabilities"], proba, rtol=0, atol=1e-6)
    np.testing.assert_allclose(served["probabilities"], clf.predict_proba(x), rtol=0, atol=1e-5)
    assert served["label"].shape == (300,) and served["probabilities"].shape == (300, 2)


def test_dynamic_batching_and_one_request_per_row_agree(triton: TritonInference, model, data) -> None:
    _, onnx_bytes = model
    x = data[0][:80]
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


def test_one_triton_model_per_digest(triton: TritonInference, model, data) -> None:
    _, onnx_bytes = model
    triton.predict(onnx_bytes, {"X": data[0][:3]})
    triton.predict(bytes(onnx_bytes), {"X": data[0][:5]})
    assert triton.loaded_models.count(triton.model_name(onnx_bytes)) == 1


def test_latency_is_measured_with_a_stated_configuration(triton: TritonInference, model, data) -> None:
    _, onnx_bytes = model
    report = triton.measure_latency(onnx_bytes, {"X": data[0]}, warmup=3, requests=30, batch_size=8)
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


def test_inputs_that_do_not_fit_the_model_are_refused(triton: TritonInference, model, data) -> None:
    _, onnx_bytes = model
    with pytest.raises(ValueError, match="takes inputs"):
        triton.predict(onnx_bytes, {"features": data[0]})


def test_a_model_with_non_tensor_outputs_is_refused(triton: TritonInference, data) -> None:
    x, y = data
    zipmap = to_onnx(LogisticRegression().fit(x, y), x[:1]).SerializeToString()  # outputs a list of dicts
    with pytest.raises(ValueError, match="zipmap=False"):
        triton.predict(zipmap, {"X": x})


def test_python_libdir_goes_first_in_ld_library_path() -> None:
    libdir = sysconfig.get_config_var("LIBDIR")
    env = python_libdir_env({"LD_LIBRARY_PATH": f"/opt/x:{libdir}"})
    assert env["LD_LIBRARY_PATH"] == f"{libdir}:/opt/x"


def test_least_recent_models_are_unloaded_beyond_the_limit_and_reload_on_demand(data) -> None:
    x, y = data
    models = [
        to_onnx(LogisticRegression(C=c).fit(x, y), x[:1], options={"zipmap": False}).SerializeToString()
        for c in (0.01, 0.1, 1.0)
    ]
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
