"""How trusted code runs ONNX models: a protocol (the Triton adapter implements it) and onnxruntime."""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

import numpy as np


def cuda_available() -> bool:
    """Whether onnxruntime here can use an NVIDIA GPU (onnxruntime-gpu, its CUDA libraries preloaded)."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    preload = getattr(ort, "preload_dlls", None)  # onnxruntime-gpu >= 1.21: CUDA/cuDNN from pip packages
    if callable(preload):
        with contextlib.redirect_stdout(io.StringIO()):  # it prints every library it did not find
            preload()
    return True


# Full float32 on the GPU: onnxruntime's CUDA default (TF32 matrix products, ~1e-3 relative error on
# Hopper/Ampere) moved probabilities by up to 3.6e-4 from the CPU's on an H100; a verdict must not
# depend on where the model ran. Heuristic (not exhaustive) cuDNN algorithm choice, the same every run.
CUDA_PROVIDER = ("CUDAExecutionProvider", {"use_tf32": "0", "cudnn_conv_algo_search": "HEURISTIC"})


def check_gpu_session(providers: list[Any]) -> None:
    """Fail at start-up, not model by model, when onnxruntime cannot really use the GPU.

    onnxruntime falls back to the CPU silently when the CUDA or cuDNN libraries cannot be loaded: a
    latency labelled "gpu" must not have been measured on the CPU.
    """
    import onnxruntime as ort
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "gpu_probe", [x], [])
    graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"]))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    session = ort.InferenceSession(model.SerializeToString(), providers=providers)
    if "CUDAExecutionProvider" not in session.get_providers():
        raise RuntimeError(
            "onnxruntime-gpu cannot use the GPU here (CUDA 13 / cuDNN 9 libraries not found?): install "
            "them (the nvidia-*-cu13 pip packages) or use the CPU"
        )


@runtime_checkable
class InferenceBackend(Protocol):
    def predict(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


class OnnxRuntimeBackend:
    """onnxruntime in process, one thread (deterministic; the latency configuration is fixed).

    On the CPU by default; ``gpu=True`` (a grading job Ray gave a GPU) runs the models with CUDA in full
    float32, and fails at once if onnxruntime cannot really use the GPU.
    """

    def __init__(self, *, threads: int = 1, cache_size: int = 8, gpu: bool = False) -> None:
        self.threads = threads
        self.cache_size = cache_size
        self.gpu = gpu
        self.providers: list[Any] = (
            [CUDA_PROVIDER, "CPUExecutionProvider"] if gpu else ["CPUExecutionProvider"]
        )
        if gpu:
            if not cuda_available():
                raise RuntimeError("gpu=True but onnxruntime has no CUDAExecutionProvider here")
            check_gpu_session(self.providers)
        self._sessions: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # shipped to Ray workers without its sessions
        return {"threads": self.threads, "cache_size": self.cache_size, "gpu": self.gpu}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _session(self, model_bytes: bytes) -> Any:
        import onnxruntime as ort

        key = hashlib.sha256(model_bytes).hexdigest()
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                self._sessions.move_to_end(key)
                return session
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(model_bytes, sess_options=options, providers=self.providers)
        with self._lock:
            self._sessions[key] = session
            while len(self._sessions) > self.cache_size:
                self._sessions.popitem(last=False)
        return session

    def predict(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        session = self._session(model_bytes)
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, inputs)
        return {n: np.asarray(v) for n, v in zip(names, values, strict=True)}


def check_onnx_model(model_bytes: bytes, model_inputs: dict[str, str]) -> None:
    """Refuse what may not be loaded at all (see certifia_grading.domain.model_inspection)."""
    from certifia_grading.domain.model_inspection import inspect_model

    inspect_model(model_bytes, model_inputs)
