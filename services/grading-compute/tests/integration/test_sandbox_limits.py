"""Per-job limits of the sandbox (issue 12, items 2 and 7), on the real bubblewrap sandbox.

Measured before each fix: three children of one job held 3.9 GB under ``memory_mb`` 2048 (each process had
its own address-space limit); 400 MB went into a subfolder of the outputs under ``max_output_mb`` 8 (only
top-level files were counted, after the run); ``unshare -Ur``, io_uring, bpf, perf_event_open and keyctl
reached the kernel from inside the sandbox; an archive holding a file and a folder of one name failed as
an internal error. The cgroup v2 path is checked against a fake cgroupfs tree (this host has v1).

Here, what runs the sandbox or a child process; tests/unit/test_sandbox_limits.py has the rest.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certifia_grading.adapters import cgroups
from certifia_grading.adapters import sandbox as sandbox_module
from certifia_grading.adapters.sandbox import BwrapSandbox, Limits, SandboxResult, make_sandbox
from certifia_grading.domain import Grader, GradingOutcome
from certifia_grading.domain.testing import write_doubling_pack, zip_files

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
needs_cgroups = pytest.mark.skipif(
    cgroups.available() is not None, reason="cgroups are not writable here (non-root, no delegation)"
)

GOOD = "def solve(numbers):\n    return numbers * 2\n"


@pytest.fixture(scope="module")
def packs() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="certifia-limits-"))
    write_doubling_pack(
        root,
        "limits_probe",
        "cpu_seconds: 8, memory_mb: 512, wall_seconds: 15, max_processes: 16, max_output_mb: 4, max_log_kb: 16",
        title="probe pack for the per-job limits",
    )
    yield root
    shutil.rmtree(root, ignore_errors=True)


def grade(packs: Path, source: str, *, sandbox: bool = True) -> GradingOutcome:
    engine = Grader(packs, sandbox=make_sandbox(sandbox))
    return engine.grade("limits_probe", zip_files({"solution.py": textwrap.dedent(source)}))


def run_script(
    script: str, limits: Limits, box: BwrapSandbox | None = None
) -> tuple[SandboxResult, dict[str, Any]]:
    """Run a plain Python script (no numpy: a small address space) in the sandbox; its last stdout line as JSON."""
    with tempfile.TemporaryDirectory(prefix="certifia-limits-job-") as job:
        os.chmod(job, 0o755)
        Path(job, "probe.py").write_text(textwrap.dedent(script))
        os.chmod(Path(job, "probe.py"), 0o644)
        result = (box or BwrapSandbox()).run(
            [os.path.normpath(sys.executable), "-I", "-S", "/sandbox/job/probe.py"],
            binds={"/sandbox/job": (job, False)},
            limits=limits,
            scratch=("/sandbox/output",),
            chdir="/sandbox/output",
        )
    lines = result.stdout.strip().splitlines()
    return result, (json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {})


# -- item 2: memory including children, one cgroup per job ----------------------------------------------
CHILDREN_HOLD_MEMORY = """
import subprocess, sys
code = "import time; x = b'x' * (150 << 20); print('held', flush=True); time.sleep(3)"
children = [subprocess.Popen([sys.executable, "-I", "-S", "-c", code]) for _ in range(3)]
print('{"codes": %s}' % [c.wait() for c in children])
"""


@needs_bwrap
@needs_cgroups
def test_children_share_one_memory_limit_and_the_cgroup_goes_away() -> None:
    limits = Limits(memory_mb=256, cpu_seconds=10, wall_seconds=20, max_processes=16)
    result, _ = run_script(CHILDREN_HOLD_MEMORY, limits)
    assert result.oom_killed, (result.returncode, result.stdout, result.stderr)
    assert not result.ok
    assert result.memory_peak_mb is not None and 200 < result.memory_peak_mb <= 256
    assert any("cgroup" in note for note in result.notes)
    assert result.duration_s < 3  # killed at the first OOM kill, not left to run to the children's sleep
    leftovers = [p for p in cgroups.job_folders() if p.exists()]
    assert leftovers == []


@needs_bwrap
@needs_cgroups
def test_memory_of_child_processes_counts_and_is_explained(packs: Path) -> None:
    outcome = grade(
        packs,
        """
        import subprocess, sys
        def solve(numbers):
            code = "import time; x = b'x' * (250 << 20); time.sleep(3)"
            children = [subprocess.Popen([sys.executable, "-I", "-S", "-c", code]) for _ in range(3)]
            [c.wait() for c in children]
            return numbers * 2
        """,
    )
    reason = outcome.failed_reason or ""
    assert "memory limit exceeded (512 MB, including child processes)" in reason, reason
    assert grade(packs, GOOD).failed_reason is None


FORK_40 = """
    import os, time
    pids, error = [], None
    for _ in range(40):
        try:
            pid = os.fork()
        except OSError as exc:
            error = exc.errno
            break
        if pid == 0:
            time.sleep(2)
            os._exit(0)
        pids.append(pid)
    print('{"forked": %d, "errno": %s}' % (len(pids), error))
    """


@needs_bwrap
@needs_cgroups
def test_pids_limit_is_per_job() -> None:
    result, report = run_script(FORK_40, Limits(max_processes=8, wall_seconds=10))
    assert report["errno"] == errno.EAGAIN, (result.stdout, result.stderr)
    assert isinstance(report["forked"], int) and report["forked"] <= 8


# -- item 2: outputs on a size-limited tmpfs --------------------------------------------------------------
def test_writing_past_the_output_limit_into_a_subfolder_fails(packs: Path) -> None:
    outcome = grade(
        packs,
        """
        import os
        def solve(numbers):
            os.makedirs("/sandbox/output/sub", exist_ok=True)
            for i in range(64):
                with open(f"/sandbox/output/sub/part{i}.bin", "wb") as fh:
                    fh.write(b"x" * (1 << 20))
            return numbers * 2
        """,
    )
    reason = outcome.failed_reason or ""
    assert "output limit exceeded" in reason and "4 MB" in reason, reason
    assert "/tmp/" not in reason and "certifia-job" not in reason


@needs_bwrap
def test_the_output_folder_is_a_bounded_tmpfs_and_outputs_come_back() -> None:
    script = """
    import errno, os
    os.makedirs("/sandbox/output/sub/deeper")
    written, error = 0, None
    try:
        for i in range(64):
            with open(f"/sandbox/output/sub/deeper/{i}", "wb") as fh:
                fh.write(b"x" * (1 << 20))
            written += 1 << 20
    except OSError as exc:
        error = exc.errno
    print('{"written": %d, "errno": %s}' % (written, error))
    """
    result, report = run_script(script, Limits(max_output_mb=4, wall_seconds=10))
    assert report["errno"] == errno.ENOSPC, (result.stdout, result.stderr)
    assert isinstance(report["written"], int) and report["written"] <= 4 << 20


def test_outputs_come_back_through_the_harness_channel(packs: Path) -> None:
    for sandbox in (True, False):  # the benchmark's UnsandboxedRunner keeps working
        outcome = grade(packs, GOOD, sandbox=sandbox)
        assert outcome.failed_reason is None, outcome.failed_reason
        assert [c.verdict for c in outcome.criteria] == ["validated"]


@needs_bwrap
def test_a_candidate_cannot_flood_the_channel(packs: Path) -> None:
    outcome = grade(
        packs,
        """
        import os
        def solve(numbers):  # the harness hid the channel's number: find it
            for fd in range(3, 64):
                try:
                    if not os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                        continue
                except OSError:
                    continue
                for _ in range(64):
                    os.write(fd, b"x" * (1 << 20))
            return numbers * 2
        """,
    )
    reason = outcome.failed_reason or ""
    assert "output limit exceeded" in reason, reason


# -- item 7: seccomp ---------------------------------------------------------------------------------------
KERNEL_SURFACE = r"""
import ctypes, json, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {"io_uring_setup": 425, "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248,
      "clone3": 435, "ptrace": 101, "mount": 165, "unshare": 272, "clone": 56, "setns": 308}
L = ctypes.c_long
S = ctypes.c_char_p

def call(name, *args):
    result = libc.syscall(NR[name], *args)
    return 0 if result >= 0 else ctypes.get_errno()

def in_child(name, *args):  # for calls that change the caller
    pid = os.fork()
    if pid == 0:
        os._exit(call(name, *args))
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

out = {
    "io_uring_setup": call("io_uring_setup", L(1), ctypes.create_string_buffer(120)),
    "bpf": call("bpf", L(9999), L(0), L(0)),
    "perf_event_open": call("perf_event_open", L(0), L(0), L(-1), L(-1), L(0)),
    "keyctl": call("keyctl", L(0), L(-3), L(0)),
    "add_key": call("add_key", S(b"user"), S(b"k"), S(b"v"), L(1), L(-3)),
    "clone3": call("clone3", L(0), L(0)),
    "mount": call("mount", S(b"none"), S(b"/nonexistent"), S(b"tmpfs"), L(0), L(0)),
    "setns": call("setns", L(9999), L(0)),
    "unshare": in_child("unshare", L(0x10000000)),
    "ptrace": in_child("ptrace", L(0), L(0), L(0), L(0)),
}
pid = libc.syscall(NR["clone"], L(0x10000000 | 17), L(0), L(0), L(0), L(0))
if pid == 0:
    os._exit(0)
out["clone_newuser"] = ctypes.get_errno() if pid < 0 else 0
if pid > 0:
    os.waitpid(pid, 0)
out["unshare_command"] = subprocess.run(["unshare", "-Ur", "true"], capture_output=True).returncode
thread = threading.Thread(target=lambda: None)
thread.start()
thread.join()
out["fork_thread_subprocess"] = subprocess.run(["true"]).returncode
print(json.dumps(out))
"""


@needs_bwrap
def test_seccomp_denies_the_kernel_surface() -> None:
    result, report = run_script(KERNEL_SURFACE, Limits(wall_seconds=20))
    assert result.returncode == 0, (result.stdout, result.stderr)
    denied = {
        k: v for k, v in report.items() if k not in ("clone3", "unshare_command", "fork_thread_subprocess")
    }
    assert denied == dict.fromkeys(denied, errno.EPERM), report
    assert report["clone3"] == errno.ENOSYS  # glibc then falls back to clone, whose flags are checked
    assert report["unshare_command"] != 0
    assert report["fork_thread_subprocess"] == 0  # honest processes and threads still work
    assert any("seccomp" in note for note in result.notes)


# -- root without CAP_SYS_ADMIN (root in a container): setpriv first, then an unprivileged bubblewrap -------
def _searchable_by_anyone(path: str) -> bool:
    return all(os.stat(a).st_mode & 0o001 for a in [*Path(path).resolve().parents, Path(path).resolve()])


# An unprivileged bubblewrap opens what it binds as the run's uid: the interpreter's folders must be
# searchable by anyone (so they are in the service image, /usr/local; a pyenv under /root is not).
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not _searchable_by_anyone(sys.base_prefix),
    reason="needs a root grader whose Python is searchable by any uid (the compose check runs this path)",
)
WHO = """
import json, os
print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups()}))
"""


@needs_bwrap
@needs_root
def test_root_without_cap_sys_admin_runs_each_job_under_its_own_uid_with_every_bound() -> None:
    """Measured before (compose, the Ray head as root): bubblewrap, started as a root without CAP_SYS_ADMIN,
    could not create its namespaces ("Operation not permitted") and no code pack was graded."""
    box = BwrapSandbox(privileged=False)
    result, who = run_script(WHO, Limits(wall_seconds=10), box=box)
    assert result.ok, (result.stdout, result.stderr)
    assert (
        200_000 <= who["uid"] < 260_000 and who["euid"] == who["uid"] and who["groups"] in ([], [who["uid"]])
    )
    result, forks = run_script(FORK_40, Limits(max_processes=8, wall_seconds=10), box=box)
    assert forks["errno"] == errno.EAGAIN and forks["forked"] <= 8, (result.stdout, result.stderr)
    result, surface = run_script(KERNEL_SURFACE, Limits(wall_seconds=20), box=box)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert surface["unshare"] == surface["clone_newuser"] == surface["mount"] == errno.EPERM, surface
    assert surface["unshare_command"] != 0 and surface["fork_thread_subprocess"] == 0


@needs_bwrap
@needs_root
def test_a_root_grader_without_cap_sys_admin_grades(packs: Path) -> None:
    outcome = Grader(packs, sandbox=BwrapSandbox(privileged=False)).grade(
        "limits_probe", zip_files({"solution.py": GOOD})
    )
    assert outcome.failed_reason is None, outcome.failed_reason


# -- no host path or exception text reaches a candidate ---------------------------------------------------
def test_an_archive_with_a_file_and_a_folder_of_one_name_is_refused_plainly(packs: Path) -> None:
    engine = Grader(packs, sandbox=BwrapSandbox())
    outcome = engine.grade("limits_probe", zip_files({"solution.py": GOOD, "data": "x", "data/x.txt": "y"}))
    reason = outcome.failed_reason or ""
    assert "archive" in reason and "could not be unpacked" in reason, reason
    assert "Error" not in reason and "/tmp" not in reason and "certifia-job" not in reason
    assert "internal error" not in reason


@needs_bwrap
def test_without_cgroups_the_sandbox_says_so_once_and_runs_under_rlimits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    nothing = cgroups.detect(fs_root=tmp_path / "nothing", self_cgroup=tmp_path / "none")
    box = BwrapSandbox(cgroup_hierarchy=nothing)
    argv = [os.path.normpath(sys.executable), "-I", "-S", "-c", "print('hello')"]
    monkeypatch.setattr(sandbox_module, "_warned_once", threading.Lock())  # as in a fresh process
    with caplog.at_level(logging.WARNING, logger=sandbox_module.__name__):
        results = [box.run(argv, binds={}, limits=Limits()) for _ in range(2)]
    assert all(r.ok and r.stdout == "hello\n" for r in results)
    assert all("per-process rlimits only" in r.notes[0] for r in results)
    assert len([r for r in caplog.records if "cgroups unavailable" in r.getMessage()]) == 1


# -- accommodations: the extra-time factor on the candidate's run (issue 17 item 7) ----------------------
@pytest.fixture(scope="module")
def tight_packs() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="certifia-extra-time-"))
    write_doubling_pack(
        root,
        "tight_probe",
        "cpu_seconds: 8, memory_mb: 512, wall_seconds: 3, max_processes: 16, max_output_mb: 4, max_log_kb: 16",
        title="probe pack with a 3 s wall-clock limit",
    )
    yield root
    shutil.rmtree(root, ignore_errors=True)


SLOW = """
import time
def solve(numbers):
    time.sleep(4)
    return numbers * 2
"""


@pytest.mark.integration
@needs_bwrap
def test_an_extra_time_factor_extends_the_wall_clock_limit_of_the_candidates_run(tight_packs: Path) -> None:
    engine = Grader(tight_packs, sandbox=BwrapSandbox())
    archive = zip_files({"solution.py": textwrap.dedent(SLOW)})
    plain = engine.grade("tight_probe", archive)
    assert plain.failed_reason and "wall-clock limit exceeded" in plain.failed_reason
    assert "3 s" in plain.failed_reason
    extended = engine.grade("tight_probe", archive, time_factor=2.0)
    assert extended.failed_reason is None and [c.verdict for c in extended.criteria] == ["validated"]
    assert extended.time_factor == 2.0
    assert engine.spec("tight_probe").limits.wall_seconds == 3  # the pack itself is unchanged
