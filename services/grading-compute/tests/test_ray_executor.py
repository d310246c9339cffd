"""RayGradingExecutor against a real local Ray (one per module: Ray takes seconds to start)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from certifia_grading.adapters.ray_executor import GradingTaskError, RayGradingExecutor

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def executor() -> Iterator[RayGradingExecutor]:
    ex = RayGradingExecutor(num_cpus=2)
    yield ex
    ex.shutdown()


# Task bodies are defined inside the tests so that cloudpickle ships them by value
# (a test module is not importable from a Ray worker).


def test_runs_jobs_in_parallel_each_in_a_fresh_process(executor: RayGradingExecutor) -> None:
    def job(x: int) -> tuple[int, int]:
        time.sleep(1.0)
        return x * x, os.getpid()

    started = time.perf_counter()
    futures = [executor.submit(job, i) for i in range(2)]
    results = [f.result(timeout=60) for f in futures]
    assert [r[0] for r in results] == [0, 1]
    assert time.perf_counter() - started < 2.0, (
        "two 1 s jobs on 2 CPUs should overlap (in sequence: over 2 s)"
    )
    later = executor.run(job, 3)
    assert later[0] == 9
    assert len({r[1] for r in [*results, later]}) == 3, "max_calls=1: a new worker process per job"
    assert executor.start_seconds < 60


def test_a_job_that_raises_gives_a_readable_reason(executor: RayGradingExecutor) -> None:
    def job() -> None:
        raise ValueError("the candidate's predictions have the wrong shape")

    with pytest.raises(GradingTaskError) as caught:
        executor.run(job)
    assert caught.value.kind == "raised"
    assert "ValueError: the candidate's predictions have the wrong shape" in caught.value.reason


def test_a_job_whose_process_dies_is_not_retried_and_executor_goes_on(executor: RayGradingExecutor) -> None:
    def job() -> None:
        os._exit(1)

    started = time.perf_counter()
    with pytest.raises(GradingTaskError) as caught:
        executor.run(job, timeout=60)
    assert caught.value.kind == "crashed"
    assert "died" in caught.value.reason
    assert time.perf_counter() - started < 30
    assert executor.run(lambda: "next submission") == "next submission"


def test_a_job_past_its_timeout_is_killed(executor: RayGradingExecutor) -> None:
    def job() -> None:
        time.sleep(60)

    with pytest.raises(GradingTaskError) as caught:
        executor.run(job, timeout=1.0)
    assert caught.value.kind == "timeout"


def test_gpu_requested_only_when_the_cluster_has_one(executor: RayGradingExecutor) -> None:
    import ray

    def job() -> list[int]:
        return [int(g) for g in ray.get_gpu_ids()]

    gpu_ids = executor.run(job, num_gpus=1, timeout=60)
    if executor.gpus >= 1:
        assert len(gpu_ids) == 1
    else:
        assert gpu_ids == []
