"""``make test-compose``: the whole compose stack on this machine's Docker engine, checked as an ops team
would: build, start, walk the demo candidate to a verified diploma through the published ports, find the
trace of defence -> diploma -> webhook in Jaeger, restart the stack and find the diploma kept, tear down.

Runs under its own compose project name (``certifia-check``), so a stack someone started with
``docker compose up`` is left alone. Every stage prints its time. KEEP=1 leaves the stack running.
Images: ``scripts/images.sh build`` makes the local stand-ins of the upstream ones that are missing.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from stack import SERVICES  # noqa: E402

COMPOSE_DIR = ROOT / "deploy" / "compose"
PROJECT = os.environ.get("COMPOSE_CHECK_PROJECT", "certifia-check")
STATE = ROOT / "var" / "compose-check"
ISSUER = "http://localhost:8080/realms/certifia"  # the compose file's OIDC_ISSUER
JAEGER = "http://127.0.0.1:16686"
SPAN_METRICS = "http://127.0.0.1:8889"  # the collector's Prometheus exporter (deploy/compose/jaeger.yaml)


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    say(f"== {name}")
    t0 = time.monotonic()
    yield
    timings[name] = round(time.monotonic() - t0, 1)
    say(f"   {name}: {timings[name]} s")


@dataclass
class ComposeStack:
    """What the demo needs of a stack (scripts/stack.py's face), for the compose one."""

    state_dir: Path = STATE
    env: dict[str, str] = field(default_factory=dict)
    _identity: Any = None

    def compose(
        self, *args: str, check: bool = True, capture: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "compose", "-p", PROJECT, *args],
            cwd=COMPOSE_DIR,
            env={**os.environ, **self.env},
            check=check,
            text=True,
            capture_output=capture,
        )

    def url(self, service: str) -> str:
        port = next(s.port for s in SERVICES if s.name == service)
        return f"http://127.0.0.1:{port}"

    @property
    def identity(self) -> Any:
        if self._identity is None:
            from identity import DevRealm

            self._identity = DevRealm(ISSUER, self.state_dir / "admin-password")
        return self._identity

    def gateway(self) -> str:
        """The host's address on the project's bridge network: the services reach the host only there."""
        out = subprocess.run(
            [
                "docker",
                "network",
                "inspect",
                f"{PROJECT}_default",
                "-f",
                "{{(index .IPAM.Config 0).Gateway}}",
            ],
            check=True,
            text=True,
            capture_output=True,
        ).stdout.strip()
        if not out:
            raise RuntimeError(f"network {PROJECT}_default has no gateway address")
        return out

    def webhook_receiver(self, path: str) -> Any:
        from certifia_shared.testing import WebhookReceiver

        return WebhookReceiver(path, host=self.gateway())

    def wait_ready(self, timeout: float = 900.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {s.name for s in SERVICES}
        last: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                try:
                    r = httpx.get(self.url(name) + "/readyz", timeout=3)
                    if r.status_code == 200:
                        pending.discard(name)
                        say(f"   {name} ready")
                        continue
                    last[name] = f"{r.status_code} {r.text[:200]}"
                except httpx.HTTPError as exc:
                    last[name] = type(exc).__name__
            if pending:
                time.sleep(3)
        if pending:
            self.compose("ps", "-a", check=False)
            raise RuntimeError(
                "not ready after {:.0f} s: {}; logs: docker compose -p {} logs {}".format(
                    timeout,
                    ", ".join(f"{n} ({last.get(n, '?')})" for n in sorted(pending)),
                    PROJECT,
                    " ".join(sorted(pending)),
                )
            )


def ensure_engine_and_images() -> None:
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        subprocess.run([str(ROOT / "scripts" / "docker.sh"), "ensure"], check=True)
    subprocess.run([str(ROOT / "scripts" / "images.sh"), "build"], check=True)


def journey_trace(since_us: int, timeout: float = 90.0) -> dict[str, Any]:
    """A Jaeger trace, begun after ``since_us``, that holds the defence (thesis), the diploma
    (certification) and the LMS webhook sent for it (enrolment's "webhook send"), through the query API."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        r = httpx.get(f"{JAEGER}/api/traces", params={"service": "thesis", "limit": 500, "lookback": "1h"})
        r.raise_for_status()
        traces = [
            t for t in r.json().get("data") or [] if min(s["startTime"] for s in t["spans"]) >= since_us
        ]
        seen = len(traces)
        for trace in traces:
            services = {p["serviceName"] for p in trace["processes"].values()}
            names = {s["operationName"] for s in trace["spans"]}
            if {"thesis", "certification", "enrolment"} <= services and "webhook send" in names:
                return trace
        time.sleep(3)
    raise RuntimeError(
        f"none of the {seen} thesis traces in Jaeger since the demo began spans certification and enrolment's "
        f"webhook send: look at {JAEGER}/search?service=thesis"
    )


def candidate_traces(candidate_id: str, timeout: float = 90.0) -> tuple[int, set[str]]:
    """What an operator finds in Jaeger of one candidate: the traces tagged with them, per service (the
    README's query), and their journey's trace (its id is the candidate's). Returns (traces, services)."""
    tags = json.dumps({"certifia.candidate_id": candidate_id})
    journey = candidate_id.replace("-", "")
    names = {spec.name for spec in SERVICES}
    deadline, found, services, linked = time.monotonic() + timeout, 0, set[str](), False
    while time.monotonic() < deadline:
        services, ids = set(), set()
        for service in sorted(names):
            r = httpx.get(
                f"{JAEGER}/api/traces",
                params={"service": service, "tags": tags, "limit": 1000, "lookback": "1h"},
            )
            r.raise_for_status()
            for t in r.json().get("data") or []:
                ids.add(t["traceID"])
                services |= {p["serviceName"] for p in t["processes"].values()}
        found = len(ids)
        root = httpx.get(f"{JAEGER}/api/traces/{journey}")
        linked = root.status_code == 200 and any(
            s["operationName"] == "candidate journey"
            for t in root.json().get("data") or []
            for s in t["spans"]
        )
        if services >= names and linked and found > 20:
            return found, services
        time.sleep(3)
    raise RuntimeError(
        f"Jaeger holds {found} traces tagged certifia.candidate_id={candidate_id}, from {sorted(services)}, "
        f"and its journey trace {journey} is {'there' if linked else 'missing'}: look at {JAEGER}/trace/{journey}"
    )


def _per_label(text: str, metric: str, label: str) -> dict[str, float]:
    """The sum of ``metric``'s samples per value of ``label``, from Prometheus text."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(metric + "{") and f'{label}="' in line:
            labels, _, value = line.rpartition(" ")
            key = labels.split(f'{label}="', 1)[1].split('"', 1)[0]
            totals[key] = totals.get(key, 0.0) + float(value)
    return totals


def collector_metrics(timeout: float = 90.0) -> tuple[dict[str, float], dict[str, float]]:
    """From the collector (Prometheus text on 8889), for all five services: the calls its span metrics
    counted, and the HTTP requests the service itself counted and pushed over OTLP (its /metrics)."""
    names = {spec.name for spec in SERVICES}
    deadline = time.monotonic() + timeout
    calls: dict[str, float] = {}
    requests: dict[str, float] = {}
    while time.monotonic() < deadline:
        text = httpx.get(f"{SPAN_METRICS}/metrics", timeout=10).text
        calls = _per_label(text, "traces_span_metrics_calls_total", "service_name")
        requests = _per_label(text, "certifia_http_requests_total", "job")
        counted = {service for service, count in calls.items() if count > 0}  # a new series reads 0 first
        if names <= counted and names <= requests.keys():
            return calls, requests
        time.sleep(3)
    raise RuntimeError(
        f"the collector's metrics ({SPAN_METRICS}/metrics) count spans of {sorted(calls)} and hold the "
        f"services' own metrics of {sorted(requests)}, not of all {sorted(names)}"
    )


def main() -> int:
    timings: dict[str, float] = {}
    STATE.mkdir(parents=True, exist_ok=True)
    admin_password = secrets.token_urlsafe(24)
    (STATE / "admin-password").write_text(admin_password)
    (STATE / "admin-password").chmod(0o600)
    stack = ComposeStack(
        env={
            "KEYCLOAK_ADMIN_PASSWORD": admin_password,
            "GRADING_SECRET": secrets.token_urlsafe(32),
            # the demo's LMS endpoint listens on the bridge gateway, over http: allowed for this check only
            "WEBHOOK_ALLOW_HTTP": "true",
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            # the demo defends the thesis the minute it is deposited (as `make run` does)
            "DEFENCE_READING_DAYS": "0",
        }
    )
    ok = False
    try:
        with stage("engine and images (stand-ins built when missing)", timings):
            ensure_engine_and_images()
        with stage("build the service images", timings):
            stack.compose("build", "--quiet")
        with stage("start the stack", timings):
            stack.compose("down", "-v", "--remove-orphans", check=False, capture=True)
            stack.compose("up", "-d", "--quiet-pull")
            stack.wait_ready()
        from demo import Demo

        since_us = int(time.time() * 1_000_000)
        with stage("demo candidate to a verified diploma (published ports)", timings):
            # every demo pack graded inside compose: its sandbox runs in the Ray head's container
            result = Demo(stack, strict_grading=True).run()  # type: ignore[arg-type]
        diploma_id = str(result["diploma_id"])
        with stage("trace defence -> diploma -> webhook in Jaeger", timings):
            trace = journey_trace(since_us)
            say(
                f"   trace {trace['traceID']}: {len(trace['spans'])} spans, "
                f"{sorted({p['serviceName'] for p in trace['processes'].values()})}"
            )
        with stage("the candidate's journey in Jaeger: every trace tagged, the journey trace", timings):
            count, services = candidate_traces(str(result["candidate_id"]))
            say(f"   {count} traces tagged with the candidate, from {sorted(services)}")
        with stage("service metrics in the collector (span metrics, the services' own)", timings):
            calls, requests = collector_metrics()
            say("   spans counted: " + ", ".join(f"{k} {v:g}" for k, v in sorted(calls.items())))
            say(
                "   HTTP requests the services counted: "
                + ", ".join(f"{k} {v:g}" for k, v in sorted(requests.items()))
            )
        with stage("down and up again: the diploma is kept (volumes)", timings):
            stack.compose("down")
            stack.compose("up", "-d")
            stack.wait_ready()
            # the public verification an employer uses: the diploma, its signing key and its status kept
            r = httpx.get(f"{stack.url('certification')}/diplomas/{diploma_id}/verification", timeout=30)
            if r.status_code != 200 or r.json().get("valid") is not True:
                raise RuntimeError(f"diploma {diploma_id} after down/up: {r.status_code} {r.text[:300]}")
            say(f"   diploma {diploma_id} still verifies after down/up")
        ok = True
    finally:
        if os.environ.get("KEEP") != "1":
            if not ok:
                stack.compose("ps", "-a", check=False)
                stack.compose("logs", "--tail", "40", check=False)
            with stage("tear down", timings):
                stack.compose("down", "-v", "--remove-orphans", check=False, capture=True)
        (STATE / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
        say(f"timings: {json.dumps(timings)}")
    say("compose check passed" if ok else "compose check FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
