"""Candidate models loaded, run and timed in the sandbox, scored outside.

Measured once: a 560-byte model (a chain of constant MatMuls) took 24 s to load in the service and an
816-byte one grew it by 0.9 GB, kept in its model cache; loading an external-data tensor read a host file.
Here every load and run happens in a fresh bubblewrap sandbox (no network, no host files but the model
and its inputs, an empty writable folder) under the pack's limits (CPU, memory, wall clock, processes),
with certifia_grading.domain.model_runner, whose working folder is a size-bounded tmpfs: what it hands
back comes through the sandbox's capped channel (a pipe), never through a host folder. The trusted side
reads back only plain numeric arrays (``allow_pickle=False``). A failure is named by what was exceeded, never by the runtime's
message (which may quote what the model made it read).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from certifia_grading.domain import model_runner
from certifia_grading.domain.execution import unframe
from certifia_grading.domain.model import SubmissionError
from certifia_grading.domain.sandbox import SANDBOX_ROOT, Limits, Sandbox, SandboxResult

RUNNER = Path(model_runner.__file__)
ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
MIN_LATENCY_RUNS = 3
SCRATCH = f"{SANDBOX_ROOT}/output"  # the run's working folder: a bounded tmpfs inside the sandbox


@dataclass(frozen=True)
class LatencySettings:
    warmup: int
    runs: int
    budget_s: float
    threads: int = 1


class SandboxedOnnxBackend:
    """The InferenceBackend of the grader when it sandboxes: each call is one sandboxed run."""

    def __init__(self, runner: Sandbox, limits: Limits, *, threads: int = 1, gpu: bool = False) -> None:
        self.runner = runner
        self.limits = limits
        self.threads = threads
        self.gpu = gpu

    def predict(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        _status, out = self._run("predict", {"model": model_bytes}, inputs)
        return out

    def latency_p50(
        self, models: dict[str, bytes], feeds: dict[str, np.ndarray], settings: LatencySettings
    ) -> dict[str, float]:
        """Median milliseconds of one run of each model on ``feeds``, interleaved, in one sandboxed run."""
        result, _ = self._run("latency", models, feeds, latency=settings)
        times = result.get("p50_ms")
        if not isinstance(times, dict) or set(times) != set(models):
            raise SubmissionError("the model could not be timed")
        return {name: float(times[name]) for name in models}

    def preflight(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> None:
        """Load the model and run it on a few rows within the limits (before another server serves it)."""
        few = {k: v[:4] for k, v in inputs.items()}
        self._run("predict", {"model": model_bytes}, few)

    # -- one sandboxed run -----------------------------------------------------------------------------
    def _run(
        self,
        mode: str,
        models: dict[str, bytes],
        feeds: dict[str, np.ndarray],
        latency: LatencySettings | None = None,
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        root = Path(tempfile.mkdtemp(prefix="certifia-model-"))
        try:
            root.chmod(0o711)
            job = root / "job"
            job.mkdir(mode=0o755)
            sandboxed = self.runner.isolated
            # the working folder: a size-bounded tmpfs in the sandbox (a folder of the job outside it);
            # nothing written there reaches the host, what comes back comes through the channel
            scratch = root / "scratch"
            if not sandboxed:
                scratch.mkdir(mode=0o700)

            def seen(path: Path) -> str:
                return f"{SANDBOX_ROOT}/{path.relative_to(root)}" if sandboxed else str(path)

            for name, data in models.items():
                (job / f"{_safe(name)}.onnx").write_bytes(data)
            np.savez(job / "feeds.npz", **{k: np.asarray(v) for k, v in feeds.items()})
            spec: dict[str, Any] = {
                "mode": mode,
                "models": {n: seen(job / f"{_safe(n)}.onnx") for n in models},
                "feeds": seen(job / "feeds.npz"),
                "threads": latency.threads if latency else self.threads,
                "gpu": self.gpu,
            }
            if latency is not None:
                spec["latency"] = {
                    "warmup": latency.warmup,
                    "runs": latency.runs,
                    "budget_s": latency.budget_s,
                    "min_runs": MIN_LATENCY_RUNS,
                }
            (job / "job.json").write_text(json.dumps(spec), encoding="utf-8")
            shutil.copyfile(RUNNER, job / "model_runner.py")
            for path in job.iterdir():
                path.chmod(0o644)
            uid = self.runner.sandbox_uid()
            binds = {f"{SANDBOX_ROOT}/job": (str(job), False)}
            argv = [
                os.path.normpath(sys.executable),
                "-I",
                "-B",
                seen(job / "model_runner.py"),
                seen(job / "job.json"),
            ]
            workdir = SCRATCH if sandboxed else str(scratch)
            result = self.runner.run(
                argv,
                binds=binds,
                limits=self.limits,
                chdir=workdir,
                uid=uid,
                env=ENV,
                scratch=(workdir,) if sandboxed else (),
                channel=True,
            )
            frames = self._frames(result)
            status = self._status(result, frames)
            arrays = self._outputs(frames) if mode == "predict" else {}
            return status, arrays
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _frames(self, result: SandboxResult) -> dict[str, bytes]:
        if result.channel_overflow:
            raise SubmissionError(
                f"the model's outputs were larger than the {self.limits.max_output_mb} MB this pack allows"
            )
        try:
            return unframe(result.channel or b"", {"result.json", "outputs.npz"})
        except SubmissionError:
            return {}

    def _status(self, result: SandboxResult, frames: dict[str, bytes]) -> dict[str, Any]:
        lim = self.limits
        if result.timed_out:
            raise SubmissionError(
                f"the model took longer than the {lim.wall_seconds:g} s allowed to load and run"
            )
        try:
            status = json.loads(frames["result.json"][: 64 * 1024])
            if not isinstance(status, dict):
                raise ValueError("not an object")
        except (KeyError, ValueError):
            status = {"status": "crashed"}
        if result.returncode == 0 and status.get("status") == "ok":
            return status
        if status.get("status") == "load_failed":
            raise SubmissionError("the model could not be loaded by onnxruntime")
        if status.get("status") == "run_failed":
            raise SubmissionError("the model could not be run on the evaluation inputs")
        raise SubmissionError(
            f"the model exceeded its limits while loading or running ({lim.memory_mb} MB of memory, "
            f"{lim.cpu_seconds} CPU seconds, {lim.wall_seconds:g} s)"
        )

    def _outputs(self, frames: dict[str, bytes]) -> dict[str, np.ndarray]:
        data = frames.get("outputs.npz")
        if data is None:
            raise SubmissionError("the model's outputs could not be read back")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
                return {name: np.asarray(loaded[name]) for name in loaded.files}
        except Exception:
            raise SubmissionError("the model's outputs could not be read back") from None


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40] or "model"
