"""The grading benchmark's helpers (bench/benchlib.py, bench/grading_packs.py): summaries, merge, checks."""

from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[4] / "bench"


@pytest.fixture()
def benchlib(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench scripts import each other as top-level modules
    import benchlib

    return benchlib


def test_summary_percentiles_interpolate_between_samples(benchlib: ModuleType) -> None:
    stats = benchlib.summary([float(s) for s in range(1, 21)])  # 1 .. 20 s
    assert stats == {"n": 20, "p50_s": 10.5, "p95_s": 19.05, "mean_s": 10.5, "min_s": 1.0, "max_s": 20.0}
    with pytest.raises(ValueError):
        benchlib.summary([])


def test_ratio_and_rate(benchlib: ModuleType) -> None:
    assert benchlib.ratio(0.723, 0.695) == 1.04
    assert benchlib.ratio(1.0, 0.0) is None
    assert benchlib.per_minute(16, 32.0) == 30.0


def test_cpu_usage_gives_the_rest_of_the_machine_its_share(benchlib: ModuleType) -> None:
    assert benchlib.cpu_usage(3.0, 5.0, 2.0, 2) == {"own_cpu_s": 3.0, "other_processes_cpu_share": 0.5}
    # sampling can see slightly more than /proc/stat's coarser total: never a negative share
    assert benchlib.cpu_usage(3.1, 3.0, 2.0, 2)["other_processes_cpu_share"] == 0.0


def test_merge_section_replaces_only_its_own_key(benchlib: ModuleType) -> None:
    before = {"triton": {"rows": 2000}, "throughput": {"old": True}}
    after = benchlib.merge_section(before, "throughput", {"new": 1}, machine="m", measured_at="t")
    assert after == {"triton": {"rows": 2000}, "throughput": {"new": 1, "machine": "m", "measured_at": "t"}}
    assert before["throughput"] == {"old": True}


def test_problems_finds_failed_gradings_and_disagreeing_verdicts(benchlib: ModuleType) -> None:
    good = {"packs": {"a": {"failed_gradings": 0, "verdicts_identical": True}}, "labels_identical": True}
    assert benchlib.problems(good) == []
    bad = {"packs": {"a": {"failed_gradings": 2, "verdicts_identical": False}}, "labels_identical": None}
    assert benchlib.problems(bad) == [
        "packs.a.failed_gradings = 2",
        "packs.a.verdicts_identical = False",
        "labels_identical = None",
    ]


def test_table_aligns_columns(benchlib: ModuleType) -> None:
    lines = benchlib.table([("triton", "ratio", "x2.5"), ("sandbox_cost", "p50", "0.7 s")]).splitlines()
    assert len({line.index(line.split()[1]) for line in lines}) == 1


def test_distinct_archives_differ_only_by_the_notes(benchlib: ModuleType) -> None:
    import grading_packs

    members = {"solution.py": b"def reduce(x):\n    return x\n"}
    first, second = (grading_packs.distinct_archive(members, i) for i in (0, 1))
    assert hashlib.sha256(first).digest() != hashlib.sha256(second).digest()
    with zipfile.ZipFile(io.BytesIO(second)) as zf:
        assert zf.read("solution.py") == members["solution.py"]
        assert zf.read("NOTES.txt") == b"benchmark submission 1\n"


def _own_cpuacct_parent() -> str:
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    return next((ln.split(":", 2)[2] for ln in lines if "cpuacct" in ln.split(":", 2)[1].split(",")), "")


def test_the_cpu_meter_reads_the_runs_own_cpuacct_group_without_sampling(
    benchlib: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = _own_cpuacct_parent()
    if not parent:
        pytest.skip("this host has no cgroup v1 cpuacct line in /proc/self/cgroup (cgroup v2)")
    monkeypatch.setattr(benchlib, "_accounting", None)
    group = tmp_path / parent.lstrip("/") / f"certifia-bench-{os.getpid()}"
    group.mkdir(parents=True)
    (group / "cpuacct.usage").write_text("1000000000")  # what the kernel keeps there, in nanoseconds
    usage = benchlib.enter_accounting_cgroup(root=tmp_path)
    assert usage == group / "cpuacct.usage"
    assert (group / "cgroup.procs").read_text() == str(os.getpid())  # this process moved in
    meter = benchlib.CpuMeter()
    meter.start()
    assert not meter.is_alive()  # nothing samples /proc while a phase runs (it cost 10% of Ray's rate)
    usage.write_text("3500000000")
    assert meter.usage()["own_cpu_s"] == 2.5
    assert "cpuacct" in benchlib.accounting_method()


def test_without_a_cpuacct_group_the_cpu_meter_samples_proc(
    benchlib: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchlib, "_accounting", None)
    assert benchlib.enter_accounting_cgroup(root=tmp_path / "absent") is None
    meter = benchlib.CpuMeter()
    meter.start()
    assert meter.is_alive()
    started = time.process_time()
    while time.process_time() - started < 0.2:  # CPU this process spends, which the samples must see
        pass
    assert meter.usage()["own_cpu_s"] >= 0.1
    assert "sampled" in benchlib.accounting_method()
