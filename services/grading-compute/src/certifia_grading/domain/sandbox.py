"""What the grader needs from a sandbox: run a command under a pack's limits, hand back a :class:`SandboxResult`.

The grader never builds one: bootstrap (or whoever builds a :class:`~certifia_grading.domain.grader.Grader`)
injects it. Bubblewrap (``BwrapSandbox``, in the adapters' ``sandbox`` module) is the one used for grading;
``UnsandboxedRunner`` beside it keeps the same contract without isolation, for the benchmark's comparison
only. The domain never imports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

SANDBOX_ROOT = "/sandbox"  # where the job's folders appear inside the sandbox


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
    oom_killed: bool = False  # the job's cgroup hit its memory limit (all its processes together)
    memory_peak_mb: float | None = None  # the job's peak memory, where its cgroup reports one
    channel: bytes | None = None  # what the command wrote to $CERTIFIA_RESULT_FD (at most max_output_mb)
    channel_overflow: bool = False  # killed because it wrote more than that to the channel
    forks_refused: int = 0  # forks/threads the job's pids limit refused (where its cgroup reports it)

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and not self.timed_out
            and not self.output_flooded
            and not self.oom_killed
            and not self.channel_overflow
        )


class Sandbox(Protocol):
    """Runs ``argv`` with ``limits``. ``binds`` maps a path under :data:`SANDBOX_ROOT` to (host path,
    writable); ``scratch``: folders that are bounded and vanish with the run; ``channel``: hand back bytes
    through a pipe (``SandboxResult.channel``), the only way anything written in a scratch folder comes out.

    ``isolated``: the command sees the sandbox's paths (under :data:`SANDBOX_ROOT`); False for a runner
    that translates them to host folders (the unsandboxed comparison), whose command is given host paths."""

    @property
    def isolated(self) -> bool: ...

    def check(self) -> None:
        """Raise :class:`SandboxUnavailable` when this sandbox cannot run here."""

    def sandbox_uid(self) -> int | None:
        """The uid a fresh run will use (a root grader only); the caller chowns a writable folder to it."""

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
    ) -> SandboxResult: ...
