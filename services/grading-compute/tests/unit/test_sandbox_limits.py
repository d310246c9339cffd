"""Per-job limits of the sandbox (issue 12, items 2 and 7), on the real bubblewrap sandbox.

Measured before each fix: three children of one job held 3.9 GB under ``memory_mb`` 2048 (each process had
its own address-space limit); 400 MB went into a subfolder of the outputs under ``max_output_mb`` 8 (only
top-level files were counted, after the run); ``unshare -Ur``, io_uring, bpf, perf_event_open and keyctl
reached the kernel from inside the sandbox; an archive holding a file and a folder of one name failed as
an internal error. The cgroup v2 path is checked against a fake cgroupfs tree (this host has v1).

Here, what runs in this process (no sandbox, no child process); tests/integration/test_sandbox_limits.py has the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from certifia_grading.adapters import cgroups
from certifia_grading.adapters.sandbox import BwrapSandbox, Limits
from certifia_grading.domain import Grader


# -- the cgroup logic on fake trees (v2 here is never real) ------------------------------------------------
def _fake_v2(root: Path, *, own: str = "/") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (root / "cgroup.subtree_control").write_text("")
    base = root / own.strip("/") if own != "/" else root
    base.mkdir(parents=True, exist_ok=True)
    (base / "cgroup.controllers").write_text("cpu io memory pids\n")
    (base / "cgroup.subtree_control").write_text("")
    proc = root.parent / "proc-self-cgroup"
    proc.write_text(f"0::{own}\n")
    return proc


def test_cgroup_v2_on_a_fake_tree(tmp_path: Path) -> None:
    fs = tmp_path / "cgroup"
    proc = _fake_v2(fs, own="/grader.service")
    hierarchy = cgroups.detect(fs_root=fs, self_cgroup=proc)
    assert hierarchy.version == 2
    job = hierarchy.create(Limits(memory_mb=300, max_processes=10))
    folder = fs / "grader.service" / cgroups.GROUP
    assert job.folders[0].parent == folder
    enabled = ["+cpu", "+memory", "+pids"]
    assert (fs / "grader.service" / "cgroup.subtree_control").read_text().split() == enabled
    assert (folder / "cgroup.subtree_control").read_text().split() == enabled
    cg = job.folders[0]
    assert (cg / "memory.max").read_text() == str(300 << 20)
    assert (cg / "memory.swap.max").read_text() == "0"
    assert (cg / "pids.max").read_text() == str(10 + cgroups.SANDBOX_OVERHEAD_PIDS)
    assert (cg / "cpu.max").read_text() == "100000 100000"
    assert job.procs_files == (str(cg / "cgroup.procs"),)
    (cg / "memory.peak").write_text(str(280 << 20))
    (cg / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n")
    assert job.oom_kills() == 1
    assert job.peak_mb() == 280.0
    (cg / "cgroup.procs").write_text("")
    job.close()  # kills what is left (cgroup.kill) and removes the folder; a fake one is left in place
    assert (cg / "cgroup.kill").read_text() == "1"


def test_cgroup_v2_without_delegated_controllers_says_why(tmp_path: Path) -> None:
    fs = tmp_path / "cgroup"
    proc = _fake_v2(fs, own="/user.slice")
    (fs / "user.slice" / "cgroup.controllers").write_text("cpu\n")
    hierarchy = cgroups.detect(fs_root=fs, self_cgroup=proc)
    with pytest.raises(cgroups.CgroupUnavailable, match=r"memory.*pids.*not delegated"):
        hierarchy.create(Limits())


def test_cgroup_v1_on_a_fake_tree(tmp_path: Path) -> None:
    fs = tmp_path / "cgroup"
    for name in ("memory", "pids", "cpu,cpuacct", "devices"):
        (fs / name).mkdir(parents=True)
        (fs / name / "cgroup.procs").write_text("")
    os.symlink("cpu,cpuacct", fs / "cpu")
    (fs / "memory" / "worker").mkdir()
    (fs / "memory" / "worker" / "memory.memsw.limit_in_bytes").write_text("0")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("4:memory:/worker\n3:pids:/\n2:cpu,cpuacct:/\n1:devices:/\n0::/\n")
    hierarchy = cgroups.detect(fs_root=fs, self_cgroup=proc)
    assert hierarchy.version == 1
    job = hierarchy.create(Limits(memory_mb=100, max_processes=5))
    memory, pids, cpu = job.folders
    assert memory.parent == fs / "memory" / "worker" / cgroups.GROUP  # nested in the grader's own cgroup
    assert pids.parent == fs / "pids" / cgroups.GROUP
    assert cpu.parent == fs / "cpu,cpuacct" / cgroups.GROUP
    assert (memory / "memory.limit_in_bytes").read_text() == str(100 << 20)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(100 << 20)
    assert (pids / "pids.max").read_text() == str(5 + cgroups.SANDBOX_OVERHEAD_PIDS)
    assert (cpu / "cpu.cfs_quota_us").read_text() == "100000"
    (memory / "memory.max_usage_in_bytes").write_text(str(64 << 20))
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert job.oom_kills() == 2 and job.peak_mb() == 64.0
    assert len(job.procs_files) == 3


def test_no_cgroup_filesystem_falls_back_to_rlimits(tmp_path: Path) -> None:
    with pytest.raises(cgroups.CgroupUnavailable, match="no cgroup"):
        cgroups.detect(fs_root=tmp_path / "nothing", self_cgroup=tmp_path / "none").create(Limits())


def test_an_extra_time_factor_outside_the_contract_is_refused() -> None:
    from certifia_grading.domain.grader import with_extra_time

    spec = Grader(sandbox=BwrapSandbox()).spec("b2_data_cleaning")
    for bad in (0.5, 3.5, float("nan")):
        with pytest.raises(ValueError):
            with_extra_time(spec, bad)
    doubled = with_extra_time(spec, 2.0)
    assert doubled.limits.wall_seconds == 2 * spec.limits.wall_seconds
    assert doubled.limits.cpu_seconds == 2 * spec.limits.cpu_seconds
    assert doubled.limits.memory_mb == spec.limits.memory_mb


# -- what RLIMIT_NPROC counts ------------------------------------------------------------------------------
def test_the_task_count_behind_the_process_limit_includes_threads() -> None:
    """Measured before (compose): the limit was set from the uid's processes alone, while the kernel counts
    their threads too; a Ray worker's dozens of threads left bubblewrap no room ("Creating new namespace
    failed", reported as a process limit exceeded)."""
    import threading

    from certifia_grading.adapters.sandbox import count_tasks

    release = threading.Event()
    before = count_tasks(os.getuid())
    threads = [threading.Thread(target=release.wait, daemon=True) for _ in range(12)]
    for t in threads:
        t.start()
    try:
        assert count_tasks(os.getuid()) >= before + 12
    finally:
        release.set()
        for t in threads:
            t.join()


def test_the_task_count_reads_each_process_task_folder(tmp_path: Path) -> None:
    from certifia_grading.adapters.sandbox import count_tasks

    uid = os.getuid()
    for pid, tasks in (("10", 3), ("11", 1)):
        for tid in range(tasks):
            (tmp_path / pid / "task" / str(int(pid) * 100 + tid)).mkdir(parents=True)
    (tmp_path / "self").mkdir()  # not a pid: skipped
    assert count_tasks(uid, proc=str(tmp_path)) == 4
    assert count_tasks(uid + 1, proc=str(tmp_path)) == 0


# -- who creates the namespaces: privileged root, or the run's uid ------------------------------------------
def test_a_root_without_cap_sys_admin_drops_to_the_run_uid_before_bubblewrap() -> None:
    common = {"binds": {}, "chdir": "/sandbox", "uid": 200_123, "env": {}}
    inside = BwrapSandbox("/usr/bin/bwrap", setpriv="/usr/bin/setpriv", privileged=True)
    before = BwrapSandbox("/usr/bin/bwrap", setpriv="/usr/bin/setpriv", privileged=False)
    if not inside.as_root:
        pytest.skip("privileged applies to a root grader")
    privileged, unprivileged = inside.build_argv(["run"], **common), before.build_argv(["run"], **common)
    assert privileged[0] == "/usr/bin/bwrap" and "--unshare-user" not in privileged
    assert privileged[privileged.index("--chdir") + 3] == "/usr/bin/setpriv"
    assert unprivileged[: unprivileged.index("/usr/bin/bwrap")][0] == "/usr/bin/setpriv"
    assert "--reuid=200123" in unprivileged and "--no-new-privs" in unprivileged
    assert "--unshare-user" in unprivileged and "--cap-add" not in unprivileged
    assert unprivileged[unprivileged.index("--chdir") + 2 :] == ["--", "run"]


@pytest.mark.parametrize(("cap_eff", "held"), [("000001ffffffffff", True), ("00000000a80425fb", False)])
def test_cap_sys_admin_is_read_from_the_effective_set(tmp_path: Path, cap_eff: str, held: bool) -> None:
    from certifia_grading.adapters.sandbox import has_cap_sys_admin

    status = tmp_path / "status"
    status.write_text(f"Name:\tpython\nCapInh:\t0000000000000000\nCapEff:\t{cap_eff}\n")
    assert has_cap_sys_admin(str(status)) is held
    assert has_cap_sys_admin(str(tmp_path / "missing")) is False
