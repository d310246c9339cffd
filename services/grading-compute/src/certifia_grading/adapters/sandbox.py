"""Run untrusted candidate code under bubblewrap with rlimits, a wall-clock timeout and capped output.

The sandbox (Debian's ``bwrap``) gets: new PID, network, IPC and UTS namespaces (no network at all,
not even loopback to the host), a read-only ``/usr`` and Python installation, a private ``/tmp``,
``/proc`` and ``/dev``, and exactly the host folders the caller lists (read-only inputs and code, one
writable output folder). Nothing else of the host file system exists inside.

Limits, applied before ``exec`` and inherited by everything the candidate starts:
``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_AS`` (address space), ``RLIMIT_NPROC`` (processes and threads),
``RLIMIT_FSIZE`` (largest file written), ``RLIMIT_NOFILE`` (open files); a wall-clock timeout that kills
the sandbox (and with it its whole PID namespace); stdout/stderr read up to a cap, the run killed when
it writes more.

``RLIMIT_NPROC`` counts every process of a *real* uid and is ignored for root, so when the grader runs
as root the sandboxed command is started under a dedicated unprivileged uid (``setpriv``); otherwise
the limit is set to the user's current process count plus the allowance.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BwrapSandbox",
    "Limits",
    "SandboxResult",
    "SandboxUnavailable",
    "UnsandboxedRunner",
    "find_bwrap",
]

SANDBOX_ROOT = "/sandbox"  # where the job's folders appear inside the sandbox
_UID_RANGE = (200_000, 260_000)  # dedicated uids for sandboxed runs when the grader is root
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or, as root, setpriv) is missing or cannot create its namespaces here."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 30
    memory_mb: int = 1536
    wall_seconds: float = 60.0
    max_processes: int = 32
    max_output_mb: int = 16
    max_open_files: int = 256
    max_log_kb: int = 64  # stdout + stderr kept (each); writing more than 16x this kills the run
    # GPUs the job asks Ray for; where the run has NVIDIA devices, the sandbox exposes them (see gpu_devices)
    gpus: float = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Limits:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        limits = cls(**data)  # type: ignore[arg-type]
        if limits.gpus < 0:
            raise ValueError(f"limits.gpus must be >= 0, got {limits.gpus}")
        return limits


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    duration_s: float
    stdout: str
    stderr: str
    timed_out: bool = False
    output_flooded: bool = False  # killed because stdout/stderr exceeded the cap
    signal: int | None = None  # signal that ended the command, when known
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.output_flooded


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def _count_processes(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def gpu_devices(limits: Limits, dev: str = "/dev") -> list[str]:
    """The NVIDIA device nodes a run exposes: none unless its pack asks for GPUs and the machine has them.

    Which GPU a job may use is CUDA_VISIBLE_DEVICES (set by Ray for the GPUs it granted, passed into the
    sandbox); the nodes of all GPUs are bound because CUDA's numbering need not follow the nodes' minors.
    """
    if limits.gpus <= 0 or not os.path.exists(f"{dev}/nvidiactl"):
        return []
    names = sorted(os.listdir(dev))
    return [f"{dev}/{n}" for n in names if re.fullmatch(r"nvidia(ctl|-uvm|-uvm-tools|\d+)", n)]


def _limits_preexec(limits: Limits, nproc: int) -> None:
    """Runs in the child between fork and exec: new session, then the rlimits."""
    os.setsid()
    os.umask(0o022)
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    # CUDA reserves tens of GiB of address space it never touches: a GPU run is bounded by its data
    # segment (heap and private writable mappings) instead of its whole address space
    memory_limit = resource.RLIMIT_DATA if limits.gpus > 0 else resource.RLIMIT_AS
    resource.setrlimit(memory_limit, (mem, mem))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    fsize = limits.max_output_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class _CappedReader(threading.Thread):
    """Reads a pipe to the end, keeping the first ``keep`` bytes; calls ``on_flood`` past ``flood``."""

    def __init__(self, stream: object, keep: int, flood: int, on_flood: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.keep, self.flood = keep, flood
        self.on_flood = on_flood
        self.data = bytearray()
        self.total = 0

    def run(self) -> None:
        read = self.stream.read  # type: ignore[attr-defined]
        while True:
            chunk = read(65536)
            if not chunk:
                return
            self.total += len(chunk)
            if len(self.data) < self.keep:
                self.data += chunk[: self.keep - len(self.data)]
            if self.total > self.flood:
                self.on_flood()  # type: ignore[operator]
                self.flood = sys.maxsize

    def text(self) -> str:
        suffix = f"\n[... {self.total - len(self.data)} more bytes dropped]" if self.total > self.keep else ""
        return self.data.decode("utf-8", "replace") + suffix


def _run_capped(
    argv: Sequence[str], *, limits: Limits, env: Mapping[str, str], nproc: int, cwd: str | None = None
) -> SandboxResult:
    started = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        close_fds=True,
        preexec_fn=lambda: _limits_preexec(limits, nproc),
    )
    flooded = threading.Event()

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def on_flood() -> None:
        flooded.set()
        kill()

    keep = limits.max_log_kb * 1024
    readers = [_CappedReader(s, keep, keep * 16, on_flood) for s in (proc.stdout, proc.stderr)]
    for r in readers:
        r.start()
    timed_out = False
    try:
        proc.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    kill()  # whatever is left in the process group (always: a stray daemonised child must not survive)
    proc.wait()
    for r in readers:
        r.join(timeout=5)
    rc = proc.returncode
    sig = -rc if rc is not None and rc < 0 else (rc - 128 if rc is not None and 128 < rc < 160 else None)
    return SandboxResult(
        returncode=rc,
        duration_s=time.monotonic() - started,
        stdout=readers[0].text(),
        stderr=readers[1].text(),
        timed_out=timed_out,
        output_flooded=flooded.is_set(),
        signal=sig,
    )


def _python_roots() -> list[str]:
    """Host folders the sandbox needs to run this interpreter with its installed packages."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    return sorted(r for r in roots if not r.startswith("/usr"))


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


class BwrapSandbox:
    """Runs ``argv`` inside bubblewrap. ``binds`` maps sandbox path -> (host path, writable)."""

    def __init__(self, bwrap: str | None = None, *, setpriv: str | None = None) -> None:
        self.bwrap = bwrap or find_bwrap()
        self.setpriv = setpriv or shutil.which("setpriv")
        self.as_root = os.geteuid() == 0

    def check(self) -> None:
        if not self.bwrap:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed: candidate code is never run unsandboxed "
                "(install the Debian package 'bubblewrap')"
            )
        if self.as_root and not self.setpriv:
            raise SandboxUnavailable("running as root needs setpriv (util-linux) to drop to a sandbox uid")

    def sandbox_uid(self) -> int | None:
        """The uid a fresh run will use (root only); the caller chowns the writable folder to it."""
        return random.SystemRandom().randrange(*_UID_RANGE) if self.as_root else None

    def build_argv(
        self,
        argv: Sequence[str],
        *,
        binds: Mapping[str, tuple[str, bool]],
        chdir: str,
        uid: int | None,
        env: Mapping[str, str],
        tmp_mb: int = 64,
        devices: Sequence[str] = (),
    ) -> list[str]:
        assert self.bwrap
        cmd = [self.bwrap, "--die-with-parent", "--new-session", "--clearenv"]
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        if uid is None:
            cmd += ["--unshare-user"]
        else:
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for link in ("lib", "lib64", "bin", "sbin"):
            if os.path.islink(f"/{link}"):
                cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
            elif os.path.isdir(f"/{link}"):
                cmd += ["--ro-bind", f"/{link}", f"/{link}"]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        for node in devices:
            cmd += ["--dev-bind", node, node]
        cmd += ["--dir", SANDBOX_ROOT]
        mounts = [(root, root, False) for root in _python_roots()]
        mounts += [(dest, src, rw) for dest, (src, rw) in sorted(binds.items())]
        made: set[str] = {"/", "/usr", "/tmp", "/proc", "/dev", SANDBOX_ROOT}
        for dest, src, rw in mounts:
            for parent in _ancestors(dest):
                if parent not in made:
                    cmd += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            cmd += ["--bind" if rw else "--ro-bind", src, dest]
            made.add(dest)
        for key, value in sorted(env.items()):
            cmd += ["--setenv", key, value]
        cmd += ["--chdir", chdir, "--"]
        if uid is not None:
            assert self.setpriv
            cmd += [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            cmd += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return cmd + list(argv)

    def run(
        self,
        argv: Sequence[str],
        *,
        binds: Mapping[str, tuple[str, bool]],
        limits: Limits,
        chdir: str = SANDBOX_ROOT,
        uid: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SandboxResult:
        self.check()
        if self.as_root and uid is None:
            uid = self.sandbox_uid()
        full_env = {"PATH": _DEFAULT_PATH, "HOME": "/tmp", "LANG": "C.UTF-8", **(env or {})}
        devices = gpu_devices(limits)
        if devices and "CUDA_VISIBLE_DEVICES" in os.environ:  # the GPUs Ray granted this job, no others
            full_env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        cmd = self.build_argv(
            argv,
            binds=binds,
            chdir=chdir,
            uid=uid,
            env=full_env,
            tmp_mb=limits.max_output_mb,
            devices=devices,
        )
        nproc = limits.max_processes + 2  # + bwrap's two processes
        if uid is None:
            nproc += _count_processes(os.getuid())
        return _run_capped(cmd, limits=limits, env={"PATH": _DEFAULT_PATH}, nproc=nproc)


class UnsandboxedRunner:
    """Same contract without isolation (rlimits only). For the benchmark's comparison, never for grading."""

    as_root = False

    def check(self) -> None:
        return None

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
    ) -> SandboxResult:
        # paths under SANDBOX_ROOT are translated to their host folders
        def host(path: str) -> str:
            for dest, (src, _rw) in sorted(binds.items(), key=lambda kv: -len(kv[0])):
                if path == dest or path.startswith(dest + "/"):
                    return src + path[len(dest) :]
            return path

        full_env = {"PATH": _DEFAULT_PATH, "HOME": "/tmp", "LANG": "C.UTF-8", **(env or {})}
        full_env = {k: host(v) if v.startswith(SANDBOX_ROOT) else v for k, v in full_env.items()}
        nproc = limits.max_processes + _count_processes(os.getuid()) + 2
        return _run_capped([host(a) for a in argv], limits=limits, env=full_env, nproc=nproc, cwd=host(chdir))
