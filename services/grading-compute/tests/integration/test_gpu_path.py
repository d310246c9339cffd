"""The GPU path of grading-compute: Triton scoring on CUDA and Ray giving GPUs to the jobs that ask.

These run only where onnxruntime-gpu sees an NVIDIA GPU (``make test-gpu`` on such a machine);
elsewhere they are skipped with the reason. What they prove:
- Triton really runs models on the GPU (onnxruntime falls back to the CPU silently otherwise), and
  its outputs agree with the CPU's;
- a model pack graded through Triton on the GPU gives the same verdicts and metrics as the same
  submission graded in process on the CPU: where a model ran does not change a candidate's result;
- Ray sees the GPU and hands it to a job that asks for one, and only to that job; such a job scores
  models on it, and its candidate code, in bubblewrap, sees the GPU (a job that did not ask does not).
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.adapters.triton import TritonInference
from certifia_grading.domain import Grader, OnnxRuntimeBackend
from certifia_grading.domain.inference import CUDA_PROVIDER, check_gpu_session, cuda_available
from certifia_grading.domain.testing import sample_submission, zip_files

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
    on_cpu = Grader(inference=OnnxRuntimeBackend(), sandbox=BwrapSandbox())
    on_gpu = Grader(inference=gpu_triton, sandbox=BwrapSandbox())
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


def test_a_ray_job_given_a_gpu_scores_models_on_it() -> None:
    from certifia_grading.adapters.ray_executor import RayGradingExecutor
    from certifia_grading.adapters.runner import worker_gpu

    def job() -> bool:
        return worker_gpu()

    with RayGradingExecutor(num_cpus=2) as executor:
        assert executor.run(job, num_gpus=1, timeout=120) is True
        assert executor.run(job, timeout=120) is False


PROBE_YAML = """
id: {id}
version: "0.0.1"
title: "GPU probe"
interface:
  kind: python
  function: solve
  signature: "solve(numbers: numpy.ndarray) -> numpy.ndarray"
  inputs: [{{name: numbers, format: npy}}]
  outputs: [{{name: doubled, format: npy}}]
dataset: {{seed: 1}}
limits: {{gpus: {gpus}, cpu_seconds: 20, memory_mb: 2048, wall_seconds: 40}}
criteria:
  - id: "2.A1.C1.E1"
    summary: "probe"
    checks: [{{metric: exact, comparator: "==", threshold: 1, reason: "every value doubled"}}]
"""
PROBE_PY = """
import numpy as np
from certifia_grading.domain.spec import Dataset

def build(seed):
    return Dataset(inputs={"numbers": np.arange(10)}, hidden={"y": 2 * np.arange(10)})

def score(submission, dataset, ctx):
    return {"exact": float((np.asarray(submission.outputs["doubled"]) == dataset.hidden["y"]).all())}
"""
CUDA_CANDIDATE = """
import ctypes, glob

def solve(numbers):
    found = ["libcuda.so.1", *glob.glob("/usr/lib*/libcuda.so.1"), *glob.glob("/usr/lib*/*/libcuda.so.1")]
    found += glob.glob("/usr/local/nvidia/lib*/libcuda.so.1")
    for path in found:
        try:
            cuda = ctypes.CDLL(path)
            break
        except OSError:
            continue
    else:
        raise RuntimeError("no libcuda.so.1 in the sandbox")
    count = ctypes.c_int(0)
    status = cuda.cuInit(0)
    if status != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
        raise RuntimeError(f"no GPU here: cuInit={status}, devices={count.value}")
    return numbers * 2
"""


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_candidate_code_sees_the_gpu_only_when_its_pack_asks(tmp_path: Path) -> None:
    for pack_id, gpus in (("gpu_probe", 1), ("cpu_probe", 0)):
        (tmp_path / pack_id).mkdir()
        (tmp_path / pack_id / "pack.yaml").write_text(PROBE_YAML.format(id=pack_id, gpus=gpus))
        (tmp_path / pack_id / "pack.py").write_text(PROBE_PY)
    engine = Grader(tmp_path, sandbox=BwrapSandbox())
    archive = zip_files({"solution.py": textwrap.dedent(CUDA_CANDIDATE)})
    on_gpu = engine.grade("gpu_probe", archive)
    assert on_gpu.failed_reason is None, (on_gpu.failed_reason, on_gpu.logs)
    assert [c.verdict for c in on_gpu.criteria] == ["validated"]
    on_cpu = engine.grade("cpu_probe", archive)
    assert on_cpu.failed_reason and "no GPU here" in on_cpu.logs + on_cpu.failed_reason, on_cpu
