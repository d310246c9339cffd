"""The archive's entry point is the only code that runs (issue 12, item 6): what the jury and an appeal
read (the stored archive, whose SHA-256 is the verdict's submission_digest) is the source that ran.

A package or a folder named like the entry module, bytecode, compiled extensions, interpreter start-up
hooks, a module shadowing the standard library or a package grading relies on, source a reader decodes
differently from Python, and any file outside the pack's allow-list are refused, each with a reason that
names the member and the rule (never a host path or an exception class). Graded on the real sandbox.

Here, what runs the sandbox or a child process; tests/unit/test_archive_entry_point.py has the rest.
"""

from __future__ import annotations

import py_compile
import shutil
import sys
import tempfile
from collections.abc import Iterator
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader, GradingOutcome
from certifia_grading.domain.testing import write_doubling_pack, zip_files

LIMITS = "cpu_seconds: 10, memory_mb: 1024, wall_seconds: 20, max_processes: 12, max_output_mb: 4"
GOOD = "import helpers\n\ndef solve(numbers):\n    return helpers.double(numbers)\n"
HELPERS = "def double(x):\n    return x * 2\n"
TRIPLE = "def solve(numbers):\n    return numbers * 3\n"  # what a shadow would run instead


@pytest.fixture(scope="module")
def engine() -> Iterator[Grader]:
    root = Path(tempfile.mkdtemp(prefix="certifia-entry-"))
    for pid, extra in (
        ("entry_probe", ""),
        ("entry_probe_npy", 'submission: {allow: ["*.py", "weights/*.npy"]}'),
    ):
        write_doubling_pack(root / "packs", pid, LIMITS, title="entry-point probe", extra=extra)
    yield Grader(root / "packs", sandbox=BwrapSandbox())
    shutil.rmtree(root, ignore_errors=True)


def _grade(engine: Grader, files: dict[str, bytes | str], pack: str = "entry_probe") -> GradingOutcome:
    return engine.grade(pack, zip_files(files))


def _refused(outcome: GradingOutcome, member: str, rule: str) -> str:
    reason = outcome.failed_reason or ""
    assert outcome.criteria == (), outcome.criteria
    assert repr(member) in reason and rule in reason, reason
    assert "Error" not in reason and "/tmp" not in reason and "certifia-" not in reason, reason
    return reason


def _bytecode(source: str) -> bytes:
    """Bytecode Python loads whatever the source beside it says (unchecked hash-based pyc, PEP 552)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "solution.py", Path(tmp) / "solution.pyc"
        src.write_text(source)
        py_compile.compile(
            str(src), cfile=str(out), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        return out.read_bytes()


def test_an_honest_archive_with_helpers_and_notes_grades(engine: Grader) -> None:
    outcome = _grade(
        engine,
        {
            "solution.py": GOOD,
            "helpers.py": HELPERS,
            "README.md": "# notes\n",
            "requirements.txt": "numpy\n",
            "config/params.json": "{}",
            "lib/__init__.py": "",
        },
    )
    assert outcome.failed_reason is None, outcome.failed_reason
    assert [c.verdict for c in outcome.criteria] == ["validated"]


@pytest.mark.parametrize("member", ["solution/__init__.py", "solution/core.py"])
def test_a_package_or_folder_named_like_the_entry_module_is_refused(engine: Grader, member: str) -> None:
    outcome = _grade(engine, {"solution.py": GOOD, "helpers.py": HELPERS, member: TRIPLE})
    _refused(outcome, member, "named like the entry module 'solution'")


@pytest.mark.parametrize(
    "member",
    [f"__pycache__/solution.{sys.implementation.cache_tag}.pyc", "solution.pyc", "helpers.pyo"],
)
def test_bytecode_is_refused(engine: Grader, member: str) -> None:
    outcome = _grade(engine, {"solution.py": GOOD, "helpers.py": HELPERS, member: _bytecode(TRIPLE)})
    _refused(outcome, member, "bytecode is refused")


@pytest.mark.parametrize(
    "member", [f"solution{EXTENSION_SUFFIXES[0]}", "solution.abi3.so", "lib/libfast.so.1", "x.pyd"]
)
def test_compiled_extensions_are_refused(engine: Grader, member: str) -> None:
    outcome = _grade(engine, {"solution.py": GOOD, "helpers.py": HELPERS, member: b"\x7fELF"})
    _refused(outcome, member, "compiled extension modules are refused")


@pytest.mark.parametrize("member", ["sitecustomize.py", "usercustomize.py", "evil.pth", "lib/x.pth"])
def test_interpreter_start_up_hooks_are_refused(engine: Grader, member: str) -> None:
    outcome = _grade(engine, {"solution.py": GOOD, "helpers.py": HELPERS, member: "import os\n"})
    _refused(outcome, member, "start-up hooks")


@pytest.mark.parametrize(
    "member", ["json.py", "random.py", "numpy/__init__.py", "sklearn.py", "pandas/__init__.py"]
)
def test_a_module_shadowing_one_grading_relies_on_is_refused(engine: Grader, member: str) -> None:
    outcome = _grade(engine, {"solution.py": GOOD, "helpers.py": HELPERS, member: "x = 1\n"})
    _refused(outcome, member, "would shadow the installed module")


@pytest.mark.parametrize("member", ["model.pkl", ".DS_Store", "data.bin", "analysis.ipynb", "lib.zip"])
def test_a_file_outside_the_allow_list_is_refused(engine: Grader, member: str) -> None:
    outcome = _grade(engine, {"solution.py": GOOD, "helpers.py": HELPERS, member: b"\x80\x04"})
    reason = _refused(outcome, member, "not a file this pack accepts")
    assert "*.py" in reason  # the candidate is told what is accepted


def test_a_pack_declares_its_own_allow_list(engine: Grader) -> None:
    import io

    import numpy as np

    weights = io.BytesIO()
    np.save(weights, np.array([2]))
    source = (
        "import numpy as np, pathlib\n"
        "W = np.load(pathlib.Path(__file__).parent / 'weights' / 'w.npy')\n"
        "def solve(numbers):\n    return numbers * W[0]\n"
    )
    ok = _grade(engine, {"solution.py": source, "weights/w.npy": weights.getvalue()}, "entry_probe_npy")
    assert ok.failed_reason is None and [c.verdict for c in ok.criteria] == ["validated"], ok.failed_reason
    notes = _grade(engine, {"solution.py": source, "README.md": "x"}, "entry_probe_npy")
    _refused(notes, "README.md", "allowed: *.py, weights/*.npy")
    default = _grade(engine, {"solution.py": source, "weights/w.npy": weights.getvalue()})
    _refused(default, "weights/w.npy", "not a file this pack accepts")


def test_source_a_reader_decodes_differently_is_refused(engine: Grader) -> None:
    utf7 = b"# -*- coding: utf-7 -*-\ndef solve(numbers):\n    return numbers * 2\n"
    _refused(_grade(engine, {"solution.py": utf7}), "solution.py", "must be UTF-8")
    trojan = "def solve(numbers):\n    return numbers * 2  # \u202e 3 * \u2066\n"
    _refused(_grade(engine, {"solution.py": trojan}), "solution.py", "bidirectional control characters")
    latin = "# coding: latin-1\ndef solve(numbers):\n    return numbers * 2\n".encode("latin-1")
    _refused(_grade(engine, {"solution.py": latin}), "solution.py", "must be UTF-8")


def test_an_onnx_pack_refuses_the_same_members() -> None:
    engine = Grader(sandbox=BwrapSandbox())
    for member, rule in (("extra.bin", "not a file this pack accepts"), ("x.pyc", "bytecode is refused")):
        outcome = engine.grade("b2_supervised_onnx", zip_files({"model.onnx": b"\x08\x01", member: b"x"}))
        _refused(outcome, member, rule)
