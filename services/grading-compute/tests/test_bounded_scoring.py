"""Scoring hostile outputs is bounded: absurd shapes are refused from their headers before parsing, the
pack's scorer runs in a child process with wall-clock, CPU and memory bounds, and a Ray job has a
deadline. Each bound exceeded is a failed grading with a generic reason (no exception text, no path)."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from certifia_grading.adapters.ray_executor import GradingTaskError
from certifia_grading.adapters.runner import JOB_MARGIN_S, RayGrader, job_timeout
from certifia_grading.adapters.sandbox import Limits
from certifia_grading.engine import GradingEngine, safe_io
from certifia_grading.engine.archive import read_members
from certifia_grading.engine.model import SubmissionError
from certifia_grading.engine.scoring_process import (
    ScoringBoundExceeded,
    ScoringBounds,
    ScoringFailed,
    score_bounded,
)
from certifia_grading.engine.spec import Dataset, PackSpec, ScoreContext, Submission
from certifia_grading.engine.testing import sample_submission, zip_files

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
ENGINE = GradingEngine()
WIDE = 300_000


def wide_csv(columns: int = WIDE) -> bytes:
    """The measured case: one row, 300,000 columns, about 2 MB."""
    names = ",".join(f"c{i}" for i in range(columns))
    return f"{names}\n{','.join('1' for _ in range(columns))}\n".encode()


# -- shapes refused before parsing ------------------------------------------------------------------------
def test_a_300000_column_csv_is_refused_from_its_header_in_well_under_a_second() -> None:
    data = wide_csv()
    started = time.perf_counter()
    with pytest.raises(SubmissionError, match="300000 columns in its header, above the 1000 allowed"):
        safe_io.parse("cleaned", data, "csv")
    assert time.perf_counter() - started < 0.5  # pandas took ~9 s to parse it, the scorer 50 s more


@pytest.mark.parametrize(
    "header",
    [
        b"\n\n" + b",".join(b"c%d" % i for i in range(2000)) + b"\n",  # blank lines before the header
        b'"a\n",' + b",".join(b"c%d" % i for i in range(2000)) + b"\n",  # a newline inside a quoted name
        b'"a,b",' + b",".join(b"c%d" % i for i in range(2000)) + b"\n",
        b'a"b,' + b",".join(b"c%d" % i for i in range(2000)) + b"\n",  # a quote inside a field
        b"\xef\xbb\xbf" + b",".join(b"c%d" % i for i in range(2000)) + b"\n",  # a byte-order mark
    ],
)
def test_header_tricks_do_not_hide_columns(header: bytes) -> None:
    assert safe_io.csv_header_columns(header) >= pd.read_csv(io.BytesIO(header)).shape[1] > 1000
    with pytest.raises(SubmissionError, match="columns in its header"):
        safe_io.parse("cleaned", header, "csv")


def test_honest_tables_pass_the_header_check() -> None:
    for data in (b"a,b,c\n1,2,3\n", b'name,"x, y"\n"p, q",2\n', b"\n\na\n1\n"):
        assert safe_io.parse("t", data, "csv").equals(pd.read_csv(io.BytesIO(data)))


def _npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()  # magic string included


def test_an_npy_header_declaring_absurd_shapes_is_refused_before_loading() -> None:
    started = time.perf_counter()
    with pytest.raises(SubmissionError, match="declares 1000000000000 elements"):
        safe_io.parse("scores", _npy_header((10**6, 10**6), "<f8"), "npy")
    # zero-byte elements: numpy loads 10^10 of them from a 100-byte file (nothing to read, all to score)
    with pytest.raises(SubmissionError, match="plain numbers, booleans or strings only"):
        safe_io.parse("scores", _npy_header((10**10,), "|V0"), "npy")
    with pytest.raises(SubmissionError, match="dimensions"):
        safe_io.parse("scores", _npy_header((1,) * 20, "<f8") + b"\0" * 8, "npy")
    assert time.perf_counter() - started < 0.5
    buf = io.BytesIO()
    np.save(buf, np.arange(12.0).reshape(3, 4))
    assert safe_io.parse("scores", buf.getvalue(), "npy").shape == (3, 4)


def test_an_unparsable_output_is_named_without_the_parsers_text() -> None:
    with pytest.raises(SubmissionError) as caught:
        safe_io.parse("cleaned", b'a,b\n1,"2\n', "csv")
    assert str(caught.value) == "output 'cleaned' is not valid csv"  # no ParserError, no tokenizer text


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
        f"output 'cleaned' has {WIDE} columns in its header, above the 1000 allowed: refused"
    )
    assert not ENGINE.grade("b2_data_cleaning", honest).failed


SLOW_PACK_PY = """
import time
from certifia_grading.engine.spec import Dataset

def build(seed):
    return Dataset(inputs={"numbers": [1, 2, 3]}, hidden={})

def score(submission, dataset, ctx):
    time.sleep(120)  # as a scorer stuck on a hostile output would
    return {"exact": 1.0}
"""


@pytest.fixture(scope="module")
def slow_scorer_engine() -> Iterator[GradingEngine]:
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
    yield GradingEngine(root)
    shutil.rmtree(root, ignore_errors=True)


@needs_bwrap
def test_a_scorer_that_does_not_end_is_a_failed_grading_within_the_packs_wall_limit(
    slow_scorer_engine: GradingEngine,
) -> None:
    archive = zip_files({"solution.py": "def solve(numbers):\n    return [2 * n for n in numbers]\n"})
    started = time.monotonic()
    outcome = slow_scorer_engine.grade("slow_scorer", archive)
    assert time.monotonic() - started < 40  # the run (~1 s) and the scorer's 8 s, not 120 s
    assert outcome.failed_reason is not None
    assert outcome.failed_reason.startswith(
        "scoring stopped: scoring this submission's outputs took longer than 8 s"
    )


# -- a deadline per Ray job (RayGrader's logic; a real Ray in test_ray_executor.py) -------------------------
class TimingOutExecutor:
    def __init__(self, kind: str = "timeout") -> None:
        self.kind = kind
        self.timeouts: list[float | None] = []

    def run(self, fn: Any, *args: Any, num_gpus: float = 0, timeout: float | None = None) -> Any:
        self.timeouts.append(timeout)
        raise GradingTaskError(self.kind, "whatever Ray said")  # type: ignore[arg-type]


def test_a_ray_job_gets_a_deadline_from_its_packs_limits_and_a_timeout_is_a_failed_grading() -> None:
    executor = TimingOutExecutor()
    outcome = RayGrader(ENGINE, executor, None, True)("b2_data_cleaning", b"archive")
    assert executor.timeouts == [2 * SPEC.limits.wall_seconds + JOB_MARGIN_S]
    assert job_timeout({"wall_seconds": 5}, 10) == 20
    assert outcome.failed_reason is not None and outcome.criteria == ()
    assert outcome.failed_reason.startswith(f"grading stopped: the job ran longer than {2 * 90 + 60:g} s")
    assert "Ray" not in outcome.failed_reason


def test_a_crashed_ray_job_stays_an_infrastructure_error() -> None:
    with pytest.raises(GradingTaskError):
        RayGrader(ENGINE, TimingOutExecutor("crashed"), None, True)("b2_data_cleaning", b"archive")


def test_scoring_bounds_follow_the_packs_limits() -> None:
    limits = Limits(cpu_seconds=7, memory_mb=300, wall_seconds=9.5)
    assert ScoringBounds.of(limits) == ScoringBounds(wall_seconds=9.5, cpu_seconds=7, memory_mb=300)
    assert isinstance(SPEC, PackSpec)
