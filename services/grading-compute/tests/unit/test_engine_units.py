"""Unit tests of the engine's pieces: archive safety, safe output reading, verdicts, outcomes, no-bwrap."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from certifia_grading.adapters import sandbox as sandbox_mod
from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader, SubmissionError, UnknownPack, archive, safe_io
from certifia_grading.domain.spec import Check, CriterionSpec
from certifia_grading.domain.testing import zip_files
from certifia_grading.domain.verdicts import judge


def _zip_with(name: str, data: bytes = b"x", *, mode: int = 0o100644) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = mode << 16
        zf.writestr(info, data)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape.py", "a/../../b.py", "a\\..\\b.py", "C:/x.py"])
def test_archive_refuses_escaping_paths(name: str) -> None:
    with pytest.raises(SubmissionError):
        archive.read_members(_zip_with(name))


def test_archive_refuses_symlinks() -> None:
    with pytest.raises(SubmissionError, match="symbolic link"):
        archive.read_members(_zip_with("solution.py", b"/etc/passwd", mode=0o120777))


def test_archive_refuses_non_zip_and_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SubmissionError, match="not a zip"):
        archive.read_members(b"definitely not a zip")
    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(SubmissionError, match="unpacks to more"):
        archive.read_members(zip_files({"big.bin": b"\0" * 5000}))


def test_archive_extracts_regular_files_and_strips_one_top_folder(tmp_path: Path) -> None:
    names = archive.extract(zip_files({"sub/solution.py": "x = 1", "sub/pkg/util.py": ""}), tmp_path)
    assert names == ["pkg/util.py", "solution.py"]
    assert (tmp_path / "solution.py").read_text() == "x = 1"


def test_safe_io_refuses_symlinks_hardlinks_and_oversize(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden labels")
    out = tmp_path / "out"
    out.mkdir()
    (out / "link.npy").symlink_to(secret)
    os.link(secret, out / "hard.npy")
    (out / "big.json").write_text("[" + "1," * 1000 + "1]")
    fd = safe_io.open_dir(str(out))
    try:
        with pytest.raises(SubmissionError, match="symbolic link"):
            safe_io.read_bytes(fd, "link.npy", 10_000)
        with pytest.raises(SubmissionError, match="hard link"):
            safe_io.read_bytes(fd, "hard.npy", 10_000)
        with pytest.raises(SubmissionError, match="bytes"):
            safe_io.read_bytes(fd, "big.json", 100)
        with pytest.raises(SubmissionError, match="not written"):
            safe_io.read_bytes(fd, "missing.csv", 100)
    finally:
        os.close(fd)


def test_safe_io_never_unpickles() -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SubmissionError, match="not valid npy"):
        safe_io.parse("x", buf.getvalue(), "npy")
    ok = io.BytesIO()
    np.save(ok, np.arange(3))
    assert safe_io.parse("x", ok.getvalue(), "npy").tolist() == [0, 1, 2]


def test_judge_reports_first_failing_check_with_reason() -> None:
    crit = CriterionSpec(
        id="2.A1.C1.E2",
        summary="Outliers.",
        checks=(
            Check("outlier_precision", ">=", 0.8, "precision reason"),
            Check("outlier_recall", ">=", 0.8, "recall reason"),
        ),
    )
    ok = judge(crit, {"outlier_precision": 0.9, "outlier_recall": 0.95})
    assert ok.verdict == "validated" and ok.metric == "outlier_precision"
    bad = judge(crit, {"outlier_precision": 0.9, "outlier_recall": 0.5})
    assert bad.verdict == "rejected" and bad.metric == "outlier_recall" and bad.value == 0.5
    assert "recall reason" in bad.explanation and bad.threshold == 0.8 and bad.comparator == ">="
    missing = judge(crit, {"outlier_precision": None, "outlier_recall": 1.0})
    assert missing.verdict == "rejected" and "non mesurée" in missing.explanation


def test_unknown_pack_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        Grader(sandbox=BwrapSandbox()).pack("no_such_pack")
    with pytest.raises(UnknownPack):
        Grader(sandbox=BwrapSandbox()).grade("no_such_pack", b"")


def test_bad_archive_is_a_failed_outcome_not_an_exception() -> None:
    outcome = Grader(sandbox=BwrapSandbox()).grade("b2_supervised_onnx", b"garbage")
    assert outcome.failed_reason and "zip" in outcome.failed_reason and outcome.criteria == ()
    assert len(outcome.submission_digest) == 64 and outcome.pack_version == "1.1.0"


def test_without_bwrap_grading_fails_clearly_never_unsandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_mod, "find_bwrap", lambda: None)
    outcome = Grader(sandbox=BwrapSandbox()).grade("b2_data_cleaning", zip_files({"solution.py": "boom"}))
    assert outcome.failed_reason and "bubblewrap" in outcome.failed_reason
    assert outcome.criteria == ()


def test_reproducible_view_ignores_volatile_metrics() -> None:
    from certifia_grading.domain import CriterionVerdict, GradingOutcome

    def make(latency: float) -> GradingOutcome:
        verdict = CriterionVerdict("5B.A4.C1.E1", "validated", "speedup", latency, 1.5, ">=", "ok")
        return GradingOutcome(
            "p",
            "1",
            1,
            "d",
            (verdict,),
            {"speedup": latency, "acc": 0.9},
            latency,
            volatile_metrics=("speedup",),
        )

    assert make(2.0).reproducible_view() == make(3.0).reproducible_view()


def test_reproducible_view_masks_volatile_values_quoted_in_explanations() -> None:
    from certifia_grading.domain import GradingOutcome
    from certifia_grading.domain.spec import Check, CriterionSpec
    from certifia_grading.domain.verdicts import judge

    checks = (Check("acc", ">=", 0.5, "r"), Check("speedup", ">=", 1.5, "r"))
    criterion = CriterionSpec("5B.A4.C1.E1", checks, "s")

    def make(speedup: float) -> GradingOutcome:
        metrics: dict[str, float | None] = {"acc": 0.9, "speedup": speedup}
        verdict = judge(criterion, metrics)
        return GradingOutcome("p", "1", 1, "d", (verdict,), metrics, 0.1, volatile_metrics=("speedup",))

    assert make(2.0).criteria[0].explanation != make(3.0).criteria[0].explanation
    assert make(2.0).reproducible_view() == make(3.0).reproducible_view()
    assert "acc = 0.9 " in make(2.0).reproducible_view()["criteria"][0]["explanation"]


def test_limits_accept_gpus_and_refuse_unknown_or_negative_values() -> None:
    assert sandbox_mod.Limits.from_mapping({"gpus": 1, "memory_mb": 512}).gpus == 1
    assert sandbox_mod.Limits().gpus == 0
    with pytest.raises(ValueError, match="gpus must be >= 0"):
        sandbox_mod.Limits.from_mapping({"gpus": -1})
    with pytest.raises(ValueError, match="unknown limits"):
        sandbox_mod.Limits.from_mapping({"gpu": 1})


def test_gpu_device_nodes_only_for_a_run_that_asks_on_a_machine_that_has_them(tmp_path: Path) -> None:
    for name in (
        "nvidiactl",
        "nvidia0",
        "nvidia1",
        "nvidia-uvm",
        "nvidia-uvm-tools",
        "nvidia-modeset",
        "null",
    ):
        (tmp_path / name).touch()
    asks = sandbox_mod.Limits(gpus=1)
    expected = [
        str(tmp_path / n) for n in ("nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidia1", "nvidiactl")
    ]
    assert sandbox_mod.gpu_devices(asks, str(tmp_path)) == expected
    assert sandbox_mod.gpu_devices(sandbox_mod.Limits(), str(tmp_path)) == []  # the pack asked for none
    (tmp_path / "nvidiactl").unlink()
    assert sandbox_mod.gpu_devices(asks, str(tmp_path)) == []  # no NVIDIA driver on this machine


def test_gpu_device_nodes_are_bound_into_the_sandbox() -> None:
    box = sandbox_mod.BwrapSandbox(bwrap="/usr/bin/bwrap", setpriv="/usr/bin/setpriv")
    argv = box.build_argv(
        ["python3"], binds={}, chdir="/sandbox", uid=None, env={}, devices=["/dev/nvidiactl", "/dev/nvidia0"]
    )
    dev = argv.index("/dev")  # --dev /dev first, then the device nodes over it
    assert argv[dev + 1 :].count("--dev-bind") == 2
    assert argv[argv.index("/dev/nvidia0") - 1 :][:3] == ["--dev-bind", "/dev/nvidia0", "/dev/nvidia0"]
    assert "--dev-bind" not in box.build_argv(["python3"], binds={}, chdir="/sandbox", uid=None, env={})
