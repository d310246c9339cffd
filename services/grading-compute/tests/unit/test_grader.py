"""The grader runs candidate code only in the sandbox it was given (domain.sandbox.Sandbox, injected by
bootstrap): what it hands the sandbox (the job's folders, the pack's limits with a candidate's extra time,
the harness) and how it names a run that failed, on a stand-in sandbox that records the run and answers
a chosen SandboxResult. The real bubblewrap runs in tests/integration."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from certifia_grading.domain import Grader, Limits, SandboxResult, SandboxUnavailable
from certifia_grading.domain.sandbox import SANDBOX_ROOT
from certifia_grading.domain.testing import write_doubling_pack, zip_files

PACK = "probe_pack"
SOLUTION = zip_files({"solution.py": "def solve(numbers):\n    return numbers * 2\n"})


class RecordingSandbox:
    """A Sandbox that runs nothing: it records what it was asked and what the job's folders held."""

    def __init__(
        self, result: SandboxResult | None = None, *, isolated: bool = True, unavailable: bool = False
    ) -> None:
        self.result = result or SandboxResult(returncode=0, duration_s=0.1, stdout="", stderr="")
        self.isolated = isolated
        self.unavailable = unavailable
        self.runs: list[dict[str, Any]] = []

    def check(self) -> None:
        if self.unavailable:
            raise SandboxUnavailable("bubblewrap is not installed here")

    def sandbox_uid(self) -> int | None:
        return None

    def run(
        self,
        argv: Sequence[str],
        *,
        binds: Mapping[str, tuple[str, bool]],
        limits: Limits,
        chdir: str = SANDBOX_ROOT,
        uid: int | None = None,
        env: Mapping[str, str] | None = None,
        scratch: Sequence[str] = (),
        channel: bool = False,
    ) -> SandboxResult:
        job_folder = Path(binds[f"{SANDBOX_ROOT}/job"][0])
        self.runs.append(
            {
                "argv": list(argv),
                "binds": dict(binds),
                "limits": limits,
                "chdir": chdir,
                "env": dict(env or {}),
                "scratch": tuple(scratch),
                "channel": channel,
                "files": {dest: sorted(os.listdir(src)) for dest, (src, _rw) in binds.items()},
                "job": json.loads((job_folder / "job.json").read_text()),
            }
        )
        return self.result


def grader(tmp_path: Path, sandbox: RecordingSandbox) -> Grader:
    write_doubling_pack(tmp_path, PACK, "cpu_seconds: 5, wall_seconds: 4, memory_mb: 512")
    return Grader(tmp_path, sandbox=sandbox)


def test_the_candidates_code_runs_in_the_given_sandbox_under_the_packs_limits(tmp_path: Path) -> None:
    sandbox = RecordingSandbox(
        SandboxResult(returncode=None, duration_s=4.0, stdout="", stderr="", timed_out=True)
    )
    outcome = grader(tmp_path, sandbox).grade(PACK, SOLUTION)
    [run] = sandbox.runs
    assert run["argv"][-2:] == [f"{SANDBOX_ROOT}/job/harness.py", f"{SANDBOX_ROOT}/job/job.json"]
    assert "-I" in run["argv"]  # isolated mode: no user site, no PYTHON* variables
    assert set(run["binds"]) == {f"{SANDBOX_ROOT}/{k}" for k in ("submission", "inputs", "job")}
    assert not any(writable for _src, writable in run["binds"].values())  # nothing of the host is writable
    assert (run["chdir"], run["scratch"], run["channel"]) == (
        f"{SANDBOX_ROOT}/output",
        (f"{SANDBOX_ROOT}/output",),
        True,
    )
    assert run["files"][f"{SANDBOX_ROOT}/job"] == ["harness.py", "job.json"]
    assert run["files"][f"{SANDBOX_ROOT}/submission"] == ["solution.py"]
    assert run["files"][f"{SANDBOX_ROOT}/inputs"] == ["numbers.npy"]
    assert run["job"]["inputs_dir"] == f"{SANDBOX_ROOT}/inputs"  # the paths the sandboxed process sees
    assert (run["limits"].cpu_seconds, run["limits"].wall_seconds, run["limits"].memory_mb) == (5, 4.0, 512)
    assert run["env"]["PYTHONHASHSEED"] == "0"
    assert outcome.failed_reason == "wall-clock limit exceeded: the code ran longer than 4 s and was killed"
    assert outcome.failure_cause == "submission" and outcome.criteria == ()
    assert not any(Path(src).exists() for src, _rw in run["binds"].values())  # the job's folders are removed


def test_extra_time_multiplies_the_sandboxes_time_limits_only(tmp_path: Path) -> None:
    sandbox = RecordingSandbox(
        SandboxResult(returncode=None, duration_s=8.0, stdout="", stderr="", timed_out=True)
    )
    outcome = grader(tmp_path, sandbox).grade(PACK, SOLUTION, time_factor=2.0)
    [run] = sandbox.runs
    assert (run["limits"].cpu_seconds, run["limits"].wall_seconds, run["limits"].memory_mb) == (10, 8.0, 512)
    assert outcome.time_factor == 2.0 and "8 s" in (outcome.failed_reason or "")


def test_an_unavailable_sandbox_is_the_infrastructures_failure_and_nothing_runs(tmp_path: Path) -> None:
    sandbox = RecordingSandbox(unavailable=True)
    outcome = grader(tmp_path, sandbox).grade(PACK, SOLUTION)
    assert sandbox.runs == []
    assert outcome.failed_reason == "sandbox unavailable: bubblewrap is not installed here"
    assert outcome.failure_cause == "infrastructure"


def test_a_runner_that_is_not_isolated_is_given_host_paths(tmp_path: Path) -> None:
    sandbox = RecordingSandbox(
        SandboxResult(returncode=None, duration_s=4.0, stdout="", stderr="", timed_out=True), isolated=False
    )
    grader(tmp_path, sandbox).grade(PACK, SOLUTION)
    [run] = sandbox.runs
    assert run["job"]["inputs_dir"] == run["binds"][f"{SANDBOX_ROOT}/inputs"][0]
    assert run["job"]["submission_dir"] == run["binds"][f"{SANDBOX_ROOT}/submission"][0]


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (
            SandboxResult(returncode=None, duration_s=1, stdout="", stderr="", oom_killed=True),
            "memory limit exceeded (512 MB, including child processes)",
        ),
        (
            SandboxResult(
                returncode=10, duration_s=1, stdout="", stderr="ModuleNotFoundError: No module named 'x'"
            ),
            "the entry point solution.solve cannot be imported: ModuleNotFoundError: No module named 'x'",
        ),
        (
            SandboxResult(
                returncode=11, duration_s=1, stdout="", stderr="ZeroDivisionError: division by zero"
            ),
            "solve() raised an exception: ZeroDivisionError: division by zero",
        ),
        (
            SandboxResult(returncode=0, duration_s=1, stdout="", stderr=""),
            "expected output 'doubled.npy' was not written",
        ),
        (
            SandboxResult(
                returncode=0, duration_s=1, stdout="", stderr="", channel=b"CERTIFIA-OUTPUTS/1\n\x00\x00"
            ),
            "the outputs handed back by the harness are malformed",
        ),
    ],
)
def test_a_failed_run_is_named_by_what_it_exceeded_or_did(
    tmp_path: Path, result: SandboxResult, reason: str
) -> None:
    outcome = grader(tmp_path, RecordingSandbox(result)).grade(PACK, SOLUTION)
    assert outcome.failed_reason == reason and outcome.failure_cause == "submission"
