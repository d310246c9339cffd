"""Helpers for the test suites: the real PostgreSQL and Kafka the suites run against, tokens, polling.

Integration tests read ``CERTIFIA_TEST_KAFKA`` (bootstrap of a broker started by
``scripts/with-test-kafka.sh``) and ``CERTIFIA_TEST_KAFKA_PKI`` (the folder of its CA and of one
certificate per principal; empty when the broker runs plaintext), and use the ``certifia_<service>_test``
PostgreSQL databases created by ``scripts/postgres.sh createdbs``; ``CERTIFIA_TEST_PG_URL`` overrides the
server part. The test broker is secured like any other: a test connects as a principal (a service, or
``admin`` to read any topic), and what a service may not do, its test cannot do either.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from sqlalchemy import create_engine, select, text

from certifia_shared import event_types as ev
from certifia_shared.config import KafkaSecurity
from certifia_shared.envelope import CloudEvent

T = TypeVar("T")
# grading-compute asks the test issuer for its service token with these (client-credentials grant)
SERVICE_CLIENT_ID = "grading-compute"
SERVICE_CLIENT_SECRET = "test-grading-compute-secret"
# grading-compute's hidden data derives from it (GRADING_SECRET); fixed, so test runs are reproducible
GRADING_SECRET = "test-grading-secret-of-the-test-suites-not-for-production"
_issuer: Any = None
_issuer_lock = threading.Lock()


def test_issuer() -> Any:
    """The suites' identity provider in this process: a local OpenID Connect issuer on 127.0.0.1
    (certifia_shared.oidc_testing.LocalIssuer) whose keys the services verify tokens with, exactly as they
    do Keycloak's. The e2e suite and the Keycloak tests use the real Keycloak instead."""
    global _issuer
    with _issuer_lock:
        if _issuer is None:
            from certifia_shared.oidc_testing import LocalIssuer

            _issuer = LocalIssuer().start().client(SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, "service")
        return _issuer


def configure_test_environment() -> None:
    """What every suite's services read from the environment: trust the test issuer (called by the
    repository's conftest.py before any test builds Settings)."""
    issuer = test_issuer()
    os.environ.update(issuer.env())
    os.environ.setdefault("SERVICE_CLIENT_ID", SERVICE_CLIENT_ID)
    os.environ.setdefault("SERVICE_CLIENT_SECRET", SERVICE_CLIENT_SECRET)
    os.environ.setdefault("GRADING_SECRET", GRADING_SECRET)


def pg_url(service_db: str) -> str:
    base = os.environ.get("CERTIFIA_TEST_PG_URL", "postgresql+psycopg://certifia:certifia@127.0.0.1:5432")
    return f"{base}/certifia_{service_db}_test"


def fresh_pg_url(service_db: str) -> str:
    """The service's test database, emptied (every table dropped, so migrations run from scratch)."""
    url = pg_url(service_db)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def kafka_bootstrap() -> str:
    bootstrap = os.environ.get("CERTIFIA_TEST_KAFKA")
    if not bootstrap:
        raise RuntimeError(
            "CERTIFIA_TEST_KAFKA is not set: run integration tests with `make test-integration` "
            "(it starts a fresh local Kafka broker)"
        )
    return bootstrap


def kafka_security(principal: str = "admin") -> KafkaSecurity:
    """How ``principal`` (a service name, or ``admin``) connects to the test broker."""
    pki = os.environ.get("CERTIFIA_TEST_KAFKA_PKI", "")
    if not pki:
        return KafkaSecurity(protocol="PLAINTEXT")
    return KafkaSecurity(
        protocol="SSL",
        cafile=f"{pki}/ca.crt",
        certfile=f"{pki}/{principal}.crt",
        keyfile=f"{pki}/{principal}.key",
    )


def kafka_settings(service: str) -> dict[str, Any]:
    """Settings fields that connect ``service`` to the test broker as its own principal."""
    security = kafka_security(service)
    return {
        "kafka_bootstrap_servers": kafka_bootstrap(),
        "kafka_security_protocol": security.protocol,
        "kafka_ssl_cafile": security.cafile,
        "kafka_ssl_certfile": security.certfile,
        "kafka_ssl_keyfile": security.keyfile,
        "kafka_insecure_development": security.protocol == "PLAINTEXT",
    }


def publish(events: list[CloudEvent], *, as_service: str | None = None, topic: str | None = None) -> None:
    """Send ``events`` as their owners' relays do (each to its contract's topic unless ``topic`` says
    otherwise, keyed by subject), with the certificate of ``as_service`` or, by default, of the topic's
    owner; waits until the broker has each."""
    from certifia_shared.bus import bus
    from certifia_shared.contracts import contract
    from certifia_shared.kafka import make_producer

    producers: dict[str, Any] = {}
    try:
        for event in events:
            target = topic or contract(event.type).topic
            principal = as_service or bus().owner_of(target).service
            if principal not in producers:
                producers[principal] = make_producer(
                    kafka_bootstrap(), f"test-{principal}", kafka_security(principal)
                )
            producers[principal].send(
                target, key=event.subject.encode(), value=event.kafka_value(), headers=event.kafka_headers()
            ).get(timeout=30)
    finally:
        for producer in producers.values():
            producer.close(timeout=5)


def token(
    *roles: str,
    subject: str = "tester",
    candidate_id: str | None = None,
    client_id: str | None = None,
    ttl: float = 3600,
) -> str:
    """An access token of the test issuer (``roles``; a candidate's binding; the LMS client it speaks for)."""
    unknown = set(roles) - {"lms", "candidate", "jury", "officer", "admin", "service"}
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    if "candidate" in roles and not candidate_id:
        raise ValueError("a candidate token must carry candidate_id")
    minted: str = test_issuer().mint(
        subject, sorted(roles), candidate_id=candidate_id, client_id=client_id, ttl=ttl
    )
    return minted


def auth(*roles: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*roles, **kwargs)}"}


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.2, what: str = ""
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or probe} (last: {last!r})")


def read_topic(
    bootstrap: str, topic: str, *, timeout: float = 30.0, security: KafkaSecurity | None = None
) -> list[Any]:
    """Every record of ``topic`` from the beginning to its current end (kafka-python ConsumerRecords), read
    as the admin of the test broker unless ``security`` says otherwise."""
    from certifia_shared.kafka import read_to_end

    return read_to_end(bootstrap, security or kafka_security("admin"), [topic], timeout_s=timeout)


def enrolled_event(candidate_id: str, **data: Any) -> CloudEvent:
    """A valid candidate.enrolled as enrolment publishes it; ``data`` overrides payload fields (e.g. path)."""
    return CloudEvent(
        type=ev.CANDIDATE_ENROLLED,
        source="/certifia/enrolment",
        subject=candidate_id,
        data={
            "candidate_id": candidate_id,
            "external_id": f"ext-{candidate_id}",
            "lms_client": "moodle",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.org",
            "path": "formation",
            "cohort": None,
            "enrolled_at": "2026-09-01T08:00:00+00:00",
            **data,
        },
    )


def outbox_events(ctx: Any, type: str | None = None) -> list[CloudEvent]:
    """The events a service wrote to its outbox (committed), oldest first; ``ctx`` is its ServiceContext."""
    t = ctx.tables.outbox
    query = select(t).order_by(t.c.seq)
    if type:
        query = query.where(t.c.type == type)
    with ctx.sessions() as session:
        rows = session.execute(query).all()
    return [
        CloudEvent(type=r.type, source=r.source, subject=r.subject, data=json.loads(r.payload), id=r.event_id)
        for r in rows
    ]


class WebhookReceiver:
    """An LMS webhook endpoint on 127.0.0.1 (tests, the demo): records each POST; answers the scripted
    ``statuses`` first, then 204."""

    def __init__(self, path: str = "/lms/hooks", *, host: str = "127.0.0.1") -> None:
        """Listens on ``host``: 127.0.0.1, or the gateway address of a Docker bridge network when the
        services posting to it run in containers on that network (deploy/compose)."""
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_port}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
