"""One cgroup per sandboxed run: memory of all its processes together, a process count, one CPU.

Per-process rlimits let three children of one job hold 3.9 GB under a 2 GB ``memory_mb``. A cgroup counts
the job as a whole: ``memory.limit_in_bytes`` (v1) / ``memory.max`` (v2) at ``memory_mb``, swap at zero
beyond it, ``pids.max`` at ``max_processes`` (+ bubblewrap's own two), a CFS quota of one CPU. After the
run the peak and the OOM kills are read back, what is left is killed and the cgroup removed.

Both layouts are supported. cgroup v1 (one mount per controller under ``/sys/fs/cgroup``: ``memory``,
``pids``, ``cpu`` or ``cpu,cpuacct``): a ``certifia-grading/<job>`` folder in each, nested in the grader's
own cgroup of that controller. cgroup v2 (one unified mount with ``cgroup.controllers``): the same folder
under the grader's own cgroup, with the controllers enabled in ``cgroup.subtree_control`` on the way
down; that needs the grader's cgroup to be delegated to it (root, or systemd ``Delegate=yes``) and, below
the root, to hold no process itself (v2's "no internal processes" rule). Where it is not, ``create``
raises :class:`CgroupUnavailable` saying why, and the sandbox falls back to its rlimits.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from certifia_grading.domain.sandbox import Limits

__all__ = [
    "GROUP",
    "SANDBOX_OVERHEAD_PIDS",
    "CgroupUnavailable",
    "Hierarchy",
    "JobCgroup",
    "available",
    "default_hierarchy",
    "detect",
    "job_folders",
]

GROUP = "certifia-grading"
SANDBOX_OVERHEAD_PIDS = 2  # bubblewrap's outer process and its PID 1 in the sandbox
CPU_PERIOD_US = 100_000
CPUS = 1  # the CFS quota, in CPUs; candidate code runs single-threaded (OMP_NUM_THREADS=1, ...)
CONTROLLERS = ("cpu", "memory", "pids")
REQUIRED = ("memory", "pids")


class CgroupUnavailable(RuntimeError):
    """No writable cgroup hierarchy with the memory and pids controllers for this process."""


def _write(path: Path, value: str, *, optional: bool = False) -> None:
    try:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(value)
    except OSError as exc:
        if not optional:
            raise CgroupUnavailable(f"cannot write {path}: {exc.strerror}") from None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, ValueError):
        return None


def _keyed(path: Path, key: str) -> int | None:
    """The number after ``key`` in a flat keyed file (``memory.events``, ``memory.oom_control``)."""
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


@dataclass(frozen=True)
class JobCgroup:
    """The cgroup(s) of one run: v1 one folder per controller (memory first), v2 a single folder."""

    version: int
    folders: tuple[Path, ...]

    @property
    def procs_files(self) -> tuple[str, ...]:
        """Where the sandbox's first process writes "0" (itself) before it execs bubblewrap."""
        return tuple(str(f / "cgroup.procs") for f in self.folders)

    @property
    def memory(self) -> Path:
        return self.folders[0]

    def oom_kills(self) -> int:
        """Processes the kernel's OOM killer ended in this cgroup (0 on kernels before 4.13, whose
        ``memory.oom_control`` has no count: ``memory.failcnt`` also counts limits met by reclaim)."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return _keyed(self.memory / name, "oom_kill") or 0

    def forks_refused(self) -> int:
        """How many times the pids limit refused a fork or a thread (``pids.events`` ``max``: in v2, and in
        v1 since Linux 4.x): tells a fork bomb from a slow job even when the wall clock ends it."""
        folder = self.folders[0] if self.version == 2 else self.folders[1]
        return _keyed(folder / "pids.events", "max") or 0

    def peak_mb(self) -> float | None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        raw = (_read(self.memory / name) or "").strip()
        return round(int(raw) / (1 << 20), 1) if raw.isdigit() else None

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            found |= {int(p) for p in (_read(Path(procs)) or "").split() if p.isdigit()}
        return found

    def kill(self) -> None:
        """SIGKILL every process left in the cgroup (a daemonised child that outlived the command)."""
        if self.version == 2:
            _write(self.memory / "cgroup.kill", "1", optional=True)
        for _ in range(50):
            left = self.pids()
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def close(self) -> None:
        """Kill what is left, then remove the folders (a dying process keeps one busy for a moment)."""
        self.kill()
        for folder in self.folders:
            for _ in range(200):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY:  # a fake tree in a test: its files are plain files
                        break
                    self.kill()
                    time.sleep(0.01)


def _own_cgroups(self_cgroup: Path) -> dict[str, str]:
    """{controller: path} from /proc/self/cgroup (v2's line is under the key "")."""
    own: dict[str, str] = {}
    for line in (_read(self_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                own[name.removeprefix("name=")] = parts[2]
    return own


def _under(mount: Path, own: str | None) -> Path:
    """The grader's own cgroup in ``mount``, or the mount's root where that path is not visible."""
    nested = mount / own.strip("/") if own and own.strip("/") else mount
    return nested if nested.is_dir() else mount


class Hierarchy:
    """What :func:`detect` found: a version (1, 2 or None) and where each controller's job folders go."""

    def __init__(self, version: int | None, bases: dict[str, Path], reason: str = "") -> None:
        self.version = version
        self.bases = bases  # v1: controller -> folder holding GROUP; v2: {"": folder}
        self.reason = reason

    def describe(self) -> str:
        return f"cgroup v{self.version}" if self.version else "no cgroup"

    def group_folders(self) -> list[Path]:
        return sorted({base / GROUP for base in self.bases.values()})

    def create(self, limits: Limits, name: str | None = None) -> JobCgroup:
        if self.version is None:
            raise CgroupUnavailable(self.reason)
        name = name or f"{os.getpid()}-{secrets.token_hex(6)}"
        if self.version == 2:
            return self._create_v2(limits, name)
        return self._create_v1(limits, name)

    def _create_v1(self, limits: Limits, name: str) -> JobCgroup:
        order = [c for c in ("memory", "pids", "cpu") if c in self.bases]
        folders = tuple(self.bases[c] / GROUP / name for c in order)
        try:
            for folder in folders:
                _mkdir(folder.parent)
                _mkdir(folder)
            memory, pids = folders[0], folders[1]
            limit = str(limits.memory_mb << 20)
            _write(memory / "memory.limit_in_bytes", limit)
            memsw = "memory.memsw.limit_in_bytes"
            if (memory / memsw).exists() or (self.bases["memory"] / memsw).exists():  # swap accounted
                _write(memory / memsw, limit)
            _write(memory / "memory.swappiness", "0", optional=True)
            _write(pids / "pids.max", str(limits.max_processes + SANDBOX_OVERHEAD_PIDS))
            if "cpu" in self.bases:
                _write(folders[2] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
                _write(folders[2] / "cpu.cfs_quota_us", str(CPU_PERIOD_US * CPUS))
        except CgroupUnavailable:
            JobCgroup(1, folders).close()
            raise
        return JobCgroup(1, folders)

    def _create_v2(self, limits: Limits, name: str) -> JobCgroup:
        base = self.bases[""]
        offered = set((_read(base / "cgroup.controllers") or "").split())
        missing = [c for c in REQUIRED if c not in offered]
        if missing:
            raise CgroupUnavailable(
                f"cgroup v2: the controllers {' and '.join(missing)} are not delegated to {base} "
                "(enable them in the parent's cgroup.subtree_control, e.g. systemd Delegate=yes)"
            )
        wanted = [c for c in CONTROLLERS if c in offered]
        enable = " ".join(f"+{c}" for c in wanted)
        enabled = set((_read(base / "cgroup.subtree_control") or "").split())
        if not set(wanted) <= enabled:
            try:
                with open(base / "cgroup.subtree_control", "w", encoding="ascii") as fh:
                    fh.write(enable)
            except OSError as exc:
                raise CgroupUnavailable(
                    f"cgroup v2: cannot enable {enable} for the children of {base}: {exc.strerror} "
                    "(below the root a cgroup that holds processes cannot; run the grader in a "
                    "delegated cgroup whose own processes live in a leaf)"
                ) from None
        group, folder = base / GROUP, base / GROUP / name
        try:
            _mkdir(group)
            _write(group / "cgroup.subtree_control", enable)
            _mkdir(folder)
            _write(folder / "memory.max", str(limits.memory_mb << 20))
            _write(folder / "memory.swap.max", "0", optional=True)  # absent without swap accounting
            _write(folder / "memory.oom.group", "1", optional=True)  # one OOM kill ends the whole job
            _write(folder / "pids.max", str(limits.max_processes + SANDBOX_OVERHEAD_PIDS))
            if "cpu" in wanted:
                _write(folder / "cpu.max", f"{CPU_PERIOD_US * CPUS} {CPU_PERIOD_US}")
        except CgroupUnavailable:
            JobCgroup(2, (folder,)).close()
            raise
        return JobCgroup(2, (folder,))


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o755, exist_ok=True)
    except OSError as exc:
        raise CgroupUnavailable(f"cannot create the cgroup {folder}: {exc.strerror}") from None


def _v1_mounts(fs_root: Path) -> dict[str, Path]:
    """{controller: mount} for the v1 hierarchies under ``fs_root`` ("cpu,cpuacct" serves cpu)."""
    mounts: dict[str, Path] = {}
    try:
        entries = sorted(fs_root.iterdir())
    except OSError:
        return mounts
    for entry in entries:
        if entry.is_dir() and (entry / "cgroup.procs").exists():
            for controller in entry.name.split(","):
                mounts.setdefault(controller, entry.resolve() if entry.is_symlink() else entry)
    return mounts


def detect(
    fs_root: Path | str = "/sys/fs/cgroup", self_cgroup: Path | str = "/proc/self/cgroup"
) -> Hierarchy:
    """Which cgroup layout this process sees, and where its job cgroups would go (never raises)."""
    fs_root, self_cgroup = Path(fs_root), Path(self_cgroup)
    own = _own_cgroups(self_cgroup)
    if (fs_root / "cgroup.controllers").is_file():
        return Hierarchy(2, {"": _under(fs_root, own.get(""))})
    mounts = _v1_mounts(fs_root)
    missing = [c for c in REQUIRED if c not in mounts]
    if missing:
        return Hierarchy(
            None, {}, f"no cgroup hierarchy with the {' and '.join(missing)} controller(s) under {fs_root}"
        )
    bases: dict[str, Path] = {
        c: _under(mounts[c], own.get(c)) for c in ("memory", "pids", "cpu") if c in mounts
    }
    return Hierarchy(1, bases)


@functools.lru_cache(maxsize=1)
def default_hierarchy() -> Hierarchy:
    return detect()


@functools.lru_cache(maxsize=1)
def available() -> str | None:
    """None when this process can create job cgroups, else why not (tried once with a throwaway one)."""
    from certifia_grading.domain.sandbox import Limits

    try:
        default_hierarchy().create(Limits()).close()
    except CgroupUnavailable as exc:
        return str(exc)
    return None


def job_folders() -> list[Path]:
    """This process's job cgroups that still exist (none once every run has ended)."""
    prefix = f"{os.getpid()}-"
    found: list[Path] = []
    for group in default_hierarchy().group_folders():
        with contextlib.suppress(OSError):
            found += [p for p in group.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    return found
