"""Where a grading job runs: in this process (the grader still runs candidate code in its sandbox), or
as a Ray task in a Ray worker process (local Ray, or a cluster when an address is configured). Ray
reuses its worker processes, each keeping one grader (packs and datasets loaded once): candidate code
never runs in a worker, only in the grader's sandbox, and the scorer in a process of its own.

Every Ray job has a deadline derived from its pack's limits (:func:`job_timeout`); a job past it is
killed and becomes a failed grading saying so.

With Triton, model packs stay in this process: an ONNX submission carries no candidate code, only a
model that trusted code scores, and the service's Triton server batches every model job's rows; a
Ray worker would load its own onnxruntime session beside it and defeat the batching."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

from certifia_grading.adapters.sandbox import make_sandbox
from certifia_grading.domain import Grader, GradingOutcome
from certifia_grading.domain.inference import cuda_available

log = logging.getLogger(__name__)
JOB_MARGIN_S = 60.0  # beyond the pack's limits: worker start, dataset build, archive checks
_GRADERS: dict[tuple[str | None, bool, bool], Grader] = {}  # one per worker process and setting


def grade_in_worker(
    packs_dir: str | None, sandbox: bool, pack_id: str, archive: bytes, time_factor: float = 1.0
) -> GradingOutcome:
    """Runs inside a Ray worker: the worker's grader (built at its first job, datasets cached in it), with
    bubblewrap as its sandbox (``sandbox=False``: unsandboxed, as the service was configured)."""
    key = (packs_dir, sandbox, worker_gpu())
    grader = _GRADERS.get(key)
    if grader is None:
        grader = _GRADERS[key] = Grader(
            Path(packs_dir) if packs_dir else None, sandbox=make_sandbox(sandbox), gpu=key[2]
        )
    return grader.grade(pack_id, archive, time_factor=time_factor)


def job_timeout(limits: dict[str, float], margin_s: float = JOB_MARGIN_S) -> float:
    """A Ray job's deadline: the candidate's wall-clock limit, as much again for scoring, and a margin."""
    return 2 * float(limits.get("wall_seconds", 60.0)) + margin_s


def worker_gpu() -> bool:
    """Whether models run with CUDA: the GPU Ray granted this job (a pack that asks ``limits: gpus``)."""
    import ray

    granted = ray.is_initialized() and bool(ray.get_gpu_ids())
    if granted and not cuda_available():
        log.warning("this job was given a GPU but onnxruntime has no CUDA here: models run on the CPU")
    return granted and cuda_available()


class LocalGrader:
    def __init__(self, grader: Grader) -> None:
        self.grader = grader

    def __call__(self, pack_id: str, archive: bytes, *, time_factor: float = 1.0) -> GradingOutcome:
        self.grader.pack(pack_id)  # unknown pack: raises before any work
        return self.grader.grade(pack_id, archive, time_factor=time_factor)


class RayGrader:
    def __init__(
        self,
        grader: Grader,
        executor: Any,
        packs_dir: str | None,
        sandbox: bool,
        *,
        model_packs_here: bool = False,
        timeout_margin_s: float = JOB_MARGIN_S,
    ) -> None:
        self.grader = grader
        self.timeout_margin_s = timeout_margin_s
        self.executor = executor
        self.packs_dir = packs_dir
        self.sandbox = sandbox
        self.model_packs_here = model_packs_here  # True when this process's grader scores through Triton

    def __call__(self, pack_id: str, archive: bytes, *, time_factor: float = 1.0) -> GradingOutcome:
        info = self.grader.pack(pack_id)
        if self.model_packs_here and info.interface == "onnx":
            return self.grader.grade(pack_id, archive, time_factor=time_factor)
        num_gpus = info.limits.get(
            "gpus", 0
        )  # a pack asks for GPUs in its limits; Ray grants them if present
        from certifia_grading.adapters.ray_executor import GradingTaskError  # ray only where Ray runs jobs

        limits = {**info.limits, "wall_seconds": info.limits.get("wall_seconds", 60.0) * time_factor}
        timeout = job_timeout(limits, self.timeout_margin_s)
        started = time.monotonic()
        try:
            outcome: GradingOutcome = self.executor.run(
                grade_in_worker,
                self.packs_dir,
                self.sandbox,
                pack_id,
                archive,
                time_factor,
                num_gpus=num_gpus,
                timeout=timeout,
            )
        except GradingTaskError as error:
            if error.kind != "timeout":
                raise  # the infrastructure's failure (worker died, no node): retried by the grading worker
            log.warning("grading job of pack %s stopped after %.0f s", pack_id, timeout)
            reason = (
                f"grading stopped: the job ran longer than {timeout:g} s, the most this pack allows "
                "(its code, its scoring and a margin), and was stopped"
            )
            return GradingOutcome(
                pack_id=info.id,
                pack_version=info.version,
                dataset_seed=info.dataset_seed,
                submission_digest=hashlib.sha256(archive).hexdigest(),
                criteria=(),
                metrics={},
                duration_s=round(time.monotonic() - started, 3),
                failed_reason=reason,
                time_factor=time_factor,
            )
        return outcome
