"""Where a grading job runs: in this process (the engine still runs candidate code in its sandbox), or
as a Ray task in a fresh worker process (local Ray, or a cluster when an address is configured).

With Triton, model packs stay in this process: an ONNX submission carries no candidate code, only a
model that trusted code scores, and the service's Triton server batches every model job's rows; a
Ray worker would load its own onnxruntime session beside it and defeat the batching."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from certifia_grading.engine import GradingEngine, GradingOutcome
from certifia_grading.engine.inference import cuda_available

log = logging.getLogger(__name__)


def grade_in_worker(packs_dir: str | None, sandbox: bool, pack_id: str, archive: bytes) -> GradingOutcome:
    """Runs inside a Ray worker: builds its own engine (nothing shared with other jobs)."""
    engine = GradingEngine(Path(packs_dir) if packs_dir else None, sandbox=sandbox, gpu=worker_gpu())
    return engine.grade(pack_id, archive)


def worker_gpu() -> bool:
    """Whether models run with CUDA: the GPU Ray granted this job (a pack that asks ``limits: gpus``)."""
    import ray

    granted = ray.is_initialized() and bool(ray.get_gpu_ids())
    if granted and not cuda_available():
        log.warning("this job was given a GPU but onnxruntime has no CUDA here: models run on the CPU")
    return granted and cuda_available()


class LocalGrader:
    def __init__(self, engine: GradingEngine) -> None:
        self.engine = engine

    def __call__(self, pack_id: str, archive: bytes) -> GradingOutcome:
        self.engine.pack(pack_id)  # unknown pack: raises before any work
        return self.engine.grade(pack_id, archive)


class RayGrader:
    def __init__(
        self,
        engine: GradingEngine,
        executor: Any,
        packs_dir: str | None,
        sandbox: bool,
        *,
        model_packs_here: bool = False,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.packs_dir = packs_dir
        self.sandbox = sandbox
        self.model_packs_here = model_packs_here  # True when this process's engine scores through Triton

    def __call__(self, pack_id: str, archive: bytes) -> GradingOutcome:
        info = self.engine.pack(pack_id)
        if self.model_packs_here and info.interface == "onnx":
            return self.engine.grade(pack_id, archive)
        num_gpus = info.limits.get(
            "gpus", 0
        )  # a pack asks for GPUs in its limits; Ray grants them if present
        outcome: GradingOutcome = self.executor.run(
            grade_in_worker, self.packs_dir, self.sandbox, pack_id, archive, num_gpus=num_gpus
        )
        return outcome
