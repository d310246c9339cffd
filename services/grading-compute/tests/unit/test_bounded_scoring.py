"""Scoring hostile outputs is bounded: absurd shapes are refused from their headers before parsing, the
pack's scorer runs in a child process with wall-clock, CPU and memory bounds, and a Ray job has a
deadline. Each bound exceeded is a failed grading with a generic reason (no exception text, no path).

Here, what runs in this process (no sandbox, no child process); tests/integration/test_bounded_scoring.py has the rest.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from certifia_grading.adapters.ray_executor import GradingTaskError
from certifia_grading.adapters.runner import JOB_MARGIN_S, RayGrader, job_timeout
from certifia_grading.adapters.sandbox import BwrapSandbox, Limits
from certifia_grading.domain import Grader, execution, safe_io
from certifia_grading.domain import spec as spec_module
from certifia_grading.domain.model import PackError, SubmissionError
from certifia_grading.domain.scoring_process import (
    ScoringBounds,
)
from certifia_grading.domain.spec import PackSpec

ENGINE = Grader(sandbox=BwrapSandbox())
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


# -- a pack's own, tighter caps ----------------------------------------------------------------------------
def _frames(files: dict[str, bytes]) -> bytes:
    """What the harness hands back (domain/harness.py's framing)."""
    out = bytearray(execution.MAGIC)
    for name, data in files.items():
        raw = name.encode()
        out += len(raw).to_bytes(4, "big") + raw + len(data).to_bytes(8, "big") + data
    return bytes(out)


def _honest_outputs(spec: PackSpec, **replace: bytes) -> dict[str, bytes]:
    files = {}
    for item in spec.interface.outputs:
        buf = io.BytesIO()
        np.save(buf, np.zeros((400, 4)))
        files[f"{item.name}.{item.format}"] = b"a,b\n1,2\n" if item.format == "csv" else buf.getvalue()
    return {**files, **replace}


def test_a_pack_refuses_shapes_far_beyond_its_honest_outputs_under_the_graders_caps() -> None:
    """200 columns or a million elements pass the grader's caps (1,000 and 20 million) but are nowhere near
    an honest b2_data_cleaning output (7 columns, at most 2,000 elements): the pack's caps refuse them."""
    spec = ENGINE.spec("b2_data_cleaning")
    wide = wide_csv(200)
    with pytest.raises(SubmissionError, match="200 columns in its header, above the 64 allowed"):
        execution.collect_outputs(spec, _frames(_honest_outputs(spec, **{"cleaned.csv": wide})))
    big = io.BytesIO()
    np.save(big, np.zeros(1_000_000, dtype=np.int8))
    with pytest.raises(SubmissionError, match="declares 1000000 elements, above the 100000 allowed"):
        execution.collect_outputs(spec, _frames(_honest_outputs(spec, **{"outliers.npy": big.getvalue()})))
    assert set(execution.collect_outputs(spec, _frames(_honest_outputs(spec)))) == {
        item.name for item in spec.interface.outputs
    }


def test_every_python_pack_bounds_each_table_and_array_it_reads() -> None:
    for info in ENGINE.list_packs():
        for item in ENGINE.spec(info.id).interface.outputs:
            bound = {"csv": item.max_columns, "npy": item.max_elements}.get(item.format, 1)
            assert bound, f"{info.id}: output {item.name} ({item.format}) has no cap of its own"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "t", "format": "csv", "max_columns": 5000},
            r"max_columns must be an integer in \[1, 1000\]",
        ),
        ({"name": "t", "format": "npy", "max_elements": 0}, "max_elements must be an integer"),
        ({"name": "t", "format": "npy", "max_elements": True}, "max_elements must be an integer"),
        ({"name": "t", "format": "npy", "max_columns": 8}, "max_columns is for csv outputs"),
        ({"name": "t", "format": "csv", "max_rows": 8}, r"unknown keys \['max_rows'\]"),
    ],
)
def test_a_pack_can_only_tighten_the_graders_caps(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(PackError, match=message):
        spec_module._files([entry], "a pack's outputs")


def test_an_unparsable_output_is_named_without_the_parsers_text() -> None:
    with pytest.raises(SubmissionError) as caught:
        safe_io.parse("cleaned", b'a,b\n1,"2\n', "csv")
    assert str(caught.value) == "output 'cleaned' is not valid csv"  # no ParserError, no tokenizer text


# -- the scorer in a bounded process ----------------------------------------------------------------------
SPEC = ENGINE.spec("b2_data_cleaning")


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
