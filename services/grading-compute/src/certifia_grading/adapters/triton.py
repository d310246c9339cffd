"""Triton inference for ONNX models: PyTriton's embedded tritonserver, bound to 127.0.0.1.

:class:`TritonInferenceBase` holds what every Triton adapter shares: the served models (least
recently used ones unloaded beyond ``max_models``), predictions through ``pytriton.client`` clients
(which work against any tritonserver) and latency measurement. :class:`TritonInference` below is the
embedded server; ``triton_repository.TritonRepositoryInference`` drives an external one.

Each model (keyed by the SHA-256 digest of its bytes, loaded once; the least recently used ones are
unloaded beyond ``max_models``, since every candidate hands in a new model) is served by a
trusted Python callable that runs it with onnxruntime (CUDA when available, else CPU); candidate
Python never runs here. Dynamic batching is on. Clients are ``pytriton.client`` clients on localhost.

Environment: Triton's Python backend stub links against libpython; it must find this interpreter's
own (``sysconfig`` LIBDIR), not another Python 3.11 of the system. ``python_libdir_env()`` gives
the variables to set; :class:`TritonInference` sets them itself while it starts the server (the
server copies ``os.environ`` when it is spawned and its model stubs inherit that), so callers
need do nothing unless they start tritonserver some other way.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import os
import socket
import sysconfig
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import onnxruntime as ort
from pytriton.client import FuturesModelClient, ModelClient
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

from certifia_grading.domain.inference import CUDA_PROVIDER, check_gpu_session, cuda_available

Device = Literal["auto", "cpu", "gpu"]


def python_libdir_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) with this interpreter's LIBDIR first in LD_LIBRARY_PATH."""
    env = dict(os.environ if env is None else env)
    libdir = str(sysconfig.get_config_var("LIBDIR") or "")
    paths = [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p and p != libdir]
    env["LD_LIBRARY_PATH"] = ":".join([libdir, *paths]) if libdir else ":".join(paths)
    return env


@contextlib.contextmanager
def _python_libdir_in_environ() -> Iterator[None]:
    before = os.environ.get("LD_LIBRARY_PATH")
    os.environ["LD_LIBRARY_PATH"] = python_libdir_env()["LD_LIBRARY_PATH"]
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- ONNX signature <-> Triton tensors ---------------------------------------------------------

_ONNX_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


@dataclass(frozen=True)
class _Spec:
    """One model input or output. ``shape`` is per row (no batch dimension); a rank-1 tensor travels as (1,)."""

    name: str
    dtype: Any
    shape: tuple[int, ...]
    rank: int

    @property
    def wire_dtype(self) -> Any:
        return np.bytes_ if self.dtype is np.object_ else self.dtype

    def to_wire(self, value: np.ndarray) -> np.ndarray:
        if self.dtype is np.object_:
            value = np.char.encode(np.asarray(value, dtype=str), "utf-8")
        else:
            value = np.asarray(value, dtype=self.dtype)
        return value.reshape(-1, 1) if self.rank == 1 else value

    def from_wire(self, value: np.ndarray) -> np.ndarray:
        if self.dtype is np.object_:
            value = np.char.decode(value.astype(np.bytes_), "utf-8").astype(object)
        return value.reshape(-1) if self.rank == 1 else value


def _spec(arg: Any) -> _Spec:
    if arg.type not in _ONNX_DTYPES:
        raise ValueError(
            f"{arg.name}: {arg.type} is not a plain tensor (convert classifiers with zipmap=False)"
        )
    dims = list(arg.shape)
    if not dims or isinstance(dims[0], int):
        raise ValueError(f"{arg.name}: the first dimension must be the dynamic batch dimension, got {dims}")
    shape = tuple(d if isinstance(d, int) else -1 for d in dims[1:]) or (1,)
    return _Spec(arg.name, _ONNX_DTYPES[arg.type], shape, len(dims))


@dataclass(frozen=True)
class OnnxSignature:
    inputs: tuple[_Spec, ...]
    outputs: tuple[_Spec, ...]

    def to_wire(self, inputs: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
        """Check the caller's inputs against the model and shape them for Triton; returns them and the row count."""
        expected = {s.name for s in self.inputs}
        if set(inputs) != expected:
            raise ValueError(f"the model takes inputs {sorted(expected)}, got {sorted(inputs)}")
        wire = {s.name: s.to_wire(inputs[s.name]) for s in self.inputs}
        rows = {len(v) for v in wire.values()}
        if len(rows) != 1 or 0 in rows:
            raise ValueError(f"inputs must share one non-zero number of rows, got {sorted(rows)}")
        return wire, rows.pop()

    def to_model(self, wire: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {s.name: s.from_wire(wire[s.name]) for s in self.inputs}

    def outputs_to_wire(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {s.name: s.to_wire(outputs[s.name]) for s in self.outputs}

    def from_wire(self, parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return {s.name: s.from_wire(np.concatenate([p[s.name] for p in parts])) for s in self.outputs}


def read_signature(session: ort.InferenceSession) -> OnnxSignature:
    return OnnxSignature(
        tuple(_spec(a) for a in session.get_inputs()), tuple(_spec(a) for a in session.get_outputs())
    )


@dataclass(frozen=True)
class LatencyReport:
    """Per-request latency, sequential requests, with the configuration it was measured under."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    requests: int
    warmup: int
    batch_size: int
    device: str
    protocol: str
    max_batch_size: int
    max_queue_delay_us: int
    ort_threads: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Served:
    name: str  # the model's name on the server
    signature: OnnxSignature
    client: ModelClient
    device: str  # where the server runs it: "cpu" or "gpu"
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_use: int = 0  # predictions running on it: an idle model only is unloaded


class TritonInferenceBase(abc.ABC):
    """What the Triton adapters share: served models keyed by digest, LRU unloading, predictions.

    A subclass starts and stops (or reaches) its server and loads and unloads one model on it.
    """

    def __init__(
        self,
        *,
        max_batch_size: int,
        max_queue_delay_us: int,
        concurrency: int,
        ort_threads: int,
        timeout_s: float,
        max_models: int,
    ) -> None:
        self.max_batch_size = max_batch_size
        self.max_queue_delay_us = max_queue_delay_us
        self.concurrency = concurrency
        self.ort_threads = ort_threads
        self.timeout_s = timeout_s
        self.max_models = max_models  # every candidate model is distinct: unload the least recent ones
        self._models: OrderedDict[str, _Served] = OrderedDict()
        self._lock = threading.Lock()

    # -- what a subclass supplies ------------------------------------------------------------

    @property
    @abc.abstractmethod
    def running(self) -> bool: ...

    @property
    @abc.abstractmethod
    def url(self) -> str: ...

    @abc.abstractmethod
    def start(self) -> None:
        """Start or reach the server (done lazily by the first prediction); cheap once done."""

    @abc.abstractmethod
    def close(self) -> None:
        """Drop every loaded model and stop (or leave) the server."""

    @abc.abstractmethod
    def _load(self, key: str, model_bytes: bytes) -> _Served:
        """Load one model on the server (called under ``self._lock``)."""

    @abc.abstractmethod
    def _unload(self, served: _Served) -> None:
        """Unload one model from the server (called under ``self._lock``); failures only warn."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- models ------------------------------------------------------------------------------

    @property
    def loaded_models(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def model_name(self, model_bytes: bytes) -> str:
        """The key a model is listed under in ``loaded_models``."""
        return "onnx_" + hashlib.sha256(model_bytes).hexdigest()[:32]

    @contextlib.contextmanager
    def _served(self, model_bytes: bytes) -> Iterator[_Served]:
        """The model, loaded if need be and kept loaded while the caller uses it."""
        self.start()
        name = self.model_name(model_bytes)
        with self._lock:
            served = self._models.get(name)
            if served is None:
                served = self._models[name] = self._load(name, model_bytes)
            self._models.move_to_end(name)
            served.in_use += 1
            self._unload_idle_beyond_limit()
        try:
            yield served
        finally:
            with self._lock:
                served.in_use -= 1

    def _unload_idle_beyond_limit(self) -> None:
        for name in [n for n, m in self._models.items() if m.in_use == 0]:
            if len(self._models) <= self.max_models:
                return
            self._unload(self._models.pop(name))

    # -- inference ---------------------------------------------------------------------------

    def predict(
        self, model_bytes: bytes, inputs: dict[str, np.ndarray], *, request_rows: int | None = None
    ) -> dict[str, np.ndarray]:
        """All rows, as concurrent requests of ``request_rows`` rows (default ``max_batch_size``).

        Smaller requests are merged server-side by the dynamic batcher, up to ``max_batch_size`` rows.
        """
        with self._served(model_bytes) as served:
            return self._predict(served, inputs, request_rows)

    def _predict(
        self, served: _Served, inputs: dict[str, np.ndarray], request_rows: int | None
    ) -> dict[str, np.ndarray]:
        wire, rows = served.signature.to_wire(inputs)
        step = min(request_rows or self.max_batch_size, self.max_batch_size)
        chunks = [{k: v[i : i + step] for k, v in wire.items()} for i in range(0, rows, step)]
        with (
            _quiet(),
            FuturesModelClient(
                self.url,
                served.name,
                max_workers=self.concurrency,
                init_timeout_s=self.timeout_s,
                inference_timeout_s=self.timeout_s,
            ) as client,
        ):
            futures = [client.infer_batch(**chunk) for chunk in chunks]
            parts = [f.result() for f in futures]
        return served.signature.from_wire(parts)

    def predict_one_by_one(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One request per row, in sequence (the baseline that dynamic batching is compared with)."""
        with self._served(model_bytes) as served, served.lock, _quiet():
            wire, rows = served.signature.to_wire(inputs)
            parts = [
                served.client.infer_batch(**{k: v[i : i + 1] for k, v in wire.items()}) for i in range(rows)
            ]
        return served.signature.from_wire(parts)

    def measure_latency(
        self,
        model_bytes: bytes,
        inputs: dict[str, np.ndarray],
        *,
        warmup: int = 10,
        requests: int = 100,
        batch_size: int = 1,
    ) -> LatencyReport:
        """Latency of ``requests`` sequential requests of ``batch_size`` rows each, after ``warmup`` ones."""
        if requests < 1 or batch_size < 1 or batch_size > self.max_batch_size:
            raise ValueError("requests >= 1 and 1 <= batch_size <= max_batch_size are required")
        timings: list[float] = []
        with self._served(model_bytes) as served, served.lock, _quiet():
            wire, rows = served.signature.to_wire(inputs)
            for i in range(warmup + requests):
                index = np.arange(i * batch_size, (i + 1) * batch_size) % rows
                request = {k: np.ascontiguousarray(v[index]) for k, v in wire.items()}
                started = time.perf_counter()
                served.client.infer_batch(**request)
                if i >= warmup:
                    timings.append((time.perf_counter() - started) * 1000)
        ms = np.asarray(timings)
        return LatencyReport(
            p50_ms=float(np.percentile(ms, 50)),
            p95_ms=float(np.percentile(ms, 95)),
            mean_ms=float(ms.mean()),
            requests=requests,
            warmup=warmup,
            batch_size=batch_size,
            device=served.device,
            protocol="http",
            max_batch_size=self.max_batch_size,
            max_queue_delay_us=self.max_queue_delay_us,
            ort_threads=self.ort_threads,
        )


class TritonInference(TritonInferenceBase):
    """An ``InferenceBackend`` that scores ONNX models through PyTriton's embedded Triton Inference Server."""

    def __init__(
        self,
        *,
        device: Device = "auto",
        max_batch_size: int = 256,
        max_queue_delay_us: int = 500,
        concurrency: int = 4,
        ort_threads: int = 1,
        timeout_s: float = 60.0,
        max_models: int = 16,
    ) -> None:
        super().__init__(
            max_batch_size=max_batch_size,
            max_queue_delay_us=max_queue_delay_us,
            concurrency=concurrency,
            ort_threads=ort_threads,
            timeout_s=timeout_s,
            max_models=max_models,
        )
        has_cuda = device != "cpu" and cuda_available()
        if device == "gpu" and not has_cuda:
            raise ValueError(
                "device='gpu' but onnxruntime has no CUDAExecutionProvider here: install "
                "requirements/grading-gpu.txt (onnxruntime-gpu) on a machine with an NVIDIA driver"
            )
        self.device_kind: Literal["cpu", "gpu"] = "gpu" if has_cuda else "cpu"
        self._providers: list[Any] = (
            [CUDA_PROVIDER, "CPUExecutionProvider"] if has_cuda else ["CPUExecutionProvider"]
        )
        self._triton: Triton | None = None
        self._access_token: str | None = None
        self._binds = 0
        self._url = ""
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    # -- server lifecycle --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._triton is not None

    @property
    def url(self) -> str:
        return self._url

    @property
    def log_file(self) -> Path | None:
        return Path(self._workdir.name) / "tritonserver.log" if self._workdir else None

    def start(self) -> None:
        """Start tritonserver on free 127.0.0.1 ports (done lazily by the first prediction)."""
        with self._lock:
            if self._triton is not None:
                return
            if self.device_kind == "gpu":
                check_gpu_session(self._providers)
            self._workdir = tempfile.TemporaryDirectory(prefix="certifia-triton-")
            http_port = _free_port()
            config = TritonConfig(
                http_address="127.0.0.1",
                http_port=http_port,
                grpc_address="127.0.0.1",
                grpc_port=_free_port(),
                metrics_address="127.0.0.1",
                metrics_port=_free_port(),
                allow_gpu_metrics=self.device_kind == "gpu",
                log_file=self.log_file,
                exit_timeout_secs=5,
            )
            triton = Triton(config=config, workspace=Path(self._workdir.name) / "workspace")
            # PyTriton generates a token that model control (unload) needs; it exposes it only privately
            self._access_token = getattr(triton, "_access_token", None)
            with _python_libdir_in_environ():
                triton.run()
            self._triton, self._url = triton, f"http://127.0.0.1:{http_port}"

    def close(self) -> None:
        """Stop the server and drop every loaded model."""
        with self._lock:
            for served in self._models.values():
                served.client.close()
            self._models.clear()
            if self._triton is not None:
                self._triton.stop()
                self._triton = None
            if self._workdir is not None:
                self._workdir.cleanup()
                self._workdir = None

    def _unload(self, served: _Served) -> None:
        """Unload from tritonserver and stop PyTriton's side of the model (its proxy threads and sockets).

        PyTriton 0.7 has no public unbind: this does what its ModelManager.clean does for each model.
        """
        assert self._triton is not None
        manager = self._triton._model_manager
        model = manager._models.pop((served.name.lower(), 1), None)
        try:
            served.client.unload_model()  # the server's stub first, then PyTriton's end of the sockets
            if model is not None:
                model.clean()
        except Exception as exc:  # the server keeps it loaded: memory, not correctness
            warnings.warn(f"could not unload {served.name} from Triton: {exc}", stacklevel=2)
        finally:
            served.client.close()

    def _load(self, key: str, model_bytes: bytes) -> _Served:
        assert self._triton is not None
        # a fresh Triton name on every bind: PyTriton cannot bind a name again once it was unloaded
        self._binds += 1
        name = f"{key}_{self._binds}"
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.ort_threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(model_bytes, sess_options=options, providers=self._providers)
        signature = read_signature(session)
        self._triton.bind(
            model_name=name,
            infer_func=_make_infer(session, signature),
            inputs=[Tensor(name=t.name, dtype=t.wire_dtype, shape=t.shape) for t in signature.inputs],
            outputs=[Tensor(name=t.name, dtype=t.wire_dtype, shape=t.shape) for t in signature.outputs],
            config=ModelConfig(
                batching=True,
                max_batch_size=self.max_batch_size,
                batcher=DynamicBatcher(max_queue_delay_microseconds=self.max_queue_delay_us),
            ),
            strict=True,
        )
        client = ModelClient(
            self._url,
            name,
            init_timeout_s=self.timeout_s,
            inference_timeout_s=self.timeout_s,
            access_token=self._access_token,
        )
        return _Served(name, signature, client, self.device_kind)


def _make_infer(session: ort.InferenceSession, signature: OnnxSignature) -> Any:
    output_names = [t.name for t in signature.outputs]

    @batch
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        feeds = signature.to_model(inputs)
        outputs = session.run(output_names, feeds)
        return signature.outputs_to_wire(dict(zip(output_names, outputs, strict=True)))

    return infer


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*timeout.*")
        yield
