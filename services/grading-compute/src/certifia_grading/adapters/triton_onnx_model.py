"""Triton Python-backend model that runs the ``model.onnx`` beside it with onnxruntime (CPU, 1 thread).

Trusted code of grading-compute: ``TritonRepositoryInference(backend="python")`` copies this file as
``<repository>/<name>/1/model.py`` next to the candidate's ``model.onnx``. It runs inside tritonserver's
Python stub, the only place where ``triton_python_backend_utils`` exists (never import it in the
service). Candidate code never runs: the candidate's file is an ONNX graph that onnxruntime executes.

The dynamic batcher hands several requests over at once: their rows are concatenated into one
onnxruntime run and the outputs split back per request. A rank-1 ONNX tensor (batch dimension only)
is declared to Triton as ``dims: [1]`` with ``reshape: { shape: [] }``; whichever of ``[N]`` or
``[N, 1]`` arrives here, it is given to onnxruntime with the rank the ONNX input declares.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        self.inputs = [(i.name, len(i.shape), i.type == "tensor(string)") for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def execute(self, requests: list[Any]) -> list[Any]:
        try:
            batches = [
                {
                    name: _to_model(pb_utils.get_input_tensor_by_name(r, name), rank, text)
                    for name, rank, text in self.inputs
                }
                for r in requests
            ]
            sizes = [len(b[self.inputs[0][0]]) for b in batches]
            feeds = {name: np.concatenate([b[name] for b in batches]) for name, _, _ in self.inputs}
            values = self.session.run(self.outputs, feeds)
        except Exception as exc:  # one error per request: the server answers each caller
            error = pb_utils.TritonError(f"{type(exc).__name__}: {exc}")
            return [pb_utils.InferenceResponse(output_tensors=[], error=error) for _ in requests]
        responses, start = [], 0
        for size in sizes:
            tensors = [
                pb_utils.Tensor(name, _to_triton(np.asarray(value)[start : start + size]))
                for name, value in zip(self.outputs, values, strict=True)
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start += size
        return responses

    def finalize(self) -> None:
        self.session = None


def _to_model(tensor: Any, rank: int, text: bool) -> np.ndarray:
    value = tensor.as_numpy()
    if text:  # Triton hands strings over as bytes objects; onnxruntime wants str
        value = np.vectorize(lambda b: b.decode("utf-8") if isinstance(b, bytes) else b, otypes=[object])(
            value
        )
    return value.reshape(-1) if rank == 1 else value


def _to_triton(value: np.ndarray) -> np.ndarray:
    if value.dtype == np.object_ or value.dtype.kind == "U":  # strings go back as UTF-8 bytes
        return np.vectorize(lambda s: s.encode("utf-8") if isinstance(s, str) else s, otypes=[object])(value)
    return value
