"""Step one of a grading: run the candidate's code on the evaluation inputs in the sandbox, collect outputs.

The candidate's output folder is a size-bounded tmpfs inside the sandbox (``max_output_mb``): the host
never reads it. The harness hands the declared outputs back through the run's channel (a pipe, framed
as harness.py says), of which the host reads at most ``max_output_mb`` and parses nothing it did not ask
for.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from certifia_grading.domain import archive, safe_io
from certifia_grading.domain.model import SubmissionError
from certifia_grading.domain.sandbox import SANDBOX_ROOT, Sandbox, SandboxResult
from certifia_grading.domain.spec import Dataset, PackSpec

HARNESS = Path(__file__).with_name("harness.py")
MAGIC = b"CERTIFIA-OUTPUTS/1\n"  # harness.MAGIC (the harness is never imported by the grader)
OUTPUT_DIR = f"{SANDBOX_ROOT}/output"
SANDBOX_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JOBLIB_MULTIPROCESSING": "0",
    "MPLCONFIGDIR": "/tmp",
    "PYTHONHASHSEED": "0",
}


def _write_input(folder: Path, name: str, fmt: str, value: Any) -> None:
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        pd.DataFrame(value).to_csv(path, index=False)
    elif fmt == "npy":
        np.save(path, np.asarray(value), allow_pickle=False)
    else:
        path.write_text(json.dumps(value), encoding="utf-8")
    path.chmod(0o644)


def _remove_tree(root: Path) -> None:
    def retry(func: Any, path: str, _exc: Any) -> None:
        try:
            parent = os.path.dirname(path)
            if not os.path.islink(parent):
                os.chmod(parent, 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(root, onerror=retry)


def explain_failure(result: SandboxResult, spec: PackSpec) -> str | None:
    """A reason a candidate can read, naming the limit that was hit; None when the run succeeded."""
    lim = spec.limits
    tail = [line for line in result.stderr.strip().splitlines() if line.strip()]
    last = tail[-1][:300] if tail else ""
    err = result.stderr
    if result.oom_killed:
        return f"memory limit exceeded ({lim.memory_mb} MB, including child processes)"
    if result.forks_refused and not result.ok:  # a fork bomb, even one the wall clock ended
        return (
            f"process limit exceeded (at most {lim.max_processes} processes/threads): the code tried to start "
            f"more {result.forks_refused} times"
        )
    if result.timed_out:
        return f"wall-clock limit exceeded: the code ran longer than {lim.wall_seconds:g} s and was killed"
    if result.output_flooded:
        return f"output limit exceeded: the code wrote more than {16 * lim.max_log_kb} KB to stdout/stderr"
    if result.channel_overflow:
        return f"output limit exceeded: the outputs handed back were larger than {lim.max_output_mb} MB"
    if result.returncode == 0:
        return None
    if result.signal == signal.SIGXCPU or "SIGXCPU" in err:
        return f"CPU time limit exceeded ({lim.cpu_seconds} CPU seconds)"
    if result.returncode == 12 or "MemoryError" in err or "std::bad_alloc" in err:
        return f"memory limit exceeded ({lim.memory_mb} MB of address space)"
    if "No space left on device" in err:
        return (
            f"output limit exceeded: the code wrote more than {lim.max_output_mb} MB "
            "into its output folder (or /tmp)"
        )
    if "Resource temporarily unavailable" in err or "BlockingIOError" in err:
        return f"process limit exceeded (at most {lim.max_processes} processes/threads): {last}"
    if "File too large" in err or result.signal == signal.SIGXFSZ:
        return f"file size limit exceeded (at most {lim.max_output_mb} MB per file)"
    if result.returncode == 10:
        return f"the entry point {spec.interface.module}.{spec.interface.function} cannot be imported: {last}"
    if result.returncode == 11:
        return f"{spec.interface.function}() raised an exception: {last}"
    if result.returncode == 13:
        return f"{spec.interface.function}() returned an unusable value: {last}"
    if result.signal is not None:
        name = (
            signal.Signals(result.signal).name if result.signal in signal.valid_signals() else result.signal
        )
        return f"the code was killed by signal {name}"
    return f"the code ended abnormally (exit status {result.returncode}): {last}"


def run_python(
    spec: PackSpec, dataset: Dataset, archive_bytes: bytes, runner: Sandbox
) -> tuple[dict[str, Any], SandboxResult, tuple[str, ...]]:
    """Sandboxed run of a python-interface pack. Raises SubmissionError with the reason on failure."""
    itf = spec.interface
    root = Path(tempfile.mkdtemp(prefix="certifia-job-"))
    try:
        root.chmod(0o711)
        folders = {k: root / k for k in ("submission", "inputs", "job")}
        for path in folders.values():
            path.mkdir(mode=0o755)
        files = _extract(archive_bytes, folders["submission"])
        if f"{itf.module}.py" not in files:
            raise SubmissionError(
                f"the archive has no {itf.module}.py at its root (found: {list(files)[:10]})"
            )
        for item in itf.inputs:
            _write_input(folders["inputs"], item.name, item.format, dataset.inputs[item.name])
        sandboxed = runner.isolated

        def seen(key: str) -> str:  # a folder as the candidate's process sees it
            return f"{SANDBOX_ROOT}/{key}" if sandboxed else str(folders[key])

        job = {
            "module": itf.module,
            "function": itf.function,
            "inputs": [{"name": i.name, "format": i.format} for i in itf.inputs],
            "outputs": [{"name": o.name, "format": o.format} for o in itf.outputs],
            "inputs_dir": seen("inputs"),
            "submission_dir": seen("submission"),
        }
        (folders["job"] / "job.json").write_text(json.dumps(job), encoding="utf-8")
        shutil.copyfile(HARNESS, folders["job"] / "harness.py")
        for path in folders["job"].iterdir():
            path.chmod(0o644)
        uid = runner.sandbox_uid()
        binds = {f"{SANDBOX_ROOT}/{k}": (str(p), False) for k, p in folders.items()}
        # normalised: a path with ".." (python started as ../.venv/bin/python) does not exist in the sandbox
        argv = [
            os.path.normpath(sys.executable),
            "-I",
            "-B",
            f"{SANDBOX_ROOT}/job/harness.py",
            f"{SANDBOX_ROOT}/job/job.json",
        ]
        result = runner.run(
            argv,
            binds=binds,
            limits=spec.limits,
            chdir=OUTPUT_DIR,
            uid=uid,
            env=SANDBOX_ENV,
            scratch=(OUTPUT_DIR,),
            channel=True,
        )
        reason = explain_failure(result, spec)
        if reason:
            raise SubmissionError(reason)
        return collect_outputs(spec, result.channel), result, files
    finally:
        _remove_tree(root)


def _extract(archive_bytes: bytes, dest: Path) -> tuple[str, ...]:
    """archive.extract, its file-system errors named for the candidate (never the host path or the class)."""
    try:
        return tuple(archive.extract(archive_bytes, dest))
    except OSError:
        raise SubmissionError(
            "the archive could not be unpacked: two of its entries collide (a file and a folder of one "
            "name, or a name too long for the file system)"
        ) from None


def collect_outputs(spec: PackSpec, channel: bytes | None) -> dict[str, Any]:
    """The declared outputs from what the harness handed back (bounded by the runner), parsed safely."""
    expected = {f"{o.name}.{o.format}": o for o in spec.interface.outputs}
    frames = unframe(channel or b"", set(expected))
    outputs = {}
    for filename, item in expected.items():
        if filename not in frames:
            raise SubmissionError(f"expected output {filename!r} was not written")
        outputs[item.name] = safe_io.parse(item.name, frames[filename], item.format, **item.parse_bounds())
    return outputs


def unframe(data: bytes, names: set[str]) -> dict[str, bytes]:
    """{file name: bytes} from the harness's frames; anything unexpected or inconsistent is refused."""
    if not data.startswith(MAGIC):
        return {}  # the code ended (os._exit, a signal) before the harness handed anything back
    frames: dict[str, bytes] = {}
    pos, end = len(MAGIC), len(data)
    while pos < end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        name = data[pos + 4 : pos + 4 + size].decode("utf-8", "replace")
        pos += 4 + size
        length = int.from_bytes(data[pos : pos + 8], "big")
        pos += 8
        if pos > end or pos + length > end or name not in names or name in frames:
            raise SubmissionError("the outputs handed back by the harness are malformed")
        frames[name] = data[pos : pos + length]
        pos += length
    return frames
