"""API throughput against a peer (issue 15, item 2): ``make bench-api``.

Three routes, each loaded by wrk (Debian's) beside a peer endpoint doing the same database work
(``bench/api_peer.py``), in the same run, on the same PostgreSQL server:

- enrolment ``POST /candidates`` (an LMS enrols; a unique external id per request);
- assessment ``POST /candidates/{id}/decisions`` (a jury validates a criterion; a unique candidate and
  criterion per request, over candidates enrolled by the first route);
- assessment ``GET /candidates/{id}/progress`` (the candidate's progress).

certifia runs as ``make run`` starts it (scripts/stack.py: Keycloak tokens, the secured Kafka broker, the
services on PostgreSQL databases of their own, created fresh: ``certifia_bench_*``); only enrolment and
assessment are started. Each route is loaded at each of ``CONNECTIONS`` for ``DURATION_S`` seconds, first the
peer, then certifia. Figures: requests/s, latency p50/p90/p99 (wrk's), non-2xx responses (a run with any is
not written), the ratio certifia/peer, and the issue's targets: at least 0.7x the peer, and p99 <= 50 ms at
the highest load (connections) at which the peer holds p99 <= 50 ms. Written to ``results/api.json``.

    make bench-api                                   # ~5 min on a quiet 2-core machine
    .venv/bin/python bench/api.py --duration 5 --connections 1,4   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))
import benchlib  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "api.json"
CONNECTIONS = (1, 4, 16)
DURATION_S = 15
P99_TARGET_MS = 50.0
RATIO_TARGET = 0.7
PG = os.environ.get("CERTIFIA_PG_URL", "postgresql://certifia:certifia@127.0.0.1:5432")
DATABASES = {"enrolment": "certifia_bench_enrolment", "assessment": "certifia_bench_assessment"}
PEER_DB = "certifia_bench_peer"


def progress(message: str) -> None:
    print(f"[bench-api] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(name: str) -> str:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG.split('://', 1)[1]}/{name}"


# -- wrk ---------------------------------------------------------------------------------------------------
LUA_ENROL = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"external_id":"bench-%s-%d-%d","given_name":"Ana","family_name":"Banc","email":"ana@example.org"}',
    RUNID, tid, counter)
  return wrk.format("POST", "/candidates", HEADERS, body)
end
"""
LUA_DECIDE = """
local candidates = CANDIDATES
local criteria = CRITERIA
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads); thread:set("nthreads", NTHREADS) end
local counter = 0
request = function()
  local i = counter * nthreads + (tid - 1) + OFFSET
  counter = counter + 1
  local cid = candidates[(i % #candidates) + 1]
  local criterion = criteria[(math.floor(i / #candidates) % #criteria) + 1]
  local body = string.format('{"criterion_id":"%s","outcome":"validated","comment":"vu au banc"}', criterion)
  return wrk.format("POST", "/candidates/" .. cid .. "/decisions", HEADERS, body)
end
"""
LUA_PROGRESS = """
local candidates = CANDIDATES
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local counter = 0
request = function()
  counter = counter + 1
  local cid = candidates[((counter * 7 + tid) % #candidates) + 1]
  return wrk.format("GET", "/candidates/" .. cid .. "/progress", HEADERS)
end
"""


def lua_table(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def lua_headers(token: str | None) -> str:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return "{" + ",".join(f"[{json.dumps(k)}]={json.dumps(v)}" for k, v in headers.items()) + "}"


_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")


def _ms(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    value, unit = float(match[1]), match[2]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """requests/s, latency percentiles (ms), requests, non-2xx and socket errors from ``wrk --latency``."""
    figures: dict[str, Any] = {"non_2xx": 0, "socket_errors": 0}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rps or not total:
        raise ValueError(f"wrk printed no summary:\n{output[-2000:]}")
    figures["requests_per_s"] = float(rps[1])
    figures["requests"] = int(total[1])
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        if match:
            figures[f"p{pct}_ms"] = round(_ms(match[1]), 2)
    if non := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        figures["non_2xx"] = int(non[1])
    if errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        figures["socket_errors"] = sum(int(g) for g in errors.groups())
    return figures


def wrk(url: str, script: str, connections: int, duration: int) -> dict[str, Any]:
    threads = min(2, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script.replace("NTHREADS", str(threads)))
    try:
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", fh.name, url],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
    finally:
        os.unlink(fh.name)
    if done.returncode != 0 or done.stderr.strip():  # a Lua error: wrk then sends plain GET / requests
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
    return parse_wrk(done.stdout)


# -- the systems -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def peer() -> Iterator[str]:
    url, port = fresh_database(PEER_DB), free_port()
    log = open(ROOT / "var" / "bench-api-peer.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "api_peer.py"), url, str(port)], stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/docs", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the peer did not start: see {log.name}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextlib.contextmanager
def certifia(web_workers: int = 1) -> Iterator[Any]:
    from stack import Stack

    urls = {service: fresh_database(name) for service, name in DATABASES.items()}
    base = ROOT / "var" / "bench-api"
    shutil.rmtree(base, ignore_errors=True)
    stack = Stack(
        state_dir=base / "stack",
        kafka_dir=base / "kafka",
        keycloak_dir=base / "keycloak",
        port_offset=300,
        database_urls=urls,
        extra_env={"LOG_LEVEL": "WARNING", "WEB_WORKERS": str(web_workers)},
    )
    try:
        stack.up(("enrolment", "assessment"))
        yield stack
    finally:
        stack.down()


def ids(database: str, table: str, where: str = "") -> list[str]:
    with psycopg.connect(f"{PG}/{database}") as conn:
        return [row[0] for row in conn.execute(f"SELECT id FROM {table} {where} ORDER BY id")]


def wait_known_to_assessment(candidates: list[str], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        known = set(ids(DATABASES["assessment"], "candidates"))
        missing = [c for c in candidates if c not in known]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"assessment never learnt of {len(missing)} candidates (over Kafka)")
        progress(f"waiting for assessment to learn of {len(missing)} candidates ...")
        time.sleep(2)


def criteria() -> list[str]:
    from certifia_shared.referential import load_referential

    referential = load_referential()  # the common blocs: an option's criteria need the option chosen
    return [c.id for code in ("1", "2", "3", "4") for c in referential.bloc(code).criteria]


# -- the run ------------------------------------------------------------------------------------------------
def measure(
    name: str, targets: dict[str, str], scripts: dict[str, str], connections: tuple[int, ...], duration: int
) -> dict[str, Any]:
    """Each of ``targets`` (system -> base URL) at each number of connections, the peer first."""
    rows: dict[str, Any] = {}
    offsets = dict.fromkeys(targets, 0)  # where each run starts in the candidate x criterion pairs
    for c in connections:
        rows[str(c)] = {}
        for system in ("peer", "certifia"):
            progress(f"{name}: {system}, {c} connection(s), {duration} s ...")
            script = scripts[system].replace("OFFSET", str(offsets[system]))
            script = script.replace("RUNID", json.dumps(uuid.uuid4().hex[:12]))  # unique external ids
            figures = wrk(targets[system], script, c, duration)
            offsets[system] += figures["requests"] + 10 * c  # what was still in flight is not counted
            if figures["non_2xx"] or figures["socket_errors"]:
                raise RuntimeError(
                    f"{name} on {system} at {c} connections: {figures} (see the services' logs)"
                )
            rows[str(c)][system] = figures
        rows[str(c)]["ratio"] = benchlib.ratio(
            rows[str(c)]["certifia"]["requests_per_s"], rows[str(c)]["peer"]["requests_per_s"]
        )
    return rows


def verdict(rows: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets: the ratio at every load, and p99 at the peer's highest load within P99_TARGET_MS."""
    held = [int(c) for c, r in rows.items() if r["peer"].get("p99_ms", 1e9) <= P99_TARGET_MS]
    at = str(max(held)) if held else None
    worst = min((r["ratio"] or 0.0) for r in rows.values())
    return {
        "worst_ratio": worst,
        "ratio_target_met": worst >= RATIO_TARGET,
        "peer_highest_load_within_p99_target": int(at) if at else None,
        "certifia_p99_ms_there": rows[at]["certifia"].get("p99_ms") if at else None,
        "p99_target_met": at is not None and rows[at]["certifia"].get("p99_ms", 1e9) <= P99_TARGET_MS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=DURATION_S)
    parser.add_argument("--connections", default=",".join(map(str, CONNECTIONS)))
    parser.add_argument(
        "--web-workers",
        type=int,
        default=1,
        help="uvicorn workers per service (WEB_WORKERS); the peer keeps one",
    )
    args = parser.parse_args(argv)
    connections = tuple(int(c) for c in args.connections.split(","))
    if shutil.which("wrk") is None:
        print(
            "wrk is missing: sudo apt-get install -y wrk (scripts/system-packages.sh bench)", file=sys.stderr
        )
        return 1
    (ROOT / "var").mkdir(exist_ok=True)
    started = time.monotonic()
    sections: dict[str, Any] = {}
    with peer() as peer_url, certifia(args.web_workers) as stack:
        lms = stack.identity.client("demo-lms")
        ours = {
            "enrolment": stack.url("enrolment"),
            "assessment": stack.url("assessment"),
        }
        enrol = LUA_ENROL
        sections["enrol"] = measure(
            "POST /candidates",
            {"peer": peer_url, "certifia": ours["enrolment"]},
            {
                "peer": enrol.replace("HEADERS", lua_headers(None)),
                "certifia": enrol.replace("HEADERS", lua_headers(lms)),
            },
            connections,
            args.duration,
        )
        ours_ids = ids(DATABASES["enrolment"], "candidates")[:400]
        peer_ids = ids(PEER_DB, "peer_candidates")[:400]
        wait_known_to_assessment(ours_ids)
        jury = stack.identity.staff("jury")
        crit = criteria()
        decide_scripts = {}
        for system, cids, token in (("peer", peer_ids, None), ("certifia", ours_ids, jury)):
            decide_scripts[system] = (
                LUA_DECIDE.replace("CANDIDATES", lua_table(cids))
                .replace("CRITERIA", lua_table(crit))
                .replace("HEADERS", lua_headers(token))
            )
        sections["decide"] = measure(
            "POST /candidates/{id}/decisions",
            {"peer": peer_url, "certifia": ours["assessment"]},
            decide_scripts,
            connections,
            args.duration,
        )
        progress_scripts = {
            system: LUA_PROGRESS.replace("CANDIDATES", lua_table(cids)).replace("HEADERS", lua_headers(token))
            for system, cids, token in (("peer", peer_ids, None), ("certifia", ours_ids, jury))
        }
        sections["progress"] = measure(
            "GET /candidates/{id}/progress",
            {"peer": peer_url, "certifia": ours["assessment"]},
            progress_scripts,
            connections,
            args.duration,
        )
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": benchlib.machine(),
        "configuration": {
            "tool": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0:1],
            "duration_s": args.duration,
            "connections": list(connections),
            "wrk_threads": "min(2, connections)",
            "certifia": "scripts/stack.py (make run's), enrolment and assessment only, PostgreSQL, Kafka mTLS, "
            f"Keycloak tokens, {args.web_workers} uvicorn worker(s) each (WEB_WORKERS)",
            "peer": "bench/api_peer.py: FastAPI + SQLAlchemy Core + psycopg, one uvicorn worker, same writes, "
            "no token or contract checks",
            "order": "per route and load: the peer, then certifia",
        },
        "routes": {name: {"loads": rows, "targets": verdict(rows)} for name, rows in sections.items()},
        "run_wall_s": round(time.monotonic() - started, 1),
    }
    written = RESULTS if args.web_workers == 1 else RESULTS.with_name(f"api-{args.web_workers}-workers.json")
    written.write_text(json.dumps(results, indent=2) + "\n")
    rows = []
    for name, data in results["routes"].items():
        for c, r in data["loads"].items():
            rows.append(
                (
                    name,
                    f"{c} conn",
                    f"{r['certifia']['requests_per_s']:.0f} / {r['peer']['requests_per_s']:.0f} "
                    f"({r['ratio']}x), p99 {r['certifia'].get('p99_ms')} / {r['peer'].get('p99_ms')}",
                )
            )
    print(benchlib.table(rows))
    progress(f"written to {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
