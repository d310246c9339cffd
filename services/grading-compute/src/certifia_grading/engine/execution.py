"""Step one of a grading: run the candidate's code on the evaluation inputs in the sandbox, collect outputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from certifia_grading.adapters.sandbox import SANDBOX_ROOT, BwrapSandbox, SandboxResult, UnsandboxedRunner
from certifia_grading.engine import archive, safe_io
from certifia_grading.engine.model import SubmissionError
from certifia_grading.engine.spec import Dataset, PackSpec

HARNESS = Path(__file__).with_name("harness.py")
SANDBOX_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JOBLIB_MULTIPROCESSING": "0",
    "MPLCONFIGDIR": "/tmp",
    "PYTHONHASHSEED": "0",
}
Runner = BwrapSandbox | UnsandboxedRunner


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
    if result.timed_out:
        return f"wall-clock limit exceeded: the code ran longer than {lim.wall_seconds:g} s and was killed"
    if result.output_flooded:
        return f"output limit exceeded: the code wrote more than {16 * lim.max_log_kb} KB to stdout/stderr"
    if result.returncode == 0:
        return None
    if result.signal == signal.SIGXCPU or "SIGXCPU" in err:
        return f"CPU time limit exceeded ({lim.cpu_seconds} CPU seconds)"
    if result.returncode == 12 or "MemoryError" in err or "std::bad_alloc" in err:
        return f"memory limit exceeded ({lim.memory_mb} MB of address space)"
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
    spec: PackSpec, dataset: Dataset, archive_bytes: bytes, runner: Runner
) -> tuple[dict[str, Any], SandboxResult, tuple[str, ...]]:
    """Sandboxed run of a python-interface pack. Raises SubmissionError with the reason on failure."""
    itf = spec.interface
    root = Path(tempfile.mkdtemp(prefix="certifia-job-"))
    try:
        root.chmod(0o711)
        folders = {k: root / k for k in ("submission", "inputs", "job", "output")}
        for path in folders.values():
            path.mkdir(mode=0o755)
        files = tuple(archive.extract(archive_bytes, folders["submission"]))
        if f"{itf.module}.py" not in files:
            raise SubmissionError(
                f"the archive has no {itf.module}.py at its root (found: {list(files)[:10]})"
            )
        for item in itf.inputs:
            _write_input(folders["inputs"], item.name, item.format, dataset.inputs[item.name])
        sandboxed = isinstance(runner, BwrapSandbox)

        def seen(key: str) -> str:  # a folder as the candidate's process sees it
            return f"{SANDBOX_ROOT}/{key}" if sandboxed else str(folders[key])

        job = {
            "module": itf.module,
            "function": itf.function,
            "inputs": [{"name": i.name, "format": i.format} for i in itf.inputs],
            "outputs": [{"name": o.name, "format": o.format} for o in itf.outputs],
            "inputs_dir": seen("inputs"),
            "submission_dir": seen("submission"),
            "output_dir": seen("output"),
        }
        (folders["job"] / "job.json").write_text(json.dumps(job), encoding="utf-8")
        shutil.copyfile(HARNESS, folders["job"] / "harness.py")
        for path in folders["job"].iterdir():
            path.chmod(0o644)
        uid = runner.sandbox_uid()
        folders["output"].chmod(0o700)
        if uid is not None:
            os.chown(folders["output"], uid, uid)
        binds = {f"{SANDBOX_ROOT}/{k}": (str(p), k == "output") for k, p in folders.items()}
        # normalised: a path with ".." (python started as ../.venv/bin/python) does not exist in the sandbox
        argv = [
            os.path.normpath(sys.executable),
            "-I",
            "-B",
            f"{SANDBOX_ROOT}/job/harness.py",
            f"{SANDBOX_ROOT}/job/job.json",
        ]
        result = runner.run(
            argv, binds=binds, limits=spec.limits, chdir=f"{SANDBOX_ROOT}/output", uid=uid, env=SANDBOX_ENV
        )
        reason = explain_failure(result, spec)
        if reason:
            raise SubmissionError(reason)
        return collect_outputs(spec, str(folders["output"])), result, files
    finally:
        _remove_tree(root)


def collect_outputs(spec: PackSpec, out_dir: str) -> dict[str, Any]:
    limit = spec.limits.max_output_mb * 1024 * 1024
    dir_fd = safe_io.open_dir(out_dir)
    try:
        st = os.fstat(dir_fd)
        if not stat.S_ISDIR(st.st_mode):
            raise SubmissionError("output folder replaced")
        if safe_io.folder_size(dir_fd) > limit:
            raise SubmissionError(f"output limit exceeded: more than {spec.limits.max_output_mb} MB written")
        outputs = {}
        for item in spec.interface.outputs:
            data = safe_io.read_bytes(dir_fd, f"{item.name}.{item.format}", limit)
            outputs[item.name] = safe_io.parse(item.name, data, item.format)
        return outputs
    finally:
        os.close(dir_fd)
