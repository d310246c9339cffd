"""The GPU path of grading-compute: Triton scoring on CUDA and Ray giving GPUs to the jobs that ask.

These run only where onnxruntime-gpu sees an NVIDIA GPU (``make test-gpu`` on such a machine);
elsewhere they are skipped with the reason. What they prove:
- Triton really runs models on the GPU (onnxruntime falls back to the CPU silently otherwise), and
  its outputs agree with the CPU's;
- a model pack graded through Triton on the GPU gives the same verdicts and metrics as the same
  submission graded in process on the CPU: where a model ran does not change a candidate's result;
- Ray sees the GPU and hands it to a job that asks for one, and only to that job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import onnxruntime as ort
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from certifia_grading.adapters.triton import (
    CUDA_PROVIDER,
    TritonInference,
    check_gpu_session,
    cuda_available,
)
from certifia_grading.engine import GradingEngine, OnnxRuntimeBackend
from certifia_grading.engine.testing import sample_submission

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not cuda_available(), reason="no NVIDIA GPU for onnxruntime-gpu here"),
]

MODEL_PACKS = ("b2_supervised_onnx", "b5a_digits_vision", "b5b_model_compression")


@pytest.fixture(scope="module")
def gpu_triton() -> Iterator[TritonInference]:
    with TritonInference(device="gpu", max_batch_size=256) as backend:
        yield backend


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(2000, 32)).astype(np.float32)
    y = (x[:, :4].sum(axis=1) + 0.5 * x[:, 5] * x[:, 6] > 0).astype(np.int64)
    return x, y


def test_the_gpu_is_really_used() -> None:
    check_gpu_session([CUDA_PROVIDER, "CPUExecutionProvider"])  # raises on a silent CPU fallback
    with pytest.raises(RuntimeError, match="cannot use the GPU"):
        check_gpu_session(["CPUExecutionProvider"])


def test_gpu_outputs_agree_with_the_cpu(gpu_triton: TritonInference, data) -> None:
    x, y = data
    assert gpu_triton.device_kind == "gpu"
    for clf in (LogisticRegression(max_iter=500), MLPClassifier((64, 32), max_iter=300, random_state=0)):
        model = to_onnx(clf.fit(x, y), x[:1], options={"zipmap": False}).SerializeToString()
        on_gpu = gpu_triton.predict(model, {"X": x})
        cpu = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        label, proba = cpu.run(["label", "probabilities"], {"X": x})
        np.testing.assert_allclose(on_gpu["probabilities"], proba, rtol=0, atol=1e-5)
        # a label may only differ where the two classes are tied to float precision
        differs = on_gpu["label"] != label
        assert np.all(np.abs(proba[differs, 1] - 0.5) < 1e-5), f"{differs.sum()} labels differ"


def test_latency_on_the_gpu_states_its_device(gpu_triton: TritonInference, data) -> None:
    x, y = data
    model = to_onnx(LogisticRegression(max_iter=500).fit(x, y), x[:1], options={"zipmap": False})
    report = gpu_triton.measure_latency(model.SerializeToString(), {"X": x}, warmup=5, requests=50)
    assert report.device == "gpu" and 0 < report.p50_ms <= report.p95_ms


@pytest.mark.parametrize("pack_id", MODEL_PACKS)
def test_model_packs_give_the_same_verdicts_on_the_gpu(gpu_triton: TritonInference, pack_id: str) -> None:
    on_cpu = GradingEngine(inference=OnnxRuntimeBackend())
    on_gpu = GradingEngine(inference=gpu_triton)
    for which in ("reference", "weak"):
        archive = sample_submission(on_cpu, pack_id, which)
        cpu_view = on_cpu.grade(pack_id, archive).reproducible_view()
        gpu_view = on_gpu.grade(pack_id, archive).reproducible_view()
        assert cpu_view["failed_reason"] is None and gpu_view["failed_reason"] is None, (cpu_view, gpu_view)
        verdicts = {c["criterion_id"]: c["verdict"] for c in cpu_view["criteria"]}
        assert {c["criterion_id"]: c["verdict"] for c in gpu_view["criteria"]} == verdicts, which
        assert gpu_view["metrics"].keys() == cpu_view["metrics"].keys()
        for name, value in cpu_view["metrics"].items():
            assert gpu_view["metrics"][name] == pytest.approx(value, abs=1e-4), (which, name)


def test_ray_gives_the_gpu_to_a_job_that_asks_and_only_to_it() -> None:
    import ray

    from certifia_grading.adapters.ray_executor import RayGradingExecutor

    def job() -> tuple[list[int], str | None]:  # shipped by value (a test module is not importable there)
        return [int(g) for g in ray.get_gpu_ids()], os.environ.get("CUDA_VISIBLE_DEVICES")

    with RayGradingExecutor(num_cpus=2) as executor:
        assert executor.gpus >= 1, ray.cluster_resources()
        gpu_ids, visible = executor.run(job, num_gpus=1, timeout=120)
        assert len(gpu_ids) == 1 and visible == str(gpu_ids[0])
        cpu_ids, cpu_visible = executor.run(job, timeout=120)
        assert cpu_ids == [] and not cpu_visible, "a job that asked for no GPU must not see one"
