"""bench/api.py reads wrk's report and judges the issue's targets (issue 15, item 2): the parts that need no
load, here; the load itself is `make bench-api`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_api", ROOT / "bench" / "api.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api = _module()

WRK = """Running 15s test @ http://127.0.0.1:8301
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   285.02ms  101.23ms   1.02s    71.31%
    Req/Sec    28.51     12.13    70.00     67.12%
  Latency Distribution
     50%  270.11ms
     75%  330.40ms
     90%  410.00ms
     99%    1.01s
  853 requests in 15.04s, 512.33KB read
  Non-2xx or 3xx responses: 3
Requests/sec:     56.72
Transfer/sec:     34.07KB
"""


def test_wrk_report_is_read_with_its_units() -> None:
    figures = api.parse_wrk(WRK)
    assert figures == {
        "requests_per_s": 56.72,
        "requests": 853,
        "p50_ms": 270.11,
        "p90_ms": 410.0,
        "p99_ms": 1010.0,
        "non_2xx": 3,
        "socket_errors": 0,
    }
    assert api.parse_wrk(WRK.replace("     99%    1.01s", "     99%  830.00us"))["p99_ms"] == 0.83


def test_a_report_without_a_summary_is_refused() -> None:
    with pytest.raises(ValueError, match="no summary"):
        api.parse_wrk("unable to connect to 127.0.0.1:8301 Connection refused")


def test_targets_are_judged_at_the_peers_highest_load_within_50_ms() -> None:
    rows = {
        "1": {"peer": {"p99_ms": 9.0}, "certifia": {"p99_ms": 40.0}, "ratio": 0.8},
        "4": {"peer": {"p99_ms": 31.0}, "certifia": {"p99_ms": 120.0}, "ratio": 0.5},
        "16": {"peer": {"p99_ms": 155.0}, "certifia": {"p99_ms": 586.0}, "ratio": 0.15},
    }
    judged = api.verdict(rows)
    assert judged["peer_highest_load_within_p99_target"] == 4
    assert judged["certifia_p99_ms_there"] == 120.0 and judged["p99_target_met"] is False
    assert judged["worst_ratio"] == 0.15 and judged["ratio_target_met"] is False
    fine = {c: {**r, "certifia": {"p99_ms": 20.0}, "ratio": 0.9} for c, r in rows.items()}
    assert api.verdict(fine)["p99_target_met"] is True and api.verdict(fine)["ratio_target_met"] is True
