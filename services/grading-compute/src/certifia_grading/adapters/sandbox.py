"""Run untrusted candidate code under bubblewrap with per-job limits, a wall-clock timeout and capped output.

The sandbox (Debian's ``bwrap``) gets: new PID, network, IPC and UTS namespaces (no network at all,
not even loopback to the host), a read-only ``/usr`` and Python installation, a private ``/tmp``,
``/proc`` and ``/dev``, exactly the host folders the caller lists (read-only inputs and code, and
writable folders where a caller still asks for one), and ``scratch`` folders: size-bounded tmpfs
(``max_output_mb`` each, like ``/tmp``) that vanish with the sandbox, so a write past the bound fails
with ENOSPC inside. What a run hands back from a scratch folder comes through ``channel``: a pipe whose
write end the command inherits (its number in ``$CERTIFIA_RESULT_FD``) and of which the host reads at
most ``max_output_mb`` (more kills the run). Nothing else of the host file system exists inside.

Per job (:mod:`certifia_grading.adapters.cgroups`): one cgroup holding every process of the run
(joined by the first process before it execs bubblewrap), bounding memory of all of them together,
their number, and CPU to one core; its peak and OOM kills are read back, and it is emptied and removed
after the run. Where cgroups cannot be written (no root, no delegation), a log line says so once and the
rlimits below are the bound (``SandboxResult.notes`` says which). A seccomp filter
(:mod:`certifia_grading.adapters.seccomp`) denies namespace creation, io_uring, bpf, perf_event_open,
keyctl, ptrace, mount and the like; without libseccomp the sandbox refuses to run.

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
import logging
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from certifia_grading.adapters import cgroups, seccomp
from certifia_grading.domain.sandbox import SANDBOX_ROOT, Limits, Sandbox, SandboxResult, SandboxUnavailable

__all__ = [
    "SANDBOX_ROOT",
    "BwrapSandbox",
    "Limits",
    "SandboxResult",
    "SandboxUnavailable",
    "UnsandboxedRunner",
    "find_bwrap",
    "make_sandbox",
]

_UID_RANGE = (200_000, 260_000)  # dedicated uids for sandboxed runs when the grader is root
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
RESULT_FD_ENV = "CERTIFIA_RESULT_FD"  # the channel's inherited write end, as the command sees it
log = logging.getLogger(__name__)
_warned_once = threading.Lock()


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def count_tasks(uid: int, proc: str = "/proc") -> int:
    """The tasks (processes and their threads) of ``uid`` visible here: what ``RLIMIT_NPROC`` counts.

    Threads count: a Ray worker or a uvicorn process holds dozens, and a limit set from processes alone left
    a sandboxed run no room to start bubblewrap (measured in compose: "Creating new namespace failed"). Tasks
    of the same uid in other containers are invisible here and counted by the kernel all the same: give the
    grader a uid of its own (README, "Operations with docker compose")."""
    count = 0
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            count += sum(1 for t in os.scandir(f"{entry.path}/task") if t.name.isdigit())
        except OSError:  # exited meanwhile
            continue
    return count


CAP_SYS_ADMIN = 21


def has_cap_sys_admin(status: str = "/proc/self/status") -> bool:
    """Whether this process holds CAP_SYS_ADMIN (its effective capabilities, /proc/self/status)."""
    try:
        for line in Path(status).read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_SYS_ADMIN & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def gpu_devices(limits: Limits, dev: str = "/dev") -> list[str]:
    """The NVIDIA device nodes a run exposes: none unless its pack asks for GPUs and the machine has them.

    Which GPU a job may use is CUDA_VISIBLE_DEVICES (set by Ray for the GPUs it granted, passed into the
    sandbox); the nodes of all GPUs are bound because CUDA's numbering need not follow the nodes' minors.
    """
    if limits.gpus <= 0 or not os.path.exists(f"{dev}/nvidiactl"):
        return []
    names = sorted(os.listdir(dev))
    return [f"{dev}/{n}" for n in names if re.fullmatch(r"nvidia(ctl|-uvm|-uvm-tools|\d+)", n)]


def _limits_preexec(limits: Limits, nproc: int, procs_files: Sequence[str] = ()) -> None:
    """Runs in the child between fork and exec: new session, join the job's cgroup(s), the rlimits.

    Joining here, before bubblewrap is exec'd, leaves no moment when a process of the job runs outside
    its cgroup ("0" is the writing process itself, in v1 and v2 alike)."""
    os.setsid()
    os.umask(0o022)
    for procs in procs_files:
        fd = os.open(procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
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


@dataclass
class _Job:
    """What one run holds besides its process: its cgroup, its channel, fds to pass, notes to report."""

    cgroup: cgroups.JobCgroup | None = None
    channel_read: int | None = None
    pass_fds: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()

    def close_fds(self) -> None:
        for fd in (*self.pass_fds, *((self.channel_read,) if self.channel_read is not None else ())):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pass_fds, self.channel_read = (), None


def _wait(
    proc: subprocess.Popen[bytes], limits: Limits, cgroup: cgroups.JobCgroup | None
) -> tuple[bool, bool]:
    """Wait for the command within the wall clock; (timed out, OOM kill seen) -- an OOM kill ends the job."""
    deadline = time.monotonic() + limits.wall_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return True, False
        try:
            proc.wait(timeout=min(left, 0.05) if cgroup else left)
            return False, False
        except subprocess.TimeoutExpired:
            if cgroup is not None and cgroup.oom_kills():
                return False, True


def _run_capped(
    argv: Sequence[str],
    *,
    limits: Limits,
    env: Mapping[str, str],
    nproc: int,
    cwd: str | None = None,
    job: _Job | None = None,
) -> SandboxResult:
    job = job or _Job()
    started = time.monotonic()
    cgroup = job.cgroup
    procs_files = cgroup.procs_files if cgroup else ()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            close_fds=True,
            pass_fds=job.pass_fds,
            preexec_fn=lambda: _limits_preexec(limits, nproc, procs_files),
        )
    except (subprocess.SubprocessError, OSError):  # the preexec could not join the cgroup, or no exec
        log.exception("the sandbox could not be started (%s)", argv[0])
        job.close_fds()
        if cgroup:
            cgroup.close()
        raise SandboxUnavailable(
            "the sandbox could not be started under its limits (see the service log)"
        ) from None
    for fd in job.pass_fds:  # the command holds them now (the channel's write end: EOF once it is gone)
        os.close(fd)
    job.pass_fds = ()
    flooded, overflow = threading.Event(), threading.Event()

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if cgroup:
            cgroup.kill()

    def on_flood() -> None:
        flooded.set()
        kill()

    def on_overflow() -> None:
        overflow.set()
        kill()

    keep = limits.max_log_kb * 1024
    readers = [_CappedReader(s, keep, keep * 16, on_flood) for s in (proc.stdout, proc.stderr)]
    channel = None
    if job.channel_read is not None:
        cap = limits.max_output_mb * 1024 * 1024
        channel = _CappedReader(os.fdopen(job.channel_read, "rb", buffering=0), cap, cap, on_overflow)
        job.channel_read = None  # the reader's file owns it now
        readers.append(channel)
    for r in readers:
        r.start()
    peak, refused = None, 0
    try:
        timed_out, oom = _wait(proc, limits, cgroup)
        kill()  # whatever is left of the job (always: a stray daemonised child must not survive)
        proc.wait()
        for r in readers:
            r.join(timeout=5)
        if channel is not None and not channel.is_alive():
            channel.stream.close()  # type: ignore[attr-defined]
        if cgroup:
            oom = oom or cgroup.oom_kills() > 0
            peak = cgroup.peak_mb()
            refused = cgroup.forks_refused()
    finally:
        if cgroup:
            kill()
            cgroup.close()
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
        notes=job.notes,
        oom_killed=oom,
        memory_peak_mb=peak,
        channel=bytes(channel.data) if channel is not None and not overflow.is_set() else None,
        channel_overflow=overflow.is_set(),
        forks_refused=refused,
    )


def _python_roots() -> list[str]:
    """Host folders the sandbox needs to run this interpreter with its installed packages."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    return sorted(r for r in roots if not r.startswith("/usr"))


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


class BwrapSandbox:
    """Runs ``argv`` inside bubblewrap. ``binds`` maps sandbox path -> (host path, writable). The grader's
    :class:`~certifia_grading.domain.sandbox.Sandbox`."""

    isolated = True  # the command sees the sandbox's paths

    def __init__(
        self,
        bwrap: str | None = None,
        *,
        setpriv: str | None = None,
        cgroup_hierarchy: cgroups.Hierarchy | None = None,
        privileged: bool | None = None,
    ) -> None:
        """``cgroup_hierarchy``: where job cgroups go (default: what this process sees, detected once).

        As root, each run gets a uid of its own. ``privileged`` (default: whether this root holds
        CAP_SYS_ADMIN): bubblewrap creates the namespaces as root, then setpriv drops to the run's uid
        inside. Without CAP_SYS_ADMIN (root in a container: Docker withholds it) setpriv drops first and
        bubblewrap creates a user namespace as that uid, as it does for a non-root grader (measured in
        compose: "Creating new namespace failed: Operation not permitted" the other way round)."""
        self.bwrap = bwrap or find_bwrap()
        self.setpriv = setpriv or shutil.which("setpriv")
        self.as_root = os.geteuid() == 0
        self.privileged = self.as_root and (has_cap_sys_admin() if privileged is None else privileged)
        self.cgroup_hierarchy = cgroup_hierarchy

    def check(self) -> None:
        if not self.bwrap:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed: candidate code is never run unsandboxed "
                "(install the Debian package 'bubblewrap')"
            )
        if self.as_root and not self.setpriv:
            raise SandboxUnavailable("running as root needs setpriv (util-linux) to drop to a sandbox uid")
        try:
            seccomp.filter_program()
        except seccomp.SeccompUnavailable as exc:
            log.error("no seccomp filter: %s", exc)
            raise SandboxUnavailable(
                "the seccomp filter cannot be built: candidate code is never run without it "
                "(install the Debian package libseccomp2 and the pinned pyseccomp)"
            ) from None

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
        scratch: Sequence[str] = (),
        seccomp_fd: int | None = None,
    ) -> list[str]:
        """``scratch``: sandbox folders mounted as tmpfs of ``tmp_mb`` (writable by anyone inside, like
        ``/tmp``); ``seccomp_fd``: an inherited fd holding the BPF program bubblewrap loads."""
        assert self.bwrap
        drop = []  # setpriv to the run's uid: before bubblewrap (unprivileged), or inside it (privileged root)
        if uid is not None:
            assert self.setpriv
            drop = [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            drop += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        inside = uid is not None and self.privileged
        cmd = [] if inside else drop
        cmd += [self.bwrap, "--die-with-parent", "--new-session", "--clearenv"]
        if seccomp_fd is not None:
            cmd += ["--seccomp", str(seccomp_fd)]
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        if inside:
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            cmd += ["--unshare-user"]
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
        mounts: list[tuple[str, str | None, bool]] = [(root, root, False) for root in _python_roots()]
        mounts += [(dest, src, rw) for dest, (src, rw) in sorted(binds.items())]
        mounts += [(dest, None, True) for dest in sorted(scratch)]
        made: set[str] = {"/", "/usr", "/tmp", "/proc", "/dev", SANDBOX_ROOT}
        for dest, src, rw in mounts:
            for parent in _ancestors(dest):
                if parent not in made:
                    cmd += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            if src is None:
                cmd += ["--perms", "1777", "--size", str(tmp_mb * 1024 * 1024), "--tmpfs", dest]
            else:
                cmd += ["--bind" if rw else "--ro-bind", src, dest]
            made.add(dest)
        for key, value in sorted(env.items()):
            cmd += ["--setenv", key, value]
        cmd += ["--chdir", chdir, "--"]
        return cmd + (drop if inside else []) + list(argv)

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
        """``scratch``: folders that are bounded tmpfs inside; ``channel``: hand back bytes through a pipe
        (``SandboxResult.channel``), the only way anything written in a scratch folder comes out."""
        self.check()
        if self.as_root and uid is None:
            uid = self.sandbox_uid()
        full_env = {"PATH": _DEFAULT_PATH, "HOME": "/tmp", "LANG": "C.UTF-8", **(env or {})}
        devices = gpu_devices(limits)
        if devices and "CUDA_VISIBLE_DEVICES" in os.environ:  # the GPUs Ray granted this job, no others
            full_env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        job = _open_job(limits, channel, full_env, self.cgroup_hierarchy or cgroups.default_hierarchy())
        try:
            seccomp_fd = seccomp.filter_fd()
        except (seccomp.SeccompUnavailable, OSError):
            log.exception("no seccomp filter for this run")
            job.close_fds()
            if job.cgroup:
                job.cgroup.close()
            raise SandboxUnavailable("the seccomp filter cannot be handed to the sandbox") from None
        job.pass_fds += (seccomp_fd,)
        job.notes += (f"seccomp: {len(seccomp.DENIED)} system calls and namespace-creating clone denied",)
        cmd = self.build_argv(
            argv,
            binds=binds,
            chdir=chdir,
            uid=uid,
            env=full_env,
            tmp_mb=limits.max_output_mb,
            devices=devices,
            scratch=scratch,
            seccomp_fd=seccomp_fd,
        )
        nproc = limits.max_processes + 2  # + bwrap's two processes
        if uid is None:
            nproc += count_tasks(os.getuid())
        return _run_capped(cmd, limits=limits, env={"PATH": _DEFAULT_PATH}, nproc=nproc, job=job)


def _job_cgroup(limits: Limits, hierarchy: cgroups.Hierarchy) -> tuple[cgroups.JobCgroup | None, str]:
    """The run's cgroup and a note saying which limits hold; logs once why there is none."""
    try:
        cgroup = hierarchy.create(limits)
    except cgroups.CgroupUnavailable as exc:
        if _warned_once.acquire(blocking=False):  # never released: once per process
            log.warning(
                "per-job cgroups unavailable (%s): sandboxed runs are bounded by per-process rlimits only "
                "(memory per process, processes per uid); run the grader as root or in a delegated cgroup",
                exc,
            )
        return None, "limits: per-process rlimits only (no writable cgroup; see the service log)"
    note = (
        f"limits: {hierarchy.describe()} per job (memory {limits.memory_mb} MB for all its processes, "
        f"{limits.max_processes} processes, {cgroups.CPUS} CPU) and per-process rlimits"
    )
    return cgroup, note


def _open_job(
    limits: Limits, channel: bool, env: dict[str, str], hierarchy: cgroups.Hierarchy | None
) -> _Job:
    """A run's cgroup (if a hierarchy is given) and channel: its write end in ``pass_fds``, its number
    in ``env``."""
    job = _Job()
    if hierarchy is not None:
        cgroup, note = _job_cgroup(limits, hierarchy)
        job.cgroup, job.notes = cgroup, (note,)
    if channel:
        read_end, write_end = os.pipe()
        job.channel_read, job.pass_fds = read_end, (write_end,)
        env[RESULT_FD_ENV] = str(write_end)
    return job


class UnsandboxedRunner:
    """Same contract without isolation (rlimits only). For the benchmark's comparison, never for grading."""

    as_root = False
    isolated = False  # paths under SANDBOX_ROOT are translated to host folders

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
        scratch: Sequence[str] = (),
        channel: bool = False,
    ) -> SandboxResult:
        """As :meth:`BwrapSandbox.run`; a scratch folder is a fresh host folder (not size-bounded),
        removed after the run."""
        with contextlib.ExitStack() as stack:
            binds = dict(binds)
            for dest in scratch:
                binds[dest] = (
                    stack.enter_context(
                        tempfile.TemporaryDirectory(prefix="certifia-scratch-", ignore_cleanup_errors=True)
                    ),
                    True,
                )

            def host(path: str) -> str:  # paths under SANDBOX_ROOT are translated to their host folders
                for dest, (src, _rw) in sorted(binds.items(), key=lambda kv: -len(kv[0])):
                    if path == dest or path.startswith(dest + "/"):
                        return src + path[len(dest) :]
                return path

            full_env = {"PATH": _DEFAULT_PATH, "HOME": "/tmp", "LANG": "C.UTF-8", **(env or {})}
            full_env = {k: host(v) if v.startswith(SANDBOX_ROOT) else v for k, v in full_env.items()}
            job = _open_job(limits, channel, full_env, None)
            job.notes = ("limits: per-process rlimits only (unsandboxed: the benchmark's comparison)",)
            nproc = limits.max_processes + count_tasks(os.getuid()) + 2
            argv = [host(a) for a in argv]
            return _run_capped(argv, limits=limits, env=full_env, nproc=nproc, cwd=host(chdir), job=job)


def make_sandbox(sandboxed: bool = True) -> Sandbox:
    """What a grader built here runs candidate code in: bubblewrap, or (``sandboxed=False``, the benchmark's
    comparison only) the unsandboxed runner."""
    return BwrapSandbox() if sandboxed else UnsandboxedRunner()
