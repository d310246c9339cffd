"""How trusted code runs ONNX models: a protocol (the Triton adapter implements it) and onnxruntime."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

import numpy as np

from certifia_grading.engine.model import SubmissionError

ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
MAX_MODEL_BYTES = 64 * 1024 * 1024


@runtime_checkable
class InferenceBackend(Protocol):
    def predict(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


class OnnxRuntimeBackend:
    """onnxruntime on the CPU, in process, one thread (deterministic; the latency configuration is fixed)."""

    def __init__(self, *, threads: int = 1, cache_size: int = 8) -> None:
        self.threads = threads
        self.cache_size = cache_size
        self._sessions: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # shipped to Ray workers without its sessions
        return {"threads": self.threads, "cache_size": self.cache_size}

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
        session = ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
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
    """Refuse what trusted code should not load: too big, invalid, external data, custom op domains."""
    import onnx

    if len(model_bytes) > MAX_MODEL_BYTES:
        raise SubmissionError(f"model is {len(model_bytes)} bytes, more than the {MAX_MODEL_BYTES} allowed")
    try:
        model = onnx.load_model_from_string(model_bytes)
        onnx.checker.check_model(model)
    except Exception as exc:  # any parser / checker failure is the submission's
        raise SubmissionError(f"model is not a valid ONNX model: {type(exc).__name__}: {exc}"[:400]) from None
    for opset in model.opset_import:
        if opset.domain not in ALLOWED_DOMAINS:
            raise SubmissionError(f"model uses the operator domain {opset.domain!r}: only standard ONNX ops")
    for node in model.graph.node:
        if node.domain not in ALLOWED_DOMAINS:
            raise SubmissionError(f"model node {node.name!r} uses custom domain {node.domain!r}: refused")
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise SubmissionError("model refers to external data files: refused")
    declared = {i.name for i in model.graph.input} - {t.name for t in model.graph.initializer}
    missing = set(model_inputs) - declared
    extra = declared - set(model_inputs)
    if missing or extra:
        raise SubmissionError(
            f"model inputs {sorted(declared)} do not match the pack's contract {sorted(model_inputs)}"
        )
