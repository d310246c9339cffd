"""Ray executor for grading jobs: one Ray task per job, in worker processes that Ray reuses.

A local Ray is started on this machine (``address=None``) or an existing cluster is joined
(``address="ray://..."`` or ``"auto"``). Every job is a Ray task with ``max_retries=0`` (Ray would
otherwise retry a task killed for memory, again and again). Workers are reused from job to job (Ray's
default): candidate code never runs in a worker process, only in the sandbox the grader starts (with
its own rlimits and cgroup), and the scorer in a bounded child, so what a worker keeps between jobs is
the grader's own state (packs, datasets), which is what makes a job cost its grading and not a
fresh interpreter (a fresh worker per job, ``max_calls=1``, cost 3.5-3.9 CPU-seconds a job). A job
that is killed (timeout, crash) takes its worker with it; Ray starts another.
GPUs are requested only when asked for and when the cluster has them.

A job that raises, crashes, is killed or cannot be scheduled surfaces as :class:`GradingTaskError`,
whose ``kind`` and ``reason`` are meant for a ``grading.failed`` event.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

import ray
from ray import exceptions as rex

log = logging.getLogger(__name__)

T = TypeVar("T")
FailureKind = Literal["raised", "crashed", "out_of_memory", "cancelled", "unschedulable", "timeout", "system"]


class GradingTaskError(Exception):
    """A grading job that did not return a result; ``reason`` is readable by a candidate."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind: FailureKind = kind
        self.reason = reason


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def _translate(error: Exception) -> GradingTaskError:
    if isinstance(error, rex.RayTaskError):
        cause = getattr(error, "cause", None) or error
        return GradingTaskError("raised", f"{type(cause).__name__}: {cause}"[:2000])
    if isinstance(error, rex.OutOfMemoryError):
        return GradingTaskError(
            "out_of_memory", "the grading worker was killed: the machine ran out of memory"
        )
    if isinstance(error, rex.WorkerCrashedError):
        return GradingTaskError("crashed", "the grading worker process died (it exited or was killed)")
    if isinstance(error, rex.TaskCancelledError):
        return GradingTaskError("cancelled", "the grading job was cancelled")
    if isinstance(error, rex.TaskUnschedulableError):
        return GradingTaskError(
            "unschedulable", "no node can run this grading job with the resources it asks for"
        )
    return GradingTaskError("system", f"{type(error).__name__}: {error}"[:2000])


class GradingFuture(Generic[T]):
    """A submitted grading job (a thin wrapper around a Ray ``ObjectRef``)."""

    def __init__(self, ref: ray.ObjectRef) -> None:
        self.ref = ref

    def done(self) -> bool:
        ready, _ = ray.wait([self.ref], timeout=0)
        return bool(ready)

    def result(self, timeout: float | None = None) -> T:
        """The job's return value; raises :class:`GradingTaskError` if it failed or timed out."""
        try:
            return ray.get(self.ref, timeout=timeout)  # type: ignore[no-any-return]
        except rex.GetTimeoutError:
            raise GradingTaskError("timeout", f"no result within {timeout} s") from None
        except rex.RayError as error:
            raise _translate(error) from error

    def cancel(self, *, force: bool = True) -> None:
        """Stop the job; ``force`` kills its worker process even while it runs."""
        ray.cancel(self.ref, force=force)


class RayGradingExecutor:
    """Runs grading jobs as Ray tasks, in parallel up to the cluster's CPUs."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        *,
        cpus_per_task: float = 1,
        log_to_driver: bool = False,
    ) -> None:
        started = time.perf_counter()
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=log_to_driver,
                namespace="certifia-grading",
            )
        self.start_seconds = time.perf_counter() - started
        self._cpus_per_task = cpus_per_task
        self._remote = ray.remote(max_retries=0, num_cpus=cpus_per_task)(_call)
        log.info("ray ready in %.1f s: %s", self.start_seconds, ray.cluster_resources())

    @property
    def gpus(self) -> float:
        return float(ray.cluster_resources().get("GPU", 0.0))

    @property
    def cpus(self) -> float:
        return float(ray.cluster_resources().get("CPU", 0.0))

    def submit(self, fn: Callable[..., T], *args: Any, num_gpus: float = 0) -> GradingFuture[T]:
        """Start ``fn(*args)`` in a Ray worker process; GPUs are requested only if the cluster has them."""
        options: dict[str, Any] = {}
        if num_gpus > 0:
            if self.gpus >= num_gpus:
                options["num_gpus"] = num_gpus
            else:
                log.info("job asked for %s GPU(s); none in the cluster, running on CPU", num_gpus)
        remote = self._remote.options(**options) if options else self._remote
        return GradingFuture(remote.remote(fn, *args))

    def run(self, fn: Callable[..., T], *args: Any, num_gpus: float = 0, timeout: float | None = None) -> T:
        """Submit and wait; a job still running after ``timeout`` seconds is killed."""
        future = self.submit(fn, *args, num_gpus=num_gpus)
        try:
            return future.result(timeout=timeout)
        except GradingTaskError as error:
            if error.kind == "timeout":
                future.cancel(force=True)
            raise

    def shutdown(self) -> None:
        """Stop the local Ray this executor started (a joined cluster is left running)."""
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()

    def __enter__(self) -> RayGradingExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
