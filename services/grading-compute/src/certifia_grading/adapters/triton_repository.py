"""Triton inference for ONNX models on an external tritonserver that shares a model repository.

The server runs in explicit model-control mode (``--model-control-mode=explicit``) on a folder that
grading-compute can write (in compose: the ``triton-models`` volume, ``/models`` on both sides). To
serve a model, trusted code reads its signature with onnxruntime on the CPU (no candidate Python runs),
writes ``<repository>/<name>/config.pbtxt`` and ``<repository>/<name>/1/model.onnx`` into a
temporary folder of the repository renamed into place (the server never sees half a model), then asks
the server to load it (``POST /v2/repository/models/<name>/load``). Predictions go through
``pytriton.client`` clients, which work against any Triton server. Beyond ``max_models`` the least
recently used idle model is unloaded (``POST .../unload``) and its folder deleted.

Backends: ``onnxruntime`` (the official image's ONNX Runtime backend; it runs on the GPU when the
server has one and ``device`` is ``auto`` or ``gpu``) and ``python``, where the model folder also gets
the trusted ``triton_onnx_model.py`` of this package as ``model.py``, which runs ``model.onnx`` with
onnxruntime on the CPU. The python backend is what PyTriton's bundled tritonserver can run (it ships
no other backend), so the tests use it through :class:`~certifia_grading.adapters.triton_local.LocalTritonServer`.

Assumptions: one grading-compute writes a given repository (a model's name on the server is its
``model_name``, the digest of its bytes, so two writers would load and unload each other's models);
the server runs with ``--strict-readiness=false``, so that ``/v2/health/ready`` (``running``, hence
``/readyz``) says whether it answers, not whether every model is ready: strict readiness is false
while a model loads and stays false after a failed load.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Literal

import httpx
import numpy as np
import onnxruntime as ort
from pytriton.client import ModelClient

from certifia_grading.adapters.triton import (
    Device,
    OnnxSignature,
    TritonInferenceBase,
    _Served,
    _Spec,
    read_signature,
)
from certifia_grading.domain.inference import CUDA_PROVIDER

Backend = Literal["onnxruntime", "python"]

PYTHON_MODEL_FILE = Path(__file__).with_name("triton_onnx_model.py")

_TRITON_TYPES: dict[Any, str] = {
    np.float32: "TYPE_FP32",
    np.float64: "TYPE_FP64",
    np.float16: "TYPE_FP16",
    np.int64: "TYPE_INT64",
    np.int32: "TYPE_INT32",
    np.int16: "TYPE_INT16",
    np.int8: "TYPE_INT8",
    np.uint8: "TYPE_UINT8",
    np.bool_: "TYPE_BOOL",
    np.object_: "TYPE_STRING",
}

_INSTANCE_KINDS: dict[str, str] = {"gpu": "KIND_GPU", "cpu": "KIND_CPU"}  # auto: none, Triton chooses


# -- config.pbtxt ------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A protobuf text-format string literal (UTF-8 kept, quotes, backslashes and controls escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _tensor(spec: _Spec) -> str:
    dims = ", ".join(str(d) for d in spec.shape)
    lines = [
        f"    name: {_quoted(spec.name)}",
        f"    data_type: {_TRITON_TYPES[spec.dtype]}",
        f"    dims: [ {dims} ]",
    ]
    if spec.rank == 1:  # the batch dimension only: [N] travels as [N, 1]; Triton reshapes it for the model
        lines.append("    reshape: { shape: [ ] }")
    return "  {\n" + "\n".join(lines) + "\n  }"


def render_model_config(
    name: str,
    signature: OnnxSignature,
    *,
    backend: Backend,
    device: Device,
    max_batch_size: int,
    max_queue_delay_us: int,
) -> str:
    """The ``config.pbtxt`` of one model: tensors per row (the batch dimension is Triton's), dynamic batching."""
    if backend not in ("onnxruntime", "python"):
        raise ValueError(f"backend must be 'onnxruntime' or 'python', got {backend!r}")
    if device not in ("auto", "cpu", "gpu"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'gpu', got {device!r}")
    parts = [
        f"name: {_quoted(name)}",
        f"backend: {_quoted(backend)}",
        f"max_batch_size: {max_batch_size}",
        "input [\n" + ",\n".join(_tensor(s) for s in signature.inputs) + "\n]",
        "output [\n" + ",\n".join(_tensor(s) for s in signature.outputs) + "\n]",
        f"dynamic_batching {{\n  max_queue_delay_microseconds: {max_queue_delay_us}\n}}",
    ]
    if backend == "onnxruntime" and device != "cpu":
        parts.append(_cuda_options())
    if device in _INSTANCE_KINDS:
        parts.append(f"instance_group [ {{ kind: {_INSTANCE_KINDS[device]} }} ]")
    return "\n".join(parts) + "\n"


def _cuda_options() -> str:
    """The CUDA execution provider's options, as the embedded adapter sets them (full float32, no TF32)."""
    params = "".join(
        f"\n    parameters {{ key: {_quoted(k)} value: {_quoted(v)} }}" for k, v in CUDA_PROVIDER[1].items()
    )
    return (
        "optimization { execution_accelerators {\n"
        f'  gpu_execution_accelerator: [ {{\n    name: "cuda"{params}\n  }} ]\n'
        "} }"
    )


def signature_of(model_bytes: bytes) -> OnnxSignature:
    """The model's inputs and outputs, read by onnxruntime on the CPU (refuses non-tensor outputs)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
    return read_signature(session)


# -- the adapter -------------------------------------------------------------------------------


class TritonRepositoryInference(TritonInferenceBase):
    """An ``InferenceBackend`` on an external tritonserver (explicit model control, shared repository)."""

    def __init__(
        self,
        *,
        url: str,
        model_repository: Path,
        backend: Backend = "onnxruntime",
        device: Device = "auto",
        max_batch_size: int = 256,
        max_queue_delay_us: int = 500,
        concurrency: int = 4,
        timeout_s: float = 60.0,
        max_models: int = 16,
    ) -> None:
        super().__init__(
            max_batch_size=max_batch_size,
            max_queue_delay_us=max_queue_delay_us,
            concurrency=concurrency,
            # the python model runs onnxruntime with 1 thread; 0: the onnxruntime backend's own default
            ort_threads=1 if backend == "python" else 0,
            timeout_s=timeout_s,
            max_models=max_models,
        )
        if backend not in ("onnxruntime", "python"):
            raise ValueError(f"backend must be 'onnxruntime' or 'python', got {backend!r}")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be the server's HTTP endpoint (http://host:port), got {url!r}")
        self.backend: Backend = backend
        self.device = device
        self.model_repository = Path(model_repository)
        self._url = url.rstrip("/")
        self._http = httpx.Client(base_url=self._url, timeout=timeout_s)
        self._started = False

    # -- server ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    @property
    def running(self) -> bool:
        """Whether the server answers ``/v2/health/ready`` (checked on every call: /readyz uses it)."""
        try:
            return self._http.get("/v2/health/ready", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        """Check the repository is a writable folder and wait (up to ``timeout_s``) for the server to be ready."""
        with self._lock:
            if self._started:
                return
            if not self.model_repository.is_dir():
                raise RuntimeError(f"Triton model repository {self.model_repository} is not a folder")
            if not os.access(self.model_repository, os.W_OK | os.X_OK):
                raise RuntimeError(f"Triton model repository {self.model_repository} is not writable here")
            deadline = time.monotonic() + self.timeout_s
            while not self.running:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tritonserver at {self._url} not ready after {self.timeout_s:.0f} s")
                time.sleep(0.2)
            self._started = True

    def close(self) -> None:
        """Unload every model this adapter loaded and delete its folder; the server keeps running."""
        with self._lock:
            while self._models:
                self._unload(self._models.popitem(last=False)[1])
            self._started = False

    # -- models ------------------------------------------------------------------------------

    def _load(self, key: str, model_bytes: bytes) -> _Served:
        signature = signature_of(model_bytes)  # before anything is written: refuses non-tensor outputs
        config = render_model_config(
            key,
            signature,
            backend=self.backend,
            device=self.device,
            max_batch_size=self.max_batch_size,
            max_queue_delay_us=self.max_queue_delay_us,
        )
        folder = self._write_model(key, config, model_bytes)
        try:
            self._control(key, "load")
            client = ModelClient(
                self._url, key, init_timeout_s=self.timeout_s, inference_timeout_s=self.timeout_s
            )
            return _Served(key, signature, client, self._instance_device(key))
        except BaseException:
            self._forget(key, folder)
            raise

    def _unload(self, served: _Served) -> None:
        try:
            served.client.close()
        finally:
            self._forget(served.name, self.model_repository / served.name)

    def _forget(self, name: str, folder: Path) -> None:
        """Unload ``name`` from the server (failures warn) and delete its folder."""
        try:
            self._control(name, "unload")
        except Exception as exc:  # the server keeps it loaded: memory, not correctness
            warnings.warn(f"could not unload {name} from Triton: {exc}", stacklevel=3)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _write_model(self, name: str, config: str, model_bytes: bytes) -> Path:
        """``<repository>/<name>/{config.pbtxt, 1/model.onnx[, 1/model.py]}``, renamed into place whole."""
        target = self.model_repository / name
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=self.model_repository))
        try:
            staging.chmod(0o755)  # the server may run as another user than this service
            version = staging / "1"
            version.mkdir()
            (staging / "config.pbtxt").write_text(config, encoding="utf-8")
            (version / "model.onnx").write_bytes(model_bytes)
            if self.backend == "python":
                shutil.copyfile(PYTHON_MODEL_FILE, version / "model.py")
            if target.exists():  # left by an earlier process (same digest, maybe other settings)
                shutil.rmtree(target)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    def _control(self, name: str, action: Literal["load", "unload"]) -> None:
        response = self._http.post(f"/v2/repository/models/{name}/{action}")
        if response.status_code != 200:
            try:
                error = response.json().get("error", response.text)
            except ValueError:
                error = response.text
            raise RuntimeError(f"Triton could not {action} {name} (HTTP {response.status_code}): {error}")

    def _instance_device(self, name: str) -> str:
        """Where the server placed the model: its first instance group's kind ("gpu" or "cpu")."""
        response = self._http.get(f"/v2/models/{name}/config")
        response.raise_for_status()
        groups = response.json().get("instance_group") or [{}]
        return "gpu" if groups[0].get("kind") == "KIND_GPU" else "cpu"
