"""A cohort, not a candidate (issue 15, item 1): ``make bench-cohort`` (N=500), ``make test-cohort`` (N=50).

N candidates walk the whole lifecycle at once, through REST only, as the people and systems around
certifia would: three LMSs (demo-lms, lms-other, lms-nord) enrol them and subscribe to their webhooks; each
candidate chooses an option (5A or 5B in turn) with their own account; a share of them hand in a graded
submission (b2_data_cleaning's reference, code run in the sandbox) whose verdicts a jury member
confirms (and then validates what automated grading rejected, if anything); the jury validates every other criterion of blocs 1-4 and the option; an officer registers the
company mission, the candidate deposits the thesis, an officer schedules the defence, the jury records it
passed; the candidate waits for the diploma and anyone can verify it.

The stack is ``make run``'s (scripts/stack.py: Keycloak, the secured Kafka broker, the five services; grading in
grading-compute's process unless ``USE_RAY=true USE_TRITON=true``, as make run has them), on PostgreSQL databases of its own created fresh (``certifia_cohort_*``), under
``var/bench-cohort``, on ports 8201-8205. ``--instances 2`` runs two instances of enrolment, assessment, thesis
and certification (ports 8211-8215 for the second) on the same databases and consumer groups; the clients
spread their requests over both, as a load balancer would. Meanwhile, on a schedule (unless ``--no-faults``):

- every service is killed (SIGKILL, its whole process group; the first instance) and started again, once each;
- the Kafka broker is restarted (``scripts/kafka.sh bounce``: same port and key material);
- the PostgreSQL server is restarted (``scripts/postgres.sh restart``, fast: every connection cut);
- every LMS webhook receiver answers 503 to 30% of the POSTs it gets (drawn per POST, seeded).

A fault comes ``--fault-gap`` seconds after the last one recovered, or sooner once fewer than a quarter of the
walkers are still walking. A few candidates start with each fault and the last tenth once every fault is done
(``cohort_checks.reserve``), so every fault and the recovery after the last one come under load whatever the
machine's pace.

Clients retry what a real client would retry: a refused or cut connection, 502/503/504 (every write used is
idempotent: the same request again answers what was recorded). Any other status stops the candidate.

At the end the invariants are checked from each service's API and from an independent read of the Kafka
topics (bench/cohort_checks.py): exactly N diplomas and 5N bloc certificates, no decision lost or duplicated,
every webhook delivered exactly once per subscription (receiver-side, by webhook id, signatures verified),
the dead-letter topics empty, no 500 answered. Figures: lifecycle time per candidate, decision -> bloc.passed
and defence -> diploma.issued p50/p95/p99, consumer lag peaks, recovery after each fault; written to
``bench/results/cohort.json`` with a plot (``cohort.png``) of throughput and lag over time, the faults marked.
A run whose invariants fail writes ``var/bench-cohort/failed.json`` instead and exits 1.

    make bench-cohort                     # N=500 on a 2-core machine (bench/README.md gives the time)
    make bench-cohort N=50                # a quick look
    make bench-cohort INSTANCES=2         # scale-out: results in bench/results/cohort-2-instances.{json,png}
    make test-cohort                      # N=50 with faults, results under var/ (what make test runs)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))
import benchlib  # noqa: E402
import cohort_checks as checks  # noqa: E402
from demo import defence_schedule  # noqa: E402

BASE = ROOT / "var" / "bench-cohort"
RESULTS = ROOT / "bench" / "results" / "cohort.json"
PLOT = ROOT / "bench" / "results" / "cohort.png"
PG = os.environ.get("CERTIFIA_PG_URL", "postgresql://certifia:certifia@127.0.0.1:5432")
TENANTS = ("demo-lms", "lms-other", "lms-nord")
MILESTONES = ["bloc.passed", "bloc_certificate.issued", "thesis.defended", "diploma.issued"]
GRADED_PACK = "b2_data_cleaning"
WEBHOOK_FAILURE_RATE = 0.3
# the senders' retry schedule for this run: 15 retries within ~6 min, so that a 30% failure rate (0.3^16 a
# delivery to fail them all) does not leave the bench waiting the default ~36 h schedule
WEBHOOK_RETRY_SECONDS = [1, 2, 4, 8, 15, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30]
RETRY_WINDOW_S = 300.0  # how long a client keeps retrying one request through a fault
TRANSIENT_STATUSES = {502, 503, 504}
FAULTS = (
    ("kill", "enrolment"),
    ("kafka", "broker"),
    ("kill", "assessment"),
    ("postgres", "server"),
    ("kill", "certification"),
    ("kill", "thesis"),
    ("kill", "grading-compute"),
)


def say(message: str) -> None:
    print(f"[bench-cohort] {message}", file=sys.stderr, flush=True)


def fresh_database(name: str) -> str:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG.split('://', 1)[1]}/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the LMS's webhook receivers ------------------------------------------------------------------------------
class FlakyReceiver:
    """An LMS webhook endpoint on 127.0.0.1 that answers 503 to ``failure_rate`` of the POSTs it gets (drawn
    per POST from a seeded generator) and 204 to the others; it records every POST with what it answered and
    whether its signature verified when it arrived (Standard Webhooks' reference implementation, which also
    refuses a timestamp more than 5 minutes old: checked at the end of a long run, early ones would fail)."""

    def __init__(self, name: str, failure_rate: float, seed: int) -> None:
        self.name = name
        self.secret = ""  # the subscription's, once it is made (nothing is delivered before)
        self.posts: list[tuple[dict[str, str], bytes, int, bool]] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = receiver.verified(headers, body)
                with receiver._lock:
                    status = 503 if receiver._random.random() < failure_rate else 204
                    receiver.posts.append((headers, body, status, valid))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/{name}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, headers: dict[str, str], body: bytes) -> bool:
        from standardwebhooks import Webhook
        from standardwebhooks.webhooks import WebhookVerificationError

        if not self.secret:
            return False
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    def deliveries(self) -> list[checks.Delivery]:
        with self._lock:
            posts = list(self.posts)
        out = []
        for headers, body, status, valid in posts:
            message = json.loads(body)
            out.append(
                checks.Delivery(
                    webhook_id=headers.get("webhook-id", ""),
                    status=status,
                    event_id=str(message.get("event_id")),
                    candidate_id=str((message.get("candidate") or {}).get("id")),
                    name=str(message.get("type")),
                    signature_valid=valid,
                )
            )
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Subscription:
    lms: str
    events: list[str]
    receiver: FlakyReceiver
    id: str = ""
    secret: str = ""


# -- the clients ------------------------------------------------------------------------------------------------
class Stopped(Exception):
    """The run is being abandoned (another candidate failed hard): walkers stop where they are."""


@dataclass
class Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    retries: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    decisions: int = 0
    enrolled: int = 0
    diplomas: int = 0
    walking: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


class Client:
    """REST calls with the retries a real client makes through a restart: refused or cut connections and
    502/503/504 again after a short wait, for up to RETRY_WINDOW_S; anything unexpected raises."""

    def __init__(self, stack: Any, counters: Counters, stop: threading.Event) -> None:
        self.stack = stack
        self.counters = counters
        self.stop = stop
        self.http = httpx.Client(
            timeout=60, limits=httpx.Limits(max_connections=128, max_keepalive_connections=64)
        )

    def headers(self, who: str, candidate_id: str | None = None) -> dict[str, str]:
        identity = self.stack.identity
        token = self.retrying(
            lambda: (
                identity.client(who)
                if who in TENANTS
                else identity.candidate(candidate_id)
                if who == "candidate"
                else identity.staff(who)
            )
        )
        return {"Authorization": f"Bearer {token}"}

    def retrying(self, fn: Callable[[], Any]) -> Any:
        """Keycloak is not one of the faults, but it is busy: its answers are retried like the services'."""
        deadline = time.monotonic() + RETRY_WINDOW_S
        for attempt in range(1000):
            try:
                return fn()
            except (httpx.TransportError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(min(0.25 * 2**attempt, 3.0))
        raise AssertionError("unreachable")

    def call(
        self,
        method: str,
        service: str,
        path: str,
        who: str | None,
        *,
        candidate_id: str | None = None,
        expect: tuple[int, ...] = (200, 201),
        extra_headers: dict[str, str] | None = None,
        json_each_try: Callable[[], Any] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """One request, retried on transient answers; ``json_each_try`` builds the body afresh per try."""
        deadline = time.monotonic() + RETRY_WINDOW_S
        attempt = 0
        while True:
            if self.stop.is_set():
                raise Stopped()
            headers = {**(self.headers(who, candidate_id) if who else {}), **(extra_headers or {})}
            # a load balancer's choice among the service's instances (one, unless scaled out); a retry
            # after a refused connection may land on the other one
            url = self.stack.url(service, random.choice(self.stack.instances_of(service))) + path
            attempt += 1
            self.counters.add(requests=1)
            if json_each_try is not None:
                kw["json"] = json_each_try()
            try:
                response = self.http.request(method, url, headers=headers, **kw)
            except httpx.TransportError as exc:
                with self.counters.lock:
                    self.counters.transport_errors[type(exc).__name__] += 1
                problem = f"{type(exc).__name__}"
            else:
                with self.counters.lock:
                    self.counters.statuses[str(response.status_code)] += 1
                if response.status_code in expect:
                    return response
                if response.status_code not in TRANSIENT_STATUSES:
                    raise RuntimeError(
                        f"{method} {service}{path} -> {response.status_code}: {response.text[:500]}"
                    )
                problem = str(response.status_code)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {service}{path}: still {problem} after {RETRY_WINDOW_S:.0f}s")
            self.counters.add(retries=1)
            time.sleep(min(0.2 * 2 ** min(attempt, 4), 3.0))

    def json(self, *args: Any, **kw: Any) -> Any:
        response = self.call(*args, **kw)
        return response.json() if response.content else None

    def wait(self, what: str, probe: Callable[[], Any], timeout: float = 600.0, every: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stop.is_set():
                raise Stopped()
            value = probe()
            if value:
                return value
            time.sleep(every)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


# -- one candidate ----------------------------------------------------------------------------------------------
@dataclass
class Walk:
    index: int
    lms: str
    option: str
    graded: bool
    candidate_id: str = ""
    started: float = 0.0  # epoch seconds
    finished: float = 0.0
    diploma_id: str = ""
    last_decision_ms: dict[str, float] = field(
        default_factory=dict
    )  # bloc -> REST answer of its last decision
    defence_ms: float = 0.0
    criteria: set[str] = field(default_factory=set)
    rejected_first: set[str] = field(default_factory=set)  # automated rejections confirmed, then overridden
    automated: int = 0
    error: str = ""


class Cohort:
    def __init__(self, stack: Any, args: argparse.Namespace, run_id: str) -> None:
        from certifia_shared.referential import load_referential

        self.stack = stack
        self.args = args
        self.run_id = run_id
        self.counters = Counters()
        self.stop = threading.Event()
        self.faults_done = threading.Event()
        # a few candidates start with each fault, the last ones once every fault is done (checks.reserve)
        self.releases = [threading.Event() for _ in FAULTS] + [self.faults_done]
        self.reserve = checks.reserve(args.candidates, args.walkers, len(FAULTS)) if args.faults else {}
        self.client = Client(stack, self.counters, self.stop)
        self.referential = load_referential()
        self.archive = b""
        self.pdf = b""
        self.evaluation_id = ""

    def prepare(self) -> None:
        from demo import reference_archive, thesis_pdf

        self.pdf = thesis_pdf("Cohorte Banc")
        if self.args.graded_share > 0:
            self.archive = reference_archive(GRADED_PACK)
            packs = self.client.json("GET", "grading-compute", "/packs", "jury")
            self.evaluation_id = next(p["evaluation_id"] for p in packs if p["id"] == GRADED_PACK)

    def walk(self, w: Walk) -> Walk:
        gate = self.reserve.get(w.index)
        if gate is not None:
            self.releases[gate].wait()  # under load at every fault and after the last, whatever the pace
        self.counters.add(walking=1)
        try:
            self._walk(w)
        except Stopped:
            w.error = "stopped"
        except Exception as exc:  # recorded, and the run stops: the invariants would fail
            w.error = f"{type(exc).__name__}: {exc}"
            with self.counters.lock:
                self.counters.failures.append(f"candidate {w.index} ({w.candidate_id}): {w.error}")
            say(f"candidate {w.index} failed: {w.error}\n{traceback.format_exc(limit=3)}")
            self.stop.set()
        finally:
            self.counters.add(walking=-1)
        return w

    def _walk(self, w: Walk) -> None:
        c = self.client
        w.started = time.time()
        external_id = f"cohort-{self.run_id}-{w.index:05d}"
        candidate = c.json(
            "POST",
            "enrolment",
            "/candidates",
            w.lms,
            json={
                "external_id": external_id,
                "given_name": "Camille",
                "family_name": f"Banc {w.index}",
                "email": f"{external_id}@example.org",
                "cohort": f"bench-{self.run_id}",
            },
        )
        cid = w.candidate_id = candidate["id"]
        self.counters.add(enrolled=1)
        me: dict[str, Any] = {"candidate_id": cid}
        c.call("PUT", "enrolment", f"/candidates/{cid}/option", "candidate", json={"option": w.option}, **me)
        c.wait(
            "assessment to learn of the candidate (candidate.enrolled over Kafka)",
            lambda: (
                c.call(
                    "GET", "assessment", f"/candidates/{cid}/progress", "jury", expect=(200, 404)
                ).status_code
                == 200
            ),
        )
        validated: set[str] = set()
        if w.graded:
            validated = self._graded(w, cid)
        blocs = ["1", "2", "3", "4", w.option]
        for code in blocs:
            criteria = [cr.id for cr in self.referential.bloc(code).criteria]
            w.criteria.update(criteria)
            for criterion in criteria:
                if criterion in validated:
                    continue
                c.call(
                    "POST",
                    "assessment",
                    f"/candidates/{cid}/decisions",
                    "jury",
                    json={"criterion_id": criterion, "outcome": "validated", "comment": "banc de cohorte"},
                )
                self.counters.add(decisions=1)
            w.last_decision_ms[code] = time.time() * 1000
        c.wait(
            "certification to see the five blocs passed",
            lambda: set(blocs) <= set(self._progress(cid).get("blocs_passed", [])),
        )
        c.wait(  # as for assessment: thesis may still be applying its backlog (just restarted, a fault)
            "thesis to learn of the candidate (candidate.enrolled over Kafka)",
            lambda: (
                c.call("GET", "thesis", f"/candidates/{cid}/thesis", "officer", expect=(200, 404)).status_code
                == 200
            ),
        )
        mission = c.json(
            "POST",
            "thesis",
            f"/candidates/{cid}/missions",
            "officer",
            json={"company": "Acme IA", "start_date": "2026-01-05", "end_date": "2026-06-30", "fte": 1.0},
        )
        c.call(
            "POST",
            "thesis",
            f"/candidates/{cid}/thesis/deposit",
            "candidate",
            data={
                "title": "Compression de modèles pour l'inférence embarquée",
                "abstract": "Mission chez Acme IA : quantification et distillation d'un modèle de vision.",
                "mission_id": mission["id"],
            },
            files={"file": ("these.pdf", self.pdf, "application/pdf")},
            **me,
        )
        # the time is chosen again on each try: a retry after a fault may come after the first choice
        scheduled: list[datetime] = []

        def schedule() -> dict[str, Any]:
            scheduled.append(datetime.now(UTC) + timedelta(seconds=2))
            return defence_schedule(scheduled[-1])

        c.call("POST", "thesis", f"/candidates/{cid}/defence/schedule", "officer", json_each_try=schedule)
        time.sleep(max(0.0, (scheduled[-1] - datetime.now(UTC)).total_seconds()) + 0.1)
        c.call(
            "POST",
            "thesis",
            f"/candidates/{cid}/defence",
            "jury",
            json={"outcome": "passed", "grade": 15.0},
        )
        w.defence_ms = time.time() * 1000
        diploma = c.wait(
            "the diploma",
            lambda: (
                (
                    r := c.call(
                        "GET",
                        "certification",
                        f"/candidates/{cid}/diploma",
                        "candidate",
                        expect=(200, 404),
                        **me,
                    )
                )
                and r.status_code == 200
                and r.json()
            ),
        )
        w.diploma_id = diploma["diploma_id"]
        verification = c.json("GET", "certification", f"/diplomas/{w.diploma_id}/verification", None)
        if verification.get("valid") is not True:
            raise RuntimeError(f"diploma {w.diploma_id} does not verify: {verification}")
        w.finished = time.time()
        self.counters.add(diplomas=1)

    def _progress(self, cid: str) -> dict[str, Any]:
        r = self.client.call(
            "GET",
            "certification",
            f"/candidates/{cid}/progress",
            "candidate",
            candidate_id=cid,
            expect=(200, 404),
        )
        return r.json() if r.status_code == 200 else {}

    def _graded(self, w: Walk, cid: str) -> set[str]:
        """The candidate hands in the pack's reference; a jury member confirms what the policy puts under
        review. Returns the criteria validated by it."""
        c = self.client
        me: dict[str, Any] = {"candidate_id": cid}
        submission = c.json(  # the Idempotency-Key: a cut upload sent again is the same submission
            "POST",
            "assessment",
            f"/candidates/{cid}/submissions",
            "candidate",
            data={"evaluation_id": self.evaluation_id, "pack_id": GRADED_PACK},
            files={"file": ("submission.zip", self.archive, "application/zip")},
            extra_headers={"Idempotency-Key": f"cohort-{self.run_id}-{w.index}"},
            **me,
        )
        done = c.wait(
            f"the verdict on {GRADED_PACK}",
            lambda: (
                (s := c.json("GET", "assessment", f"/submissions/{submission['id']}", "candidate", **me))[
                    "status"
                ]
                in {"graded", "failed"}
                and s
            ),
            every=2.0,
        )
        if done["status"] != "graded":
            raise RuntimeError(f"grading failed: {done.get('failure_reason')}")
        validated = {x["criterion_id"] for x in done["report"]["criteria"] if x["verdict"] == "validated"}
        # The reference solution is not validated on every hidden dataset (measured: b2_data_cleaning's
        # imputation_nrmse 0.64 > 0.5 for 2 grading secrets in 12): the jury confirms what was graded, then
        # validates the criterion on its own reading, a second decision in force (as a deliberation may).
        w.rejected_first = {
            x["criterion_id"] for x in done["report"]["criteria"] if x["verdict"] == "rejected"
        }
        pending = c.json("GET", "assessment", f"/proposals?candidate_id={cid}&status=pending", "jury")
        if pending:
            c.call(
                "POST",
                "assessment",
                "/proposals/reviews",
                "jury",
                json={
                    "proposal_ids": [p["id"] for p in pending],
                    "comment": "Preuves relues : les mesures du correcteur automatique sont confirmées.",
                },
            )
        w.automated = len(validated)
        # what the jury confirmed is validated in their name; what is still pending would be decided below
        in_force = c.json("GET", "assessment", f"/candidates/{cid}/decisions", "jury")
        return {d["criterion_id"] for d in in_force if d.get("outcome") == "validated"} & validated


# -- what happens around the cohort: faults and the monitor ----------------------------------------------------
class Monitor(threading.Thread):
    """Every consumer group's lag (the end offsets of its topics minus what it committed, read as the broker's
    admin), as often as the broker answers; and once a second a sample of it with the cohort's counters. The
    counters are sampled whatever the broker does; the lag is None while the last reading is over 3 s old."""

    def __init__(self, stack: Any, counters: Counters, t0: float) -> None:
        super().__init__(daemon=True, name="cohort-monitor")
        from certifia_shared.bus import bus

        self.stack, self.counters, self.t0 = stack, counters, t0
        self.bootstrap = stack.bootstrap  # the same port across the broker's restart (kafka.sh bounce)
        self.security = stack.kafka_security("admin")  # and the same key material
        self.subscriptions = list(bus().subscriptions.values())
        self.samples: list[checks.Sample] = []
        self.halt = threading.Event()
        self.last_error = ""
        self.lag: tuple[float, dict[str, int | None]] = (0.0, {})
        threading.Thread(target=self._sample, daemon=True, name="cohort-sampler").start()

    def _sample(self) -> None:
        while not self.halt.wait(1.0):
            at, lag = self.lag
            fresh = time.monotonic() - at <= 3.0
            c = self.counters
            self.samples.append(
                checks.Sample(
                    time.time() - self.t0,
                    lag if fresh else {sub.group: None for sub in self.subscriptions},
                    c.decisions,
                    c.diplomas,
                )
            )

    def run(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from certifia_shared.kafka import make_admin

        admin = consumer = None
        while not self.halt.is_set():
            lag: dict[str, int | None] = {}
            try:
                security = self.security
                if admin is None or consumer is None:
                    admin = make_admin(self.bootstrap, "bench-cohort-monitor", security)
                    consumer = KafkaConsumer(
                        bootstrap_servers=self.bootstrap,
                        group_id=None,
                        client_id="bench-cohort-monitor",
                        **security.client_kwargs(),
                    )
                committed = admin.list_group_offsets([sub.group for sub in self.subscriptions])
                for sub in self.subscriptions:
                    mine = committed.get(sub.group) or {}
                    parts = [
                        TopicPartition(t, p)
                        for t in sub.topics
                        for p in sorted(consumer.partitions_for_topic(t) or [])
                    ]
                    ends = consumer.end_offsets(parts)
                    lag[sub.group] = sum(
                        max(0, ends[tp] - max(0, mine[tp].offset if tp in mine else 0)) for tp in parts
                    )
            except Exception as exc:  # the broker is restarting: a gap in the series, then new clients
                if repr(exc) != self.last_error:
                    self.last_error = repr(exc)
                    say(f"monitor: the lag cannot be read ({self.last_error[:300]}); trying again")
                lag = {sub.group: None for sub in self.subscriptions}
                for client in (admin, consumer):
                    with contextlib.suppress(Exception):
                        client.close()  # type: ignore[union-attr]
                admin = consumer = None
            if all(v is not None for v in lag.values()):
                self.lag = (time.monotonic(), lag)
            self.halt.wait(0.5)
        for client in (admin, consumer):
            with contextlib.suppress(Exception):
                client.close()  # type: ignore[union-attr]


class Faults(threading.Thread):
    """The fault schedule: once the load is up, one fault ``gap`` seconds after the last (sooner when the
    cohort is draining), the candidates held for it released as it comes, each followed by waiting until
    every service answers /readyz again (its readiness: database, broker, consumer group)."""

    def __init__(self, cohort: Cohort, t0: float, gap: float, warmup_decisions: int) -> None:
        super().__init__(daemon=True, name="cohort-faults")
        self.cohort, self.t0, self.gap, self.warmup = cohort, t0, gap, warmup_decisions
        self.applied: list[dict[str, Any]] = []

    def run(self) -> None:
        from stack import SERVICES

        stack, counters, stop = self.cohort.stack, self.cohort.counters, self.cohort.stop
        try:
            while counters.decisions < self.warmup and not stop.wait(0.5):
                pass
            draining = max(1, self.cohort.args.walkers // 4)
            for k, (kind, target) in enumerate(FAULTS):
                # the next fault after `gap` seconds, or sooner once the cohort is draining: a fault among
                # the load, not after it
                deadline = time.monotonic() + self.gap
                while time.monotonic() < deadline and counters.walking > draining:
                    if stop.wait(0.5):
                        return
                if stop.is_set():
                    return
                released = sum(1 for gate in self.cohort.reserve.values() if gate == k)
                self.cohort.releases[k].set()  # those held for this fault start with it
                settle = time.monotonic() + 30
                while released and counters.walking < 1 and time.monotonic() < settle:
                    time.sleep(0.1)
                at = time.time() - self.t0
                record: dict[str, Any] = {
                    "fault": f"{kind} {target}",
                    "at_s": round(at, 1),
                    "candidates_walking": counters.walking,
                    "candidates_released": released,
                    "diplomas_before": counters.diplomas,
                }
                say(
                    f"fault {len(self.applied) + 1}/{len(FAULTS)}: {record['fault']} at {at:.0f}s "
                    f"({counters.walking} candidates walking)"
                )
                try:
                    if kind == "kill":
                        stack.stop_service(target, kill=True)
                        stack.start_service(target)
                    elif kind == "kafka":
                        stack._kafka("bounce")
                    elif kind == "postgres":
                        subprocess.run(
                            [str(ROOT / "scripts" / "postgres.sh"), "restart"],
                            check=True,
                            capture_output=True,
                            text=True,
                        )
                    for spec in SERVICES:
                        for k in stack.instances_of(spec.name):
                            stack.wait_ready(spec.name, timeout=300, instance=k)
                    record["ready_after_s"] = round(time.time() - self.t0 - at, 1)
                    say(f"   recovered: every service ready {record['ready_after_s']}s after the fault")
                except Exception as exc:  # recorded: the fault check fails, the run stops
                    record["error"] = f"{type(exc).__name__}: {exc}"[:2000]
                    say(f"   not recovered: {record['error']}")
                    stop.set()
                self.applied.append(record)
        finally:
            for release in self.cohort.releases:
                release.set()  # the faults_done among them


def progress_line(cohort: Cohort, faults: Faults | None, monitor: Monitor, t0: float) -> str:
    c = cohort.counters
    last = monitor.samples[-1] if monitor.samples else None
    lag = last.total_lag if last else None
    if last is not None and lag:
        group, most = max(last.lag.items(), key=lambda kv: kv[1] or 0)
        lag = f"{lag} ({group.removeprefix('certifia.')} {most})"  # type: ignore[assignment]
    done = f"{len(faults.applied)}/{len(FAULTS)}" if faults else "off"
    return (
        f"{time.time() - t0:5.0f}s  diplomas {c.diplomas}/{cohort.args.candidates}  walking {c.walking}  "
        f"decisions {c.decisions}  requests {c.requests} (retried {c.retries})  lag {lag if lag is not None else '?'}"
        f"  faults {done}"
    )


# -- the stack ----------------------------------------------------------------------------------------------
DATABASES = {
    "enrolment": "certifia_cohort_enrolment",
    "assessment": "certifia_cohort_assessment",
    "grading-compute": "certifia_cohort_grading",
    "thesis": "certifia_cohort_thesis",
    "certification": "certifia_cohort_certification",
}


def keycloak_dir() -> Path:
    """Kept between runs (a first start imports the realm: ~30 s), anew when the realm file changed."""
    path = BASE / "keycloak"
    realm = (ROOT / "deploy" / "keycloak" / "certifia-realm.json").read_bytes()
    imported = path / "imported-realm.sha256"
    if path.exists() and (
        not imported.exists() or hashlib.sha256(realm).hexdigest() not in imported.read_text()
    ):
        subprocess.run(
            [str(ROOT / "scripts" / "keycloak.sh"), "stop"],
            env={**os.environ, "KEYCLOAK_DATA_DIR": str(path)},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(path)
    return path


SCALED = ("enrolment", "assessment", "thesis", "certification")
"""What --instances scales out: the consuming services on the lifecycle's path. grading-compute stays one:
each instance would start a Ray of its own on the same cores (its way to scale is RAY_ADDRESS, one cluster)."""


@contextlib.contextmanager
def cohort_stack(instances: int = 1) -> Iterator[Any]:
    from stack import Stack

    for name in ("stack", "kafka"):
        shutil.rmtree(BASE / name, ignore_errors=True)
    say("fresh databases (certifia_cohort_*), a fresh broker, Keycloak, the five services on ports 8201-8205")
    urls = {service: fresh_database(name) for service, name in DATABASES.items()}
    # the broker restarted under load: on 2 cores, beside 9 service processes (INSTANCES=2), its controller
    # took 70 s to come back, past kafka.sh's default 60 s, which then stopped it
    os.environ.setdefault("KAFKA_START_TIMEOUT", "240")
    stack = Stack(
        state_dir=BASE / "stack",
        kafka_dir=BASE / "kafka",
        keycloak_dir=keycloak_dir(),
        kafka_port=free_port(),
        port_offset=200,
        database_urls=urls,
        instances=dict.fromkeys(SCALED, instances) if instances > 1 else {},
        extra_env={
            "LOG_LEVEL": "WARNING",
            "WEBHOOK_RETRY_SECONDS": json.dumps(WEBHOOK_RETRY_SECONDS),
            # grading in the service's process by default: with Ray on these 2 cores a quick run made 17
            # decisions/s where one without made 30 (one run each, with other changes between them: a hint,
            # not a measure); USE_RAY=true USE_TRITON=true grades as make run does. bench-grading measures
            # Ray and Triton themselves.
            "USE_RAY": os.environ.get("USE_RAY", "false"),
            "USE_TRITON": os.environ.get("USE_TRITON", "false"),
            # 9 processes when scaled out x (4 + 4) = 72 connections at most, under PostgreSQL's default
            # max_connections of 100 with room for the bench's own reads (5 x (5 + 5) = 50 otherwise)
            **({"DATABASE_POOL_SIZE": "4", "DATABASE_MAX_OVERFLOW": "4"} if instances > 1 else {}),
        },
    )
    try:
        stack.up()
        yield stack
    finally:
        say("stopping the stack")
        stack.down()


# -- the end: webhooks settled, the topics read back, the invariants -----------------------------------------
WEBHOOK_NAMES = {
    checks.BLOC_PASSED: "bloc.passed",
    checks.BLOC_CERTIFICATE_ISSUED: "bloc_certificate.issued",
    checks.THESIS_DEFENDED: "thesis.defended",
    checks.DIPLOMA_ISSUED: "diploma.issued",
}


def subscribe(client: Client, seed: int) -> list[Subscription]:
    """Each LMS subscribes to the milestones of its candidates; demo-lms also has a second subscription, to
    diplomas only (each subscription gets each of its events once)."""
    wanted = [(lms, MILESTONES) for lms in TENANTS] + [("demo-lms", ["diploma.issued"])]
    subs = []
    for i, (lms, events) in enumerate(wanted):
        receiver = FlakyReceiver(f"{lms}-{i}", WEBHOOK_FAILURE_RATE, seed + i)
        made = client.json(
            "POST", "enrolment", "/webhooks", lms, json={"url": receiver.url, "events": events}
        )
        receiver.secret = made["secret"]
        subs.append(Subscription(lms, events, receiver, made["id"], made["secret"]))
    return subs


def expected_webhooks(sub: Subscription, events: list[checks.BusEvent], lms_of: dict[str, str]) -> set[str]:
    return {
        e.id for e in events if WEBHOOK_NAMES.get(e.type) in sub.events and lms_of.get(e.subject) == sub.lms
    }


def settle_webhooks(
    subs: list[Subscription], events: list[checks.BusEvent], lms_of: dict[str, str], stall: float
) -> float:
    """Wait until every subscription's receiver has accepted each of its expected events (enrolment's
    consumer drains its lag, the senders retry on their schedule); give up once ``stall`` seconds pass
    without one more delivery. Returns the seconds waited."""
    start = last_progress = time.monotonic()
    best: int | None = None
    while True:
        missing = 0
        for sub in subs:
            with sub.receiver._lock:
                accepted = {
                    json.loads(b).get("event_id") for _, b, status, _ in sub.receiver.posts if status < 300
                }
            missing += len(expected_webhooks(sub, events, lms_of) - accepted)
        if best is None or missing < best:
            best, last_progress = missing, time.monotonic()
        if not missing or time.monotonic() - last_progress > stall:
            return time.monotonic() - start
        say(f"waiting for {missing} webhook deliveries (enrolment's lag, the senders' retries) ...")
        time.sleep(5)


def read_bus(stack: Any) -> tuple[list[checks.BusEvent], dict[str, int]]:
    from certifia_shared.bus import bus
    from certifia_shared.kafka import read_to_end

    security = stack.kafka_security("admin")
    records = read_to_end(stack.bootstrap, security, bus().topics(), timeout_s=900)
    dead = read_to_end(stack.bootstrap, security, bus().dead_letter_topics(), timeout_s=120)
    letters = Counter(r.topic for r in dead)
    return [checks.BusEvent.of(r) for r in records], {
        t: letters.get(t, 0) for t in bus().dead_letter_topics()
    }


def group_members(stack: Any) -> dict[str, list[dict[str, Any]]]:
    """Each scaled-out service's consumer group as the broker describes it: its members and what they hold."""
    from certifia_shared.bus import bus
    from certifia_shared.kafka import make_admin

    admin = make_admin(stack.bootstrap, "bench-cohort-groups", stack.kafka_security("admin"))
    try:
        groups = [bus().subscriptions[s].group for s in SCALED if s in bus().subscriptions]
        described = admin.describe_groups(groups)
        return {g: list(described[g].get("members") or []) for g in groups}
    finally:
        admin.close()


def api_checks(client: Client, walks: list[Walk]) -> list[checks.Check]:
    """Each candidate as the services answer for it now, after every fault: the decisions in force (one per
    criterion, all validated), five bloc certificates, and a diploma that verifies publicly."""
    problems: list[str] = []

    def one(w: Walk) -> None:
        decisions = client.json("GET", "assessment", f"/candidates/{w.candidate_id}/decisions", "jury")
        outcomes = Counter((d["criterion_id"], d["outcome"]) for d in decisions)
        expected = Counter({(c, "validated"): 1 for c in w.criteria})
        expected.update((c, "rejected") for c in w.rejected_first)
        if outcomes != expected:
            problems.append(f"{w.candidate_id}: {len(decisions)} decisions for {len(w.criteria)} criteria")
        progress = client.json(
            "GET",
            "certification",
            f"/candidates/{w.candidate_id}/progress",
            "candidate",
            candidate_id=w.candidate_id,
        )
        blocs = sorted(c["bloc"] for c in progress.get("certificates", []))
        if blocs != sorted(["1", "2", "3", "4", w.option]):
            problems.append(f"{w.candidate_id}: bloc certificates {blocs}")
        verification = client.json("GET", "certification", f"/diplomas/{w.diploma_id}/verification", None)
        if verification.get("valid") is not True:
            problems.append(f"{w.candidate_id}: diploma {w.diploma_id} does not verify")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, walks))
    return [
        checks.Check(
            "services_api",
            not problems,
            f"{len(walks)} candidates: decisions in force, 5 bloc certificates, a diploma that verifies"
            if not problems
            else f"{len(problems)} problems: {problems[:5]}",
        )
    ]


def figures(walks: list[Walk], events: list[checks.BusEvent], samples: list[checks.Sample]) -> dict[str, Any]:
    by_type: dict[str, list[checks.BusEvent]] = {}
    for e in events:
        by_type.setdefault(e.type, []).append(e)
    decided = {(w.candidate_id, bloc): ms for w in walks for bloc, ms in w.last_decision_ms.items()}
    defended = {w.candidate_id: w.defence_ms for w in walks if w.defence_ms}
    first = min(w.started for w in walks)
    last = max(w.finished for w in walks)
    return {
        "lifecycle_s": checks.percentiles([w.finished - w.started for w in walks]),
        "decision_to_bloc_passed_s": checks.percentiles(
            checks.latencies_s(
                decided, by_type.get(checks.BLOC_PASSED, []), lambda e: (e.subject, e.data.get("bloc"))
            )
        ),
        "decision_to_bloc_certificate_s": checks.percentiles(
            checks.latencies_s(
                decided,
                by_type.get(checks.BLOC_CERTIFICATE_ISSUED, []),
                lambda e: (e.subject, e.data.get("bloc")),
            )
        ),
        "defence_to_thesis_defended_s": checks.percentiles(
            checks.latencies_s(defended, by_type.get(checks.THESIS_DEFENDED, []), lambda e: e.subject)
        ),
        "defence_to_diploma_issued_s": checks.percentiles(
            checks.latencies_s(defended, by_type.get(checks.DIPLOMA_ISSUED, []), lambda e: e.subject)
        ),
        "consumer_lag_peaks": checks.lag_peaks(samples),
        "cohort_wall_s": round(last - first, 1),
        "diplomas_per_min": round(60 * len(walks) / (last - first), 2),
        "decisions_per_s": round(sum(len(w.criteria) - w.automated for w in walks) / (last - first), 1),
        "bus_records": len(events),
        "bus_records_redelivered": checks.redeliveries(events),
    }


def plot(
    path: Path,
    samples: list[checks.Sample],
    events: list[checks.BusEvent],
    faults: list[dict[str, Any]],
    t0: float,
    title: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    t = [s.t for s in samples]
    rates = [0.0] + [
        (b.decisions - a.decisions) / (b.t - a.t) if b.t > a.t else 0.0
        for a, b in itertools.pairwise(samples)
    ]
    top.plot(t, rates, lw=0.8, label="jury decisions answered /s (REST)")
    if events:
        seconds = Counter(int(e.timestamp_ms / 1000 - t0) for e in events)
        xs = list(range(0, int(max(t, default=0)) + 1))
        top.plot(xs, [seconds.get(x, 0) for x in xs], lw=0.8, alpha=0.7, label="events published /s (Kafka)")
    top2 = top.twinx()
    top2.plot(t, [s.diplomas for s in samples], color="black", lw=1.2, label="diplomas (cumulative)")
    top.set_ylabel("per second")
    top2.set_ylabel("diplomas")
    top.legend(loc="upper left", fontsize=8)
    top2.legend(loc="upper right", fontsize=8)
    groups = sorted({g for s in samples for g in s.lag})
    for g in groups:
        bottom.plot(
            t, [s.lag.get(g) if s.lag.get(g) is not None else float("nan") for s in samples], lw=0.9, label=g
        )
    bottom.set_ylabel("consumer lag (records)")
    bottom.set_xlabel("seconds since the first candidate")
    bottom.legend(loc="upper left", fontsize=8)
    for f in faults:
        for ax in (top, bottom):
            ax.axvline(f["at_s"], color="red", lw=0.8, ls="--")
        top.annotate(
            f["fault"],
            (f["at_s"], 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
            ha="right",
            color="red",
        )
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- the run ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=int(os.environ.get("N", "500")))
    parser.add_argument("--walkers", type=int, default=32, help="candidates walking at once")
    parser.add_argument("--graded-share", type=float, default=0.1, help="share with an automated grading")
    parser.add_argument("--no-faults", dest="faults", action="store_false")
    parser.add_argument("--fault-gap", type=float, default=None, help="seconds between faults")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--instances", type=int, default=1, choices=(1, 2), help=f"instances of {', '.join(SCALED)} each"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    args.results, args.plot = args.results.resolve(), args.plot.resolve()
    args.walkers = max(1, min(args.walkers, args.candidates))
    gap = args.fault_gap if args.fault_gap is not None else (8.0 if args.candidates <= 100 else 60.0)
    run_id = uuid.uuid4().hex[:8]
    BASE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rng = random.Random(args.seed)
    graded = set(rng.sample(range(args.candidates), round(args.candidates * args.graded_share)))
    walks = [
        Walk(i, TENANTS[i % len(TENANTS)], "5A" if i % 2 else "5B", i in graded)
        for i in range(args.candidates)
    ]
    with cohort_stack(args.instances) as stack:
        cohort = Cohort(stack, args, run_id)
        cohort.prepare()
        subs = subscribe(cohort.client, args.seed)
        t0 = time.time()
        monitor = Monitor(stack, cohort.counters, t0)
        monitor.start()
        faults = (
            Faults(cohort, t0, gap, warmup_decisions=min(500, 20 * args.candidates)) if args.faults else None
        )
        if faults:
            faults.start()
        say(
            f"{args.candidates} candidates, {args.walkers} at once, {len(graded)} with automated grading, "
            f"3 LMSs, faults {f'every {gap:.0f}s' if faults else 'off'}"
        )
        with ThreadPoolExecutor(args.walkers, thread_name_prefix="walker") as pool:
            futures = [pool.submit(cohort.walk, w) for w in walks]
            while not all(f.done() for f in futures):
                say(progress_line(cohort, faults, monitor, t0))
                time.sleep(10)
        if faults:
            cohort.faults_done.wait()
        say(progress_line(cohort, faults, monitor, t0))
        failed = [w for w in walks if w.error or not w.diploma_id]
        events, dead_letters = read_bus(stack)
        lms_of = {w.candidate_id: w.lms for w in walks if w.candidate_id}
        waited = settle_webhooks(subs, events, lms_of, stall=240) if not failed else 0.0
        monitor.halt.set()
        monitor.join(timeout=10)
        results_checks: list[checks.Check] = []
        if failed:
            results_checks.append(
                checks.Check(
                    "cohort_walked",
                    False,
                    f"{len(failed)} candidates did not finish: {cohort.counters.failures[:5]}",
                )
            )
        else:
            plans = [
                checks.CandidatePlan(
                    w.candidate_id, w.lms, w.option, frozenset(w.criteria), frozenset(w.rejected_first)
                )
                for w in walks
            ]
            results_checks += checks.bus_checks(events, plans)
            for sub in subs:
                results_checks.append(
                    checks.webhook_check(
                        f"{sub.lms} {'+'.join(sub.events)}",
                        sub.receiver.deliveries(),
                        expected_webhooks(sub, events, lms_of),
                    )
                )
            results_checks += api_checks(cohort.client, walks)
        results_checks.append(
            checks.Check(
                "dead_letters_empty",
                not any(dead_letters.values()),
                "every dead-letter topic empty"
                if not any(dead_letters.values())
                else str({t: n for t, n in dead_letters.items() if n}),
            )
        )
        five_hundred = {
            s: n
            for s, n in cohort.counters.statuses.items()
            if s.startswith("5") and int(s) not in TRANSIENT_STATUSES
        }
        results_checks.append(
            checks.Check(
                "no_500",
                not five_hundred,
                "no 5xx other than 502/503/504 answered" if not five_hundred else f"answered {five_hundred}",
            )
        )
        if faults:
            unrecovered = [f for f in faults.applied if "error" in f or not f.get("candidates_walking")]
            results_checks.append(
                checks.Check(
                    "faults",
                    len(faults.applied) == len(FAULTS) and not unrecovered,
                    f"{len(faults.applied)} faults under load, each recovered"
                    if not unrecovered
                    else f"{len(faults.applied)}/{len(FAULTS)} applied; not under load or not recovered: {unrecovered}",
                )
            )
            for f in faults.applied:
                f.update(checks.recovery(monitor.samples, f["at_s"], f.get("ready_after_s")))
        if args.instances > 1:
            results_checks.append(checks.spread_check(group_members(stack), args.instances))
        for sub in subs:
            sub.receiver.close()
    passed = all(c.passed for c in results_checks)
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": benchlib.machine(),
        "passed": passed,
        "configuration": {
            "candidates": args.candidates,
            "walkers": args.walkers,
            "graded": len(graded),
            "graded_pack": GRADED_PACK,
            "lms_tenants": list(TENANTS),
            "subscriptions": [{"lms": s.lms, "events": s.events} for s in subs],
            "webhook_failure_rate": WEBHOOK_FAILURE_RATE,
            "webhook_retry_seconds": WEBHOOK_RETRY_SECONDS,
            "faults": [f"{k} {t}" for k, t in FAULTS] if args.faults else [],
            "fault_gap_s": gap if args.faults else None,
            "instances": {s: args.instances if s in SCALED else 1 for s in DATABASES},
            "stack": "scripts/stack.py (make run's): PostgreSQL, Kafka mTLS + ACLs (1 broker, 3 partitions a "
            "topic), Keycloak tokens, one uvicorn worker per instance",
            "grading": f"USE_RAY={os.environ.get('USE_RAY', 'false')} USE_TRITON={os.environ.get('USE_TRITON', 'false')}",
        },
        "checks": {c.name: c.as_dict() for c in results_checks},
        "requests": {
            "total": cohort.counters.requests,
            "retried": cohort.counters.retries,
            "statuses": dict(sorted(cohort.counters.statuses.items())),
            "transport_errors": dict(cohort.counters.transport_errors),
        },
        "webhooks_settled_after_s": round(waited, 1),
        "run_wall_s": round(time.monotonic() - started, 1),
    }
    if not failed:
        results["figures"] = figures(walks, events, monitor.samples)
    if faults:
        results["faults"] = faults.applied
    results["series"] = [
        {"t": round(s.t, 1), "lag": s.lag, "decisions": s.decisions, "diplomas": s.diplomas}
        for s in monitor.samples
    ]
    target = args.results if passed else BASE / "failed.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=1) + "\n")
    plot_path = args.plot if passed else BASE / "failed.png"
    plot(
        plot_path,
        monitor.samples,
        events,
        faults.applied if faults else [],
        t0,
        f"certifia cohort: {args.candidates} candidates, 3 LMSs, {len(FAULTS) if faults else 0} faults, "
        f"{args.instances} instance(s) a consuming service "
        f"({datetime.now(UTC):%Y-%m-%d})",
    )
    for c in results_checks:
        say(f"{'ok  ' if c.passed else 'FAIL'} {c.name}: {c.detail}")
    if "figures" in results:
        f = results["figures"]
        say(
            f"lifecycle p50 {f['lifecycle_s'].get('p50')}s p95 {f['lifecycle_s'].get('p95')}s; "
            f"defence -> diploma p50 {f['defence_to_diploma_issued_s'].get('p50')}s "
            f"p99 {f['defence_to_diploma_issued_s'].get('p99')}s; {f['diplomas_per_min']} diplomas/min"
        )
    say(
        f"{'passed' if passed else 'FAILED'}: written to {target.relative_to(ROOT)} and {plot_path.relative_to(ROOT)}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
