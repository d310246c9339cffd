"""The tritonserver binary that PyTriton's wheel ships, started on its own on a model repository.

PyTriton bundles the real ``tritonserver`` (``pytriton/tritonserver/bin``) with the Python backend
only (``backends/python``) and one backend stub per Python version (``python_backend_stubs/<x.y>``).
:class:`LocalTritonServer` prepares a backend folder the way PyTriton does (the library and its
utilities linked, this interpreter's stub copied in), then runs the server in explicit model-control
mode with HTTP, gRPC and metrics on free 127.0.0.1 ports, logs to a file, and stops it. It stands for
the compose ``triton`` service in tests and local runs of ``TritonRepositoryInference``
(``backend="python"``: the onnxruntime backend is not in the wheel).

Environment of the server (its Python stubs inherit it): this interpreter's LIBDIR and PyTriton's
bundled libraries in ``LD_LIBRARY_PATH``, this environment's ``bin`` first in ``PATH`` (the embedded
interpreter finds its prefix, hence site-packages, from there, as under PyTriton) and site-packages
in ``PYTHONPATH`` so the stub imports numpy and onnxruntime from this environment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path
from typing import Self

import httpx
import pytriton

from certifia_grading.adapters.triton import _free_port, python_libdir_env

PYTRITON_ROOT = Path(pytriton.__file__).resolve().parent
TRITONSERVER_BIN = PYTRITON_ROOT / "tritonserver" / "bin" / "tritonserver"
PYTHON_BACKEND = PYTRITON_ROOT / "tritonserver" / "backends" / "python"
PYTRITON_LIBS = PYTRITON_ROOT.parent / "nvidia_pytriton.libs"
PYTHON_STUB = (
    PYTRITON_ROOT
    / "tritonserver"
    / "python_backend_stubs"
    / f"{sys.version_info.major}.{sys.version_info.minor}"
    / "triton_python_backend_stub"
)


def _die_with_parent() -> None:  # in the child, before exec: SIGTERM when the parent process dies
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalTritonServer:
    """PyTriton's bundled tritonserver on 127.0.0.1, explicit model control on ``model_repository``."""

    def __init__(
        self, model_repository: Path, *, log_file: Path | None = None, startup_timeout_s: float = 60.0
    ) -> None:
        self.model_repository = Path(model_repository)
        self.startup_timeout_s = startup_timeout_s
        self._log_file = log_file
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def log_file(self) -> Path | None:
        """``log_file`` if given, else a file in the server's work folder (deleted by ``stop``)."""
        if self._log_file is not None:
            return self._log_file
        return Path(self._workdir.name) / "tritonserver.log" if self._workdir else None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file and self.log_file.exists() else ""

    def start(self) -> None:
        if self._process is not None:
            return
        self._workdir = tempfile.TemporaryDirectory(prefix="certifia-tritonserver-")
        backends = Path(self._workdir.name) / "backends"
        python = backends / "python"
        python.mkdir(parents=True)
        for item in PYTHON_BACKEND.iterdir():
            if item.is_file():
                (python / item.name).symlink_to(item)
        (python / "triton_python_backend_stub").write_bytes(PYTHON_STUB.read_bytes())
        (python / "triton_python_backend_stub").chmod(0o755)
        http_port = _free_port()
        args = [
            str(TRITONSERVER_BIN),
            f"--model-repository={self.model_repository}",
            "--model-control-mode=explicit",
            f"--backend-directory={backends}",
            "--http-address=127.0.0.1",
            f"--http-port={http_port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={_free_port()}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={_free_port()}",
            "--allow-gpu-metrics=false",
            "--exit-timeout-secs=5",
            # ready means the server answers: strict readiness (all models ready) is false while any model
            # loads and stays false after a failed load, which a candidate's model may well cause
            "--strict-readiness=false",
            # a prefix of its own for the stubs' shared memory, small regions that grow (as PyTriton does)
            f"--backend-config=python,shm-region-prefix-name=certifia-{os.getpid()}-{uuid.uuid4().hex[:8]}-",
            "--backend-config=python,shm-default-byte-size=4194304",
            "--backend-config=python,shm-growth-byte-size=1048576",
        ]
        assert self.log_file is not None
        log = open(self.log_file, "wb")  # noqa: SIM115 (the child keeps it; closed here after the spawn)
        try:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        self.url = f"http://127.0.0.1:{http_port}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _environment(self) -> dict[str, str]:
        env = python_libdir_env()
        env["LD_LIBRARY_PATH"] = ":".join(p for p in (env["LD_LIBRARY_PATH"], str(PYTRITON_LIBS)) if p)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        site = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
        env["PYTHONPATH"] = os.pathsep.join(
            [*site, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        )
        return env

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(base_url=self.url, timeout=2.0) as http:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"tritonserver exited with status {self._process.returncode}:\n{self.log()[-4000:]}"
                    )
                try:
                    if http.get("/v2/health/ready").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tritonserver not ready after {self.startup_timeout_s:.0f} s")
                time.sleep(0.1)

    def stop(self) -> None:
        """SIGINT (the server unloads its models, then exits), SIGKILL if it has not within 15 s."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
