"""grading-compute as a service: grading.requested from the real broker, the archive fetched over HTTP
from a listener this test starts on 127.0.0.1, the real engine and sandbox, grading.completed published."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import certifia_grading
import pytest
from certifia_grading.bootstrap import create_application
from certifia_grading.config import Settings
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, headers_dict
from certifia_shared.kafka import ensure_topics
from certifia_shared.testing import TEST_SECRET, auth, fresh_pg_url, kafka_bootstrap, read_topic, wait_for
from fastapi.testclient import TestClient
from kafka import KafkaProducer

pytestmark = pytest.mark.integration
PACK = "b2_data_cleaning"
PACK_DIR = Path(certifia_grading.__file__).parent / "packs" / PACK


def archive(folder: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path in sorted((PACK_DIR / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, path.relative_to(PACK_DIR / folder).as_posix())
    return buf.getvalue()


@pytest.fixture(scope="module")
def artifacts() -> Iterator[tuple[str, dict[str, bytes]]]:
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
    yield f"http://127.0.0.1:{server.server_address[1]}", store
    server.shutdown()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    ensure_topics(kafka_bootstrap())
    settings = Settings(
        database_url=fresh_pg_url("grading"),
        kafka_bootstrap_servers=kafka_bootstrap(),
        CERTIFIA_AUTH_SECRET=TEST_SECRET.get_secret_value(),
        relay_poll_seconds=0.05,
        artifact_hosts="127.0.0.1",
    )
    with TestClient(create_application(settings)) as c:
        yield c


def request_grading(base: str, store: dict[str, bytes], content: bytes) -> CloudEvent:
    submission_id = f"sub-{uuid.uuid4().hex[:8]}"
    store[submission_id] = content
    event = CloudEvent(
        type=ev.GRADING_REQUESTED,
        source="/certifia/assessment",
        subject="cand-grading",
        data={
            "submission_id": submission_id,
            "candidate_id": "cand-grading",
            "evaluation_id": "2.EV1",
            "pack_id": PACK,
            "criteria": [],
            "artifact": {
                "url": f"{base}/{submission_id}",
                "sha256": hashlib.sha256(content).hexdigest(),
                "size_bytes": len(content),
            },
            "requested_at": "2026-11-25T08:00:00+00:00",
        },
    )
    publish(event)
    return event


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


def results(submission_id: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for r in read_topic(kafka_bootstrap(), ev.TOPIC_GRADING):
        data = json.loads(r.value)
        if data.get("submission_id") == submission_id:
            out.append((headers_dict(r.headers)["ce_type"], data))
    return out


def test_reference_submission_is_validated_and_a_redelivery_grades_nothing_twice(
    client: TestClient, artifacts: tuple[str, dict[str, bytes]]
) -> None:
    base, store = artifacts
    event = request_grading(base, store, archive("reference"))
    sid = event.data["submission_id"]
    [(event_type, payload)] = wait_for(lambda: results(sid), timeout=180, what="grading.completed")
    assert event_type == ev.GRADING_COMPLETED, payload
    assert payload["criteria"] and all(c["verdict"] == "validated" for c in payload["criteria"])
    assert payload["submission_digest"] == event.data["artifact"]["sha256"]
    status = client.get(f"/submissions/{sid}/grading", headers=auth("jury")).json()
    assert status["status"] == "completed" and status["report"]["pack_version"] == payload["pack_version"]

    publish(event)  # the same event again (same id): the inbox drops it
    wait_for(
        lambda: client.get(f"/submissions/{sid}/grading", headers=auth("jury")).json()["attempts"] == 1,
        what="attempts",
    )
    assert len(results(sid)) == 1


def test_weak_submission_gets_rejected_criteria_with_explanations(
    client: TestClient, artifacts: tuple[str, dict[str, bytes]]
) -> None:
    base, store = artifacts
    sid = request_grading(base, store, archive("weak")).data["submission_id"]
    [(event_type, payload)] = wait_for(lambda: results(sid), timeout=180, what="grading result")
    assert event_type == ev.GRADING_COMPLETED
    rejected = [c for c in payload["criteria"] if c["verdict"] == "rejected"]
    assert rejected and all(c["explanation"] for c in rejected)


def test_packs_are_listed_with_their_criteria(client: TestClient) -> None:
    packs = client.get("/packs", headers=auth("lms")).json()
    pack = next(p for p in packs if p["id"] == PACK)
    assert pack["interface"] == "python" and pack["criteria"]
    assert client.get("/packs/nope", headers=auth("lms")).status_code == 404
