"""A pack's scorer in its own bounded process: the scorer is our code, but what it reads is hostile.

Each scoring is a child forked from the grading process (it inherits the pack module, the cached
dataset and the parsed outputs: nothing is pickled on the way in, and a fork costs milliseconds where a
fresh interpreter would cost a second of imports). The child gets rlimits on CPU time and address
space (on top of what it inherited) and no core dumps; the parent kills it at its wall-clock deadline.
What the scorer asks of the context's model runner or timer (the sandboxed onnxruntime, Triton) is
served by the parent over the pipe, so model servers, their connections and their batching stay in the
grading process; that time does not count against the scorer's own wall-clock bound (each model run is
bounded by its sandbox).

A bound exceeded becomes :class:`ScoringBoundExceeded`, a :class:`SubmissionError` whose text names
the bound only; a :class:`SubmissionError` raised by the scorer keeps its text; anything else the
scorer raises is re-raised in the parent as :class:`ScoringFailed` (its traceback goes to the log, not
to the candidate).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from certifia_grading.domain.model import SubmissionError
from certifia_grading.domain.spec import Dataset, ScoreContext, Submission

log = logging.getLogger(__name__)
Scorer = Callable[[Submission, Dataset, ScoreContext], dict[str, float | None]]
_FORK = multiprocessing.get_context("fork")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ScoringBounds:
    wall_seconds: float
    cpu_seconds: int
    memory_mb: int  # address space the scorer may add to what it inherited

    @classmethod
    def of(cls, limits: Any) -> ScoringBounds:
        """The scorer gets the budget the pack gives the candidate's code (honest scoring needs ~1 s)."""
        return cls(float(limits.wall_seconds), int(limits.cpu_seconds), int(limits.memory_mb))


class ScoringBoundExceeded(SubmissionError):
    """Scoring the submission's outputs went past a bound (time, CPU or memory)."""


class ScoringFailed(RuntimeError):
    """The scorer raised something other than a SubmissionError, or its process died unexplained."""


def score_bounded(
    scorer: Scorer, submission: Submission, dataset: Dataset, ctx: ScoreContext, bounds: ScoringBounds
) -> dict[str, float | None]:
    """``scorer(submission, dataset, ctx)`` in a bounded child process; its metrics."""
    ours, theirs = _FORK.Pipe(duplex=True)
    child = _FORK.Process(target=_child, args=(theirs, scorer, submission, dataset, ctx, bounds))
    child.start()
    theirs.close()
    try:
        return _serve(ours, child, ctx, bounds)
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        ours.close()


def _serve(conn: Connection, child: Any, ctx: ScoreContext, bounds: ScoringBounds) -> dict[str, float | None]:
    deadline = time.monotonic() + bounds.wall_seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ScoringBoundExceeded(_reason(f"took longer than {bounds.wall_seconds:g} s"))
        if not wait([conn, child.sentinel], timeout=remaining):
            continue
        try:
            message = conn.recv()
        except EOFError:  # the child died without a word
            child.join(5)
            raise _death(child.exitcode, bounds) from None
        kind, *rest = message
        if kind == "call":
            served = time.monotonic()
            conn.send(_call(ctx, *rest))
            deadline += time.monotonic() - served  # model runs are bounded by their sandbox
        elif kind == "metrics":
            return rest[0]  # type: ignore[no-any-return]
        elif kind == "submission_error":
            raise SubmissionError(rest[0])
        elif kind == "memory":
            raise ScoringBoundExceeded(_reason(f"needed more than {bounds.memory_mb} MB of memory"))
        else:
            log.error("the scorer raised:\n%s", rest[0])
            raise ScoringFailed("the scorer raised an exception (see the log)")


def _call(ctx: ScoreContext, target: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return ("ok", getattr(getattr(ctx, target), method)(*args, **kwargs))
    except SubmissionError as exc:  # the model's problem: the scorer may handle it or pass it on
        return ("submission_error", str(exc))
    # anything else is ours (sandbox unavailable, Triton down): raised here, the child is killed


def _reason(what: str) -> str:
    return f"scoring stopped: scoring this submission's outputs {what} (its outputs are far from what the task asks for)"


def _death(exitcode: int | None, bounds: ScoringBounds) -> Exception:
    if exitcode == -signal.SIGXCPU:
        return ScoringBoundExceeded(_reason(f"used more than {bounds.cpu_seconds} CPU seconds"))
    if exitcode == -signal.SIGKILL:  # the hard CPU limit, or the kernel's OOM killer
        return ScoringBoundExceeded(_reason("was killed for its CPU time or memory"))
    return ScoringFailed(f"the scoring process ended abnormally (exit status {exitcode})")


# -- in the child -----------------------------------------------------------------------------------------
class _Remote:
    """Stands for ``ctx.<target>`` in the child: each method call is served by the parent."""

    def __init__(self, conn: Connection, target: str) -> None:
        self._conn, self._target = conn, target

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._conn.send(("call", self._target, method, args, kwargs))
            status, value = self._conn.recv()
            if status == "submission_error":
                raise SubmissionError(value)
            return value

        return call


def _child(
    conn: Connection,
    scorer: Scorer,
    submission: Submission,
    dataset: Dataset,
    ctx: ScoreContext,
    bounds: ScoringBounds,
) -> None:
    _limit_self(bounds)
    remote = replace(
        ctx,
        inference=_Remote(conn, "inference"),
        timer=_Remote(conn, "timer") if ctx.timer is not None else None,
    )
    try:
        message: tuple[Any, ...] = ("metrics", dict(scorer(submission, dataset, remote)))
    except SubmissionError as exc:
        message = ("submission_error", str(exc))
    except MemoryError:
        message = ("memory",)
    except BaseException:  # reported to the parent, which logs it
        message = ("error", traceback.format_exc()[-8000:])
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("memory",))
    conn.close()


def _limit_self(bounds: ScoringBounds) -> None:
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = bounds.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))  # SIGXCPU at the soft limit, SIGKILL at hard
    inherited = _address_space_bytes()
    if inherited is not None:
        cap = inherited + bounds.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _die_with_parent() -> None:
    """SIGKILL when the grading process dies (a Ray job killed at its deadline takes its scorer along)."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the wall-clock deadline still holds while the parent lives
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def _address_space_bytes() -> int | None:
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None
