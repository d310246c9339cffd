"""RayGradingExecutor against a real local Ray (one per module: Ray takes seconds to start)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certifia_grading.adapters.ray_executor import GradingTaskError, RayGradingExecutor
from certifia_grading.adapters.runner import RayGrader
from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.testing import zip_files

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def executor() -> Iterator[RayGradingExecutor]:
    ex = RayGradingExecutor(num_cpus=2)
    yield ex
    ex.shutdown()


# Task bodies are defined inside the tests so that cloudpickle ships them by value
# (a test module is not importable from a Ray worker).


def test_runs_jobs_in_parallel_and_reuses_worker_processes(executor: RayGradingExecutor) -> None:
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
    # no fresh interpreter per job (that cost 3.5-3.9 CPU-s a job): the third job runs in a worker of the
    # first two (candidate code never runs in a worker: the sandbox is the isolation)
    assert later[1] in {r[1] for r in results}
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


SLOW_BUILD_PACK = {
    "pack.yaml": 'id: slow_build\nversion: "0.0.1"\ntitle: "a dataset that never gets built"\n'
    "interface:\n  kind: python\n  function: solve\n  signature: solve(numbers)\n"
    "  inputs: [{name: numbers, format: json}]\n  outputs: [{name: doubled, format: json}]\n"
    "dataset: {seed: 1}\nlimits: {cpu_seconds: 2, memory_mb: 512, wall_seconds: 1}\n"
    'criteria:\n  - id: "2.A1.C1.E1"\n    summary: probe\n'
    '    checks: [{metric: exact, comparator: "==", threshold: 1, reason: "probe"}]\n',
    "pack.py": "import time\n\n\ndef build(seed):\n    time.sleep(120)\n\n\n"
    "def score(submission, dataset, ctx):\n    return {}\n",
}


def test_a_ray_job_past_its_deadline_is_a_failed_grading_and_the_next_job_runs(
    executor: RayGradingExecutor, tmp_path: Path
) -> None:
    folder = tmp_path / "slow_build"
    folder.mkdir()
    for name, text in SLOW_BUILD_PACK.items():
        (folder / name).write_text(text)
    grader = RayGrader(
        Grader(tmp_path, sandbox=BwrapSandbox()), executor, str(tmp_path), True, timeout_margin_s=3
    )
    started = time.monotonic()
    outcome = grader("slow_build", zip_files({"solution.py": "def solve(numbers):\n    return numbers\n"}))
    took = time.monotonic() - started
    assert 5 <= took < 20, took  # 2 x wall_seconds (1 s) + the 3 s margin, not the build's 120 s
    assert outcome.failed_reason is not None
    assert outcome.failed_reason.startswith("grading stopped: the job ran longer than 5 s")
    assert outcome.pack_id == "slow_build" and outcome.criteria == ()
    assert executor.run(lambda: "next submission", timeout=60) == "next submission"
