"""Scoring hostile outputs is bounded: absurd shapes are refused from their headers before parsing, the
pack's scorer runs in a child process with wall-clock, CPU and memory bounds, and a Ray job has a
deadline. Each bound exceeded is a failed grading with a generic reason (no exception text, no path).

Here, what runs the sandbox or a child process; tests/unit/test_bounded_scoring.py has the rest.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader
from certifia_grading.domain.archive import read_members
from certifia_grading.domain.model import SubmissionError
from certifia_grading.domain.scoring_process import (
    ScoringBoundExceeded,
    ScoringBounds,
    ScoringFailed,
    score_bounded,
)
from certifia_grading.domain.spec import Dataset, ScoreContext, Submission
from certifia_grading.domain.testing import sample_submission, zip_files

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
ENGINE = Grader(sandbox=BwrapSandbox())
WIDE = 300_000


# -- the scorer in a bounded process ----------------------------------------------------------------------
SPEC = ENGINE.spec("b2_data_cleaning")


def _bounded(scorer: Any, bounds: ScoringBounds, inference: Any = None) -> dict[str, float | None]:
    ctx = ScoreContext(inference=inference, spec=SPEC)
    return score_bounded(scorer, Submission(), Dataset(inputs={}, hidden={}), ctx, bounds)


def test_a_scorer_past_its_wall_clock_bound_is_killed() -> None:
    def scorer(*_: Any) -> dict[str, float | None]:
        time.sleep(60)
        return {}

    started = time.monotonic()
    with pytest.raises(ScoringBoundExceeded, match="took longer than 1 s"):
        _bounded(scorer, ScoringBounds(wall_seconds=1, cpu_seconds=30, memory_mb=512))
    assert time.monotonic() - started < 5


def test_a_scorer_past_its_cpu_bound_is_killed() -> None:
    def scorer(*_: Any) -> dict[str, float | None]:
        while True:
            pass

    started = time.monotonic()
    with pytest.raises(ScoringBoundExceeded, match="more than 1 CPU seconds"):
        _bounded(scorer, ScoringBounds(wall_seconds=30, cpu_seconds=1, memory_mb=512))
    assert time.monotonic() - started < 10


def test_a_scorer_past_its_memory_bound_stops_with_a_memory_reason() -> None:
    def scorer(*_: Any) -> dict[str, float | None]:
        chunks = [np.ones(2**24) for _ in range(32)]  # 4 GB, touched
        return {"kept": float(len(chunks))}

    with pytest.raises(ScoringBoundExceeded, match="more than 256 MB of memory"):
        _bounded(scorer, ScoringBounds(wall_seconds=30, cpu_seconds=30, memory_mb=256))


def test_the_scorers_own_errors_keep_their_text_and_others_stay_in_the_log() -> None:
    def refuses(*_: Any) -> dict[str, float | None]:
        raise SubmissionError("'outliers' must have 400 values, got 3")

    def breaks(*_: Any) -> dict[str, float | None]:
        raise KeyError("/srv/secret/path")

    bounds = ScoringBounds(wall_seconds=10, cpu_seconds=10, memory_mb=256)
    with pytest.raises(SubmissionError, match="'outliers' must have 400 values, got 3"):
        _bounded(refuses, bounds)
    with pytest.raises(ScoringFailed) as caught:
        _bounded(breaks, bounds)
    assert "secret" not in str(caught.value) and "KeyError" not in str(caught.value)


def _grading_process(pid_file: str) -> None:
    def scorer(*_: Any) -> dict[str, float | None]:
        Path(pid_file).write_text(str(os.getpid()))
        time.sleep(120)
        return {}

    _bounded(scorer, ScoringBounds(wall_seconds=100, cpu_seconds=100, memory_mb=256))


def test_a_scorer_dies_with_its_grading_process(tmp_path: Path) -> None:
    """A Ray job killed at its deadline takes its worker down: the scorer must not outlive it."""
    import multiprocessing
    import signal

    pid_file = tmp_path / "scorer.pid"
    grading = multiprocessing.get_context("fork").Process(target=_grading_process, args=(str(pid_file),))
    grading.start()
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the scorer never started"
        time.sleep(0.05)
    scorer_pid = int(pid_file.read_text())
    os.kill(grading.pid, signal.SIGKILL)  # type: ignore[arg-type]
    grading.join(5)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{scorer_pid}").exists() and "Z" not in _state(scorer_pid):
        assert time.monotonic() < deadline, "the scorer outlived its grading process"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


class ParentPredictor:
    """A model runner that lives in the grading process: records where it ran."""

    def __init__(self) -> None:
        self.pids: list[int] = []

    def predict(self, model_bytes: bytes, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.pids.append(os.getpid())
        if model_bytes == b"bad":
            raise SubmissionError("the model could not be run")
        return {"y": inputs["x"] * 2}


def test_model_runs_are_served_by_the_grading_process() -> None:
    def scorer(submission: Submission, dataset: Dataset, ctx: ScoreContext) -> dict[str, float | None]:
        out = ctx.inference.predict(b"model", {"x": np.arange(3.0)})
        try:
            ctx.inference.predict(b"bad", {"x": np.arange(3.0)})
        except SubmissionError as exc:
            refused = str(exc) == "the model could not be run"
        return {"sum": float(out["y"].sum()), "pid": float(os.getpid()), "refused": float(refused)}

    predictor = ParentPredictor()
    bounds = ScoringBounds(wall_seconds=10, cpu_seconds=10, memory_mb=256)
    metrics = _bounded(scorer, bounds, inference=predictor)
    assert metrics["sum"] == 6.0 and metrics["refused"] == 1.0
    assert predictor.pids == [os.getpid()] * 2  # served here
    assert metrics["pid"] != os.getpid()  # scored in a child


# -- through the engine, on the real sandbox ---------------------------------------------------------------
@needs_bwrap
def test_a_one_row_300000_column_cleaned_csv_fails_in_seconds_and_the_next_grading_is_normal() -> None:
    honest = sample_submission(ENGINE, "b2_data_cleaning")
    solution = read_members(honest)["solution.py"].decode()
    wide = solution + (
        "\n_clean = clean\n\n\ndef clean(table):\n    out = _clean(table)\n"
        f"    out['cleaned'] = pd.DataFrame(np.ones((1, {WIDE})), columns=[f'c{{i}}' for i in range({WIDE})])\n"
        "    return out\n"
    )
    ENGINE.dataset("b2_data_cleaning")
    started = time.monotonic()
    outcome = ENGINE.grade("b2_data_cleaning", zip_files({"solution.py": wide}))
    assert time.monotonic() - started < 30  # was 51.6 s (and 152 s, 4 GB with 1M columns)
    assert outcome.failed_reason == (
        f"output 'cleaned' has {WIDE} columns in its header, above the 64 allowed: refused"
    )
    assert not ENGINE.grade("b2_data_cleaning", honest).failed


SLOW_PACK_PY = """
import time
from certifia_grading.domain.spec import Dataset

def build(seed):
    return Dataset(inputs={"numbers": [1, 2, 3]}, hidden={})

def score(submission, dataset, ctx):
    time.sleep(120)  # as a scorer stuck on a hostile output would
    return {"exact": 1.0}
"""


@pytest.fixture(scope="module")
def slow_scorer_engine() -> Iterator[Grader]:
    root = Path(tempfile.mkdtemp(prefix="certifia-slow-scorer-"))
    folder = root / "slow_scorer"
    folder.mkdir()
    (folder / "pack.yaml").write_text(
        'id: slow_scorer\nversion: "0.0.1"\ntitle: "a scorer that never ends"\n'
        "interface:\n  kind: python\n  function: solve\n  signature: solve(numbers)\n"
        "  inputs: [{name: numbers, format: json}]\n  outputs: [{name: doubled, format: json}]\n"
        "dataset: {seed: 1}\nlimits: {cpu_seconds: 8, memory_mb: 1024, wall_seconds: 8}\n"
        'criteria:\n  - id: "2.A1.C1.E1"\n    summary: probe\n'
        '    checks: [{metric: exact, comparator: "==", threshold: 1, reason: "probe"}]\n'
    )
    (folder / "pack.py").write_text(SLOW_PACK_PY)
    yield Grader(root, sandbox=BwrapSandbox())
    shutil.rmtree(root, ignore_errors=True)


@needs_bwrap
def test_a_scorer_that_does_not_end_is_a_failed_grading_within_the_packs_wall_limit(
    slow_scorer_engine: Grader,
) -> None:
    archive = zip_files({"solution.py": "def solve(numbers):\n    return [2 * n for n in numbers]\n"})
    started = time.monotonic()
    outcome = slow_scorer_engine.grade("slow_scorer", archive)
    assert time.monotonic() - started < 40  # the run (~1 s) and the scorer's 8 s, not 120 s
    assert outcome.failed_reason is not None
    assert outcome.failed_reason.startswith(
        "scoring stopped: scoring this submission's outputs took longer than 8 s"
    )
