"""Fixtures for the service-level integration tests: settings, an artifact store on loopback, the grading bus."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kafka import KafkaProducer

from certifia_grading.config import Settings
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, headers_dict
from certifia_shared.kafka import ensure_topics
from certifia_shared.testing import TEST_SECRET, fresh_pg_url, kafka_bootstrap, read_topic


class GradingBus:
    """Publishes grading.requested for archives it serves itself, and reads what grading-compute answered."""

    def __init__(self, base_url: str, store: dict[str, bytes]) -> None:
        self.base_url = base_url
        self.store = store

    def request(self, content: bytes, pack_id: str, evaluation_id: str = "2.EV1") -> CloudEvent:
        submission_id = f"sub-{uuid.uuid4().hex[:8]}"
        self.store[submission_id] = content
        event = CloudEvent(
            type=ev.GRADING_REQUESTED,
            source="/certifia/assessment",
            subject="cand-grading",
            data={
                "submission_id": submission_id,
                "candidate_id": "cand-grading",
                "evaluation_id": evaluation_id,
                "pack_id": pack_id,
                "criteria": [],
                "artifact": {
                    "url": f"{self.base_url}/{submission_id}",
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size_bytes": len(content),
                },
                "requested_at": "2026-11-25T08:00:00+00:00",
            },
        )
        self.publish(event)
        return event

    @staticmethod
    def publish(event: CloudEvent) -> None:
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap(), acks="all")
        producer.send(
            ev.TOPIC_ASSESSMENT,
            key=event.subject.encode(),
            value=event.kafka_value(),
            headers=event.kafka_headers(),
        )
        producer.flush()
        producer.close()

    @staticmethod
    def results(submission_id: str) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for r in read_topic(kafka_bootstrap(), ev.TOPIC_GRADING):
            data = json.loads(r.value)
            if data.get("submission_id") == submission_id:
                out.append((headers_dict(r.headers)["ce_type"], data))
        return out


@pytest.fixture(scope="module")
def bus() -> Iterator[GradingBus]:
    """A tiny artifact store on loopback: GET /<name> answers the bytes registered under that name."""
    store: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = store.get(self.path.lstrip("/"))
            if body is None or not self.headers.get("Authorization", "").startswith("Bearer "):
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield GradingBus(f"http://127.0.0.1:{server.server_address[1]}", store)
    server.shutdown()


@pytest.fixture(scope="session")
def service_settings() -> Callable[..., Settings]:
    """Settings of a grading-compute wired to the test broker and a fresh PostgreSQL database."""

    def make(**overrides: Any) -> Settings:
        ensure_topics(kafka_bootstrap())
        return Settings(
            database_url=fresh_pg_url("grading"),
            kafka_bootstrap_servers=kafka_bootstrap(),
            CERTIFIA_AUTH_SECRET=TEST_SECRET.get_secret_value(),
            relay_poll_seconds=0.05,
            artifact_hosts="127.0.0.1",
            **overrides,
        )

    return make
