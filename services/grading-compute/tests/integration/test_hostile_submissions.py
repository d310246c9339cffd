"""Hostile candidate code against the real bubblewrap sandbox: every attack ends in a failed (or rejected)
outcome naming the reason, and the engine grades the next, correct submission normally."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader, GradingOutcome
from certifia_grading.domain.testing import write_doubling_pack, zip_files

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"),
]

LIMITS = (
    "cpu_seconds: 4, memory_mb: 1024, wall_seconds: 8, max_processes: 12, max_output_mb: 4, max_log_kb: 16"
)
GOOD = "def solve(numbers):\n    return numbers * 2\n"


@pytest.fixture(scope="module")
def probe() -> Iterator[tuple[Grader, Path]]:
    root = Path(tempfile.mkdtemp(prefix="certifia-hostile-"))
    title = "probe pack for the hostile suite"
    pack = write_doubling_pack(root / "packs", "hostile_probe", LIMITS, title=title)
    (pack / "labels.npy").write_text("the hidden labels")
    # the same probe asking for a GPU: another memory rlimit
    write_doubling_pack(root / "packs", "hostile_probe_gpu", "gpus: 1, " + LIMITS, title=title)
    other = root / "other-submission"
    other.mkdir()
    (other / "solution.py").write_text("SECRET = 'another candidate'\n")
    yield Grader(root / "packs", sandbox=BwrapSandbox()), root
    shutil.rmtree(root, ignore_errors=True)


def grade(engine: Grader, source: str) -> GradingOutcome:
    return engine.grade("hostile_probe", zip_files({"solution.py": textwrap.dedent(source)}))


def assert_still_grades(engine: Grader) -> None:
    outcome = grade(engine, GOOD)
    assert outcome.failed_reason is None, outcome.failed_reason
    assert [c.verdict for c in outcome.criteria] == ["validated"]


def test_reference_probe_passes(probe: tuple[Grader, Path]) -> None:
    assert_still_grades(probe[0])


def test_no_network_even_to_localhost(probe: tuple[Grader, Path]) -> None:
    engine, _ = probe
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def watch() -> None:
        for _ in range(60):
            try:
                accepted.append(server.accept())
                return
            except TimeoutError:
                continue

    watcher = threading.Thread(target=watch)
    watcher.start()
    outcome = grade(
        engine,
        f"""
        import socket
        def solve(numbers):
            socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"exfiltrated")
            return numbers * 2
        """,
    )
    watcher.join()
    server.close()
    assert accepted == []
    assert outcome.failed_reason and (
        "unreachable" in outcome.failed_reason or "refused" in outcome.failed_reason
    )
    assert_still_grades(engine)


@pytest.mark.parametrize("target", ["pack/labels.npy", "pack/pack.py", "other-submission/solution.py"])
def test_cannot_read_hidden_labels_or_another_submission(probe: tuple[Grader, Path], target: str) -> None:
    engine, root = probe
    path = root / target.replace("pack/", "packs/hostile_probe/")
    outcome = grade(
        engine,
        f"""
        def solve(numbers):
            return [len(open({str(path)!r}).read())] * 10
        """,
    )
    assert outcome.failed_reason and "FileNotFoundError" in outcome.failed_reason
    assert_still_grades(engine)


def test_cannot_write_outside_its_folder(probe: tuple[Grader, Path]) -> None:
    engine, root = probe
    host_file = root / "planted.txt"
    outcome = grade(
        engine,
        f"""
        def solve(numbers):
            for path in ({str(host_file)!r}, "/sandbox/inputs/numbers.npy", "/usr/planted"):
                try:
                    open(path, "w").write("pwned")
                except OSError as exc:
                    last = exc
            raise last
        """,
    )
    assert not host_file.exists()
    assert outcome.failed_reason and "Read-only file system" in outcome.failed_reason
    assert_still_grades(engine)


def test_fork_bomb_hits_the_process_limit(probe: tuple[Grader, Path]) -> None:
    engine, _ = probe
    outcome = grade(
        engine,
        """
        import os
        def solve(numbers):
            while True:
                os.fork()
        """,
    )
    assert outcome.failed_reason and "process limit" in outcome.failed_reason
    assert_still_grades(engine)


def test_memory_bomb_hits_the_memory_limit(probe: tuple[Grader, Path]) -> None:
    engine, _ = probe
    outcome = grade(engine, "def solve(numbers):\n    return bytearray(8 * 1024**3)\n")
    assert outcome.failed_reason and "memory limit" in outcome.failed_reason
    assert_still_grades(engine)


def test_memory_bomb_hits_the_memory_limit_in_a_run_that_asks_for_a_gpu(
    probe: tuple[Grader, Path],
) -> None:
    """A GPU run is bounded by its data segment (CUDA reserves address space it never uses)."""
    engine, _ = probe
    bomb = "def solve(numbers):\n    return bytearray(8 * 1024**3)\n"
    outcome = engine.grade("hostile_probe_gpu", zip_files({"solution.py": bomb}))
    assert outcome.failed_reason and "memory limit" in outcome.failed_reason
    good = engine.grade("hostile_probe_gpu", zip_files({"solution.py": GOOD}))
    assert good.failed_reason is None and [c.verdict for c in good.criteria] == ["validated"]


def test_infinite_loop_hits_the_cpu_or_wall_limit(probe: tuple[Grader, Path]) -> None:
    engine, _ = probe
    outcome = grade(engine, "def solve(numbers):\n    while True:\n        pass\n")
    assert outcome.failed_reason and (
        "CPU time limit" in outcome.failed_reason or "wall-clock" in outcome.failed_reason
    )
    sleeper = grade(engine, "import time\ndef solve(numbers):\n    time.sleep(60)\n")
    assert sleeper.failed_reason and "wall-clock limit" in sleeper.failed_reason
    assert_still_grades(engine)


def test_huge_stdout_is_capped_and_killed(probe: tuple[Grader, Path]) -> None:
    engine, _ = probe
    outcome = grade(engine, "def solve(numbers):\n    while True:\n        print('x' * 100000)\n")
    assert outcome.failed_reason and "output limit" in outcome.failed_reason
    assert len(outcome.logs) < 20_000
    assert_still_grades(engine)


def test_huge_output_file_hits_the_file_size_limit(probe: tuple[Grader, Path]) -> None:
    engine, _ = probe
    outcome = grade(
        engine,
        """
        def solve(numbers):
            with open("/sandbox/output/junk.bin", "wb") as fh:
                for _ in range(100):
                    fh.write(b"x" * (1 << 20))
        """,
    )
    assert outcome.failed_reason and "file size limit" in outcome.failed_reason
    assert_still_grades(engine)


def test_killing_its_parent_does_not_hurt_the_grader(probe: tuple[Grader, Path]) -> None:
    engine, _ = probe
    outcome = grade(
        engine,
        """
        import os, signal
        def solve(numbers):
            for pid in (os.getppid(), 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.killpg(0, signal.SIGKILL)
        """,
    )
    assert outcome.failed_reason and (
        "killed" in outcome.failed_reason or "abnormally" in outcome.failed_reason
    )
    assert os.getpid() > 0  # we are still here
    assert_still_grades(engine)


def test_no_user_namespace_for_a_way_around_the_sandbox(probe: tuple[Grader, Path]) -> None:
    """Measured before seccomp: unshare(CLONE_NEWUSER) succeeded in the sandbox (a root-in-namespace
    that reaches far more of the kernel); now the filter refuses it."""
    engine, _ = probe
    outcome = grade(
        engine,
        """
        import ctypes, os
        def solve(numbers):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
            return numbers * 2
        """,
    )
    assert outcome.failed_reason and "[Errno 1] unshare" in outcome.failed_reason  # EPERM
    assert_still_grades(engine)


def test_symlink_in_the_archive_is_refused(probe: tuple[Grader, Path]) -> None:
    import io
    import zipfile

    engine, root = probe
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("solution.py", GOOD)
        link = zipfile.ZipInfo("data.txt")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, str(root / "packs" / "hostile_probe" / "labels.npy"))
    outcome = engine.grade("hostile_probe", buf.getvalue())
    assert outcome.failed_reason and "symbolic link" in outcome.failed_reason
    assert_still_grades(engine)


def test_symlink_planted_in_outputs_is_never_followed(probe: tuple[Grader, Path]) -> None:
    """The output folder is a tmpfs inside the sandbox that the host never reads: outputs come back only
    through the harness's channel, so a planted link is never even seen."""
    engine, root = probe
    target = root / "packs" / "hostile_probe" / "labels.npy"
    outcome = grade(
        engine,
        f"""
        import os
        def solve(numbers):
            os.symlink({str(target)!r}, "/sandbox/output/doubled.npy")
            os._exit(0)
        """,
    )
    assert outcome.failed_reason == "expected output 'doubled.npy' was not written"
    assert target.read_text() == "the hidden labels"
    assert_still_grades(engine)
