"""The archive's entry point is the only code that runs (issue 12, item 6): what the jury and an appeal
read (the stored archive, whose SHA-256 is the verdict's submission_digest) is the source that ran.

A package or a folder named like the entry module, bytecode, compiled extensions, interpreter start-up
hooks, a module shadowing the standard library or a package grading relies on, source a reader decodes
differently from Python, and any file outside the pack's allow-list are refused, each with a reason that
names the member and the rule (never a host path or an exception class). Graded on the real sandbox.

Here, what runs in this process (no sandbox, no child process); tests/integration/test_archive_entry_point.py has the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from certifia_grading.domain import SubmissionError, archive
from certifia_grading.domain.model import PackError
from certifia_grading.domain.testing import doubling_pack_yaml, zip_files

LIMITS = "cpu_seconds: 10, memory_mb: 1024, wall_seconds: 20, max_processes: 12, max_output_mb: 4"
GOOD = "import helpers\n\ndef solve(numbers):\n    return helpers.double(numbers)\n"


# -- the rules themselves (no sandbox) ------------------------------------------------------------------
def test_the_default_allow_list_is_stated_and_each_pack_may_declare_its_own(tmp_path: Path) -> None:
    from certifia_grading.domain.spec import DEFAULT_SUBMISSION_ALLOW, parse_spec

    assert set(DEFAULT_SUBMISSION_ALLOW) == {
        "*.py", "*.txt", "*.md", "*.json", "*.csv", "*.yaml", "*.toml", "requirements.txt",
    }  # fmt: skip
    folder = tmp_path / "entry_probe"
    folder.mkdir()
    for extra, ok in (
        ("", True),
        ("submission: {allow: []}", False),
        ("submission: {allow: ['/etc/*']}", False),
    ):
        (folder / "pack.yaml").write_text(doubling_pack_yaml("entry_probe", LIMITS, extra=extra))
        if ok:
            spec = parse_spec(folder)
            assert spec.submission_allow == DEFAULT_SUBMISSION_ALLOW
            assert spec.submission_patterns == (*DEFAULT_SUBMISSION_ALLOW, "solution.py")
        else:
            with pytest.raises(PackError, match=r"submission\.allow"):
                parse_spec(folder)


def test_rules_hold_after_the_top_folder_is_stripped_and_namespace_folders_pass() -> None:
    from certifia_grading.domain.spec import DEFAULT_SUBMISSION_ALLOW

    with pytest.raises(SubmissionError, match="bytecode"):
        archive.read_members(
            zip_files({"work/solution.py": GOOD, "work/__pycache__/helpers.cpython-311.pyc": b""})
        )
    members = archive.read_members(zip_files({"work/solution.py": GOOD, "work/numpy/notes.txt": "x"}))
    archive.check_layout(members, module="solution", allow=DEFAULT_SUBMISSION_ALLOW)  # no __init__: no shadow
    with pytest.raises(SubmissionError, match="would shadow"):
        archive.check_layout(
            ["solution.py", "os/__init__.py"], module="solution", allow=DEFAULT_SUBMISSION_ALLOW
        )
    long_name = "x" * 300 + ".bin"
    with pytest.raises(SubmissionError) as refused:
        archive.check_layout([long_name], module="solution", allow=DEFAULT_SUBMISSION_ALLOW)
    assert len(str(refused.value)) < 300 + len(", ".join(DEFAULT_SUBMISSION_ALLOW))
