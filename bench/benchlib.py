"""Helpers shared by the benchmark sections: timing, summaries, ratios, CPU accounting (Linux /proc), the
results file, the summary table."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PERCENTILE_METHOD = "numpy.percentile, linear interpolation between the two nearest samples"
CLK_TCK = os.sysconf("SC_CLK_TCK")  # the unit of /proc CPU times
SAMPLE_S = 0.05


def progress(message: str) -> None:
    print(f"[bench-grading] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in values.items()}


def summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50, p95, mean, min and max of durations in seconds (rounded to the millisecond)."""
    if not seconds:
        raise ValueError("no durations to summarise")
    values = np.asarray(seconds, dtype=float)
    return {
        "n": len(values),
        "p50_s": round(float(np.percentile(values, 50)), 3),
        "p95_s": round(float(np.percentile(values, 95)), 3),
        "mean_s": round(float(values.mean()), 3),
        "min_s": round(float(values.min()), 3),
        "max_s": round(float(values.max()), 3),
    }


def per_minute(count: int, wall_seconds: float) -> float:
    return round(60.0 * count / wall_seconds, 1)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator to two decimals; None when the denominator is not positive."""
    return round(numerator / denominator, 2) if denominator > 0 else None


def machine() -> str:
    """Architecture, CPUs (and model), memory, OS and Python: enough to tell two runs' machines apart."""
    cpu, meminfo = "", {}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
        meminfo = dict(ln.split(":", 1) for ln in Path("/proc/meminfo").read_text().splitlines() if ":" in ln)
    except OSError:  # not Linux: the rest of the description still stands
        pass
    mem_kb = meminfo.get("MemTotal", "0 kB").split()[0]
    memory = f", {int(mem_kb) / 2**20:.1f} GiB RAM" if mem_kb.isdigit() and int(mem_kb) else ""
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs{f' ({cpu})' if cpu else ''}{memory}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def merge_section(
    results: dict[str, Any], name: str, data: dict[str, Any], *, machine: str, measured_at: str
) -> dict[str, Any]:
    """The results with section ``name`` replaced by ``data`` (other sections kept as they were)."""
    return {**results, name: {**data, "machine": machine, "measured_at": measured_at}}


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process of the machine since boot, all CPUs (idle and iowait excluded)."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (sum(int(v) for v in first) - int(first[3]) - int(first[4])) / CLK_TCK


def tree_cpu_seconds(root: int) -> dict[tuple[str, str], float]:
    """{(pid, start time): own utime + stime in seconds} for ``root`` and its live descendants."""
    children: dict[str, list[str]] = {}
    seconds: dict[str, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # exited meanwhile
                continue
            children.setdefault(fields[1], []).append(entry.name)
            seconds[entry.name] = (fields[19], (int(fields[11]) + int(fields[12])) / CLK_TCK)
    found, todo = {}, [str(root)]
    while todo:
        pid = todo.pop()
        if pid in seconds:
            found[(pid, seconds[pid][0])] = seconds[pid][1]
        todo += children.get(pid, [])
    return found


CPUACCT_ROOT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1's CPU accounting controller
_accounting: Path | None = None  # cpuacct.usage of the cgroup holding this process tree, once entered


def enter_accounting_cgroup(root: Path = CPUACCT_ROOT) -> Path | None:
    """Move this process into a fresh cgroup v1 ``cpuacct`` group of its own, so that everything it starts
    from now on (Ray's daemons and workers, every sandbox, every scorer) is counted there, exactly and
    for free: the kernel charges each CPU nanosecond to the group and its ancestors as it is spent, short-
    lived processes included. Call it before starting anything. None (and nothing changed) where there is
    no writable v1 ``cpuacct`` (not root, or cgroup v2): :class:`CpuMeter` then samples ``/proc``.

    Only the accounting controller is touched: the grader's own memory/pids/cpu groups, under which it
    nests each job's cgroup, stay where they are (with ``cpu,cpuacct`` mounted together, the jobs nest
    under this group instead, which v1 allows)."""
    global _accounting
    if _accounting is not None:
        return _accounting
    try:
        own = Path(f"/proc/{os.getpid()}/cgroup").read_text()
        parent = next(
            line.split(":", 2)[2].strip()
            for line in own.splitlines()
            if "cpuacct" in line.split(":", 2)[1].split(",")
        )
        group = root / parent.lstrip("/") / f"certifia-bench-{os.getpid()}"
        group.mkdir(exist_ok=True)
        (group / "cgroup.procs").write_text(str(os.getpid()))
        usage = group / "cpuacct.usage"
        int(usage.read_text())
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    _accounting = usage
    atexit.register(_leave_accounting_cgroup, group)
    return usage


def _leave_accounting_cgroup(group: Path) -> None:
    with contextlib.suppress(OSError):  # a process still in it (a Ray daemon exiting) keeps the folder
        (group.parent / "cgroup.procs").write_text(str(os.getpid()))
        group.rmdir()


class CpuMeter(threading.Thread):
    """CPU used by this process tree over a phase, and by the rest of the machine meanwhile.

    Read from this process's accounting cgroup when :func:`enter_accounting_cgroup` made one (two reads,
    exact). Otherwise sampled from ``/proc`` every 50 ms, because Ray's raylet lets the kernel reap its
    workers (their time never reaches a parent's cutime); each process then counts as last seen, so the
    last < 50 ms of a short-lived one is missed, and the sampling itself costs ~7% of a CPU (measured: on
    2 CPUs with 2 jobs in flight it took 10% off Ray's rate).
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.cgroup_usage = _accounting
        self.base = {} if self.cgroup_usage else tree_cpu_seconds(os.getpid())
        self.seen = dict(self.base)
        self.usage0 = self._cgroup_seconds()
        self.started, self.busy0 = time.perf_counter(), machine_busy_seconds()

    def _cgroup_seconds(self) -> float:
        return int(self.cgroup_usage.read_text()) / 1e9 if self.cgroup_usage else 0.0

    def start(self) -> None:
        if self.cgroup_usage is None:
            super().start()

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.seen.update(tree_cpu_seconds(os.getpid()))

    def usage(self) -> dict[str, float]:
        wall, busy = time.perf_counter() - self.started, machine_busy_seconds() - self.busy0
        if self.cgroup_usage is not None:
            own = self._cgroup_seconds() - self.usage0
        else:
            self.stop.set()
            self.join()
            self.seen.update(tree_cpu_seconds(os.getpid()))
            own = sum(s - self.base.get(key, 0.0) for key, s in self.seen.items())
        return cpu_usage(own, busy, wall, os.cpu_count() or 1)


def accounting_method() -> str:
    """How :class:`CpuMeter` counts this run's CPU, for the results' configuration."""
    if _accounting is not None:
        return "read from this run's own cgroup v1 cpuacct group (exact, no sampling)"
    return "sampled from /proc every 50 ms (no writable cgroup v1 cpuacct here; the last < 50 ms of a short-lived process is missed)"


def cpu_usage(own_s: float, machine_busy_s: float, wall_s: float, cpus: int) -> dict[str, float]:
    """Our CPU seconds over a phase, and the share of the machine's CPUs other processes took meanwhile."""
    others = max(0.0, machine_busy_s - own_s)
    return {"own_cpu_s": round(own_s, 2), "other_processes_cpu_share": round(others / (wall_s * cpus), 2)}


def metered(fn: Callable[[], Any]) -> tuple[Any, float, dict[str, float]]:
    """``fn()``, its wall time and the CPU it and the rest of the machine used (see :class:`CpuMeter`)."""
    meter = CpuMeter()
    meter.start()
    try:
        out, took = timed(fn)
    finally:
        usage = meter.usage()
    return out, took, usage


def problems(data: Any, path: str = "") -> list[str]:
    """Where a section reports failed gradings or disagreeing verdicts/labels: its figures cannot stand."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if (key == "failed_gradings" and value) or (
                key in ("verdicts_identical", "labels_identical") and value is not True
            ):
                found.append(f"{where} = {value}")
            else:
                found += problems(value, where)
    return found


def table(rows: Iterable[tuple[str, str, str]]) -> str:
    """Rows (section, measurement, value) as aligned text columns."""
    rows = [("section", "measurement", "value"), *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}" for r in rows)


def read_results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}
