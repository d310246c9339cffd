"""Fixtures for the service-level integration tests (settings, an artifact store on loopback, the grading
bus) and for the Triton adapters' tests (an ONNX classifier and what it must predict)."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from certifia_grading.config import Settings
from certifia_shared import event_types as ev
from certifia_shared import testing
from certifia_shared.envelope import CloudEvent, headers_dict
from certifia_shared.testing import fresh_pg_url, kafka_bootstrap, read_topic

if TYPE_CHECKING:
    from onnx import GraphProto
    from sklearn.linear_model import LogisticRegression


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
        testing.publish([event], as_service="assessment", topic=ev.TOPIC_ASSESSMENT)

    @staticmethod
    def results(submission_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The verdicts on certifia.grading for a submission: grading.completed.v2 or grading.failed (the
        v1 copy produced beside v2 when it can express the verdict is checked in test_service_jobs)."""
        out = []
        for r in read_topic(kafka_bootstrap(), ev.TOPIC_GRADING):
            data = json.loads(r.value)
            event_type = headers_dict(r.headers)["ce_type"]
            if data.get("submission_id") == submission_id and event_type != ev.GRADING_COMPLETED:
                out.append((event_type, data))
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
        return Settings(
            database_url=fresh_pg_url("grading"),
            **testing.kafka_settings("grading-compute"),
            relay_poll_seconds=0.05,
            artifact_hosts="127.0.0.1",
            **overrides,
        )

    return make


# -- an ONNX classifier for the Triton adapters (sklearn, skl2onnx, onnxruntime imported when used) --


@pytest.fixture(scope="module")
def classifier_data() -> tuple[np.ndarray, np.ndarray]:
    """300 rows of 4 float32 features and a noisy linear binary label."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] - 0.5 * x[:, 2] + rng.normal(scale=0.3, size=300) > 0).astype(np.int64)
    return x, y


@pytest.fixture(scope="module")
def classifier_onnx(classifier_data: tuple[np.ndarray, np.ndarray]) -> Callable[..., bytes]:
    """``make(C=1.0, zipmap=False)``: a LogisticRegression fitted on classifier_data, as ONNX bytes
    (zipmap=True gives a list of dicts as output, which Triton cannot serve)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = classifier_data

    def make(*, C: float = 1.0, zipmap: bool = False) -> bytes:
        clf = LogisticRegression(C=C).fit(x, y)
        return to_onnx(clf, x[:1], options={"zipmap": zipmap}).SerializeToString()

    return make


@pytest.fixture(scope="module")
def classifier(classifier_data: tuple[np.ndarray, np.ndarray]) -> tuple[LogisticRegression, bytes]:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = classifier_data
    clf = LogisticRegression().fit(x, y)
    return clf, to_onnx(clf, x[:1], options={"zipmap": False}).SerializeToString()


@pytest.fixture(scope="module")
def check_classifier_outputs(
    classifier: tuple[LogisticRegression, bytes], classifier_data: tuple[np.ndarray, np.ndarray]
) -> Callable[[dict[str, np.ndarray]], None]:
    """Asserts that a server's predictions on all classifier_data rows equal onnxruntime's and sklearn's."""
    import onnxruntime as ort

    clf, onnx_bytes = classifier
    x, _ = classifier_data
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], {"X": x})

    def check(served: dict[str, np.ndarray]) -> None:
        np.testing.assert_array_equal(served["label"], label)
        np.testing.assert_array_equal(served["label"], clf.predict(x))
        np.testing.assert_allclose(served["probabilities"], proba, rtol=0, atol=1e-6)
        np.testing.assert_allclose(served["probabilities"], clf.predict_proba(x), rtol=0, atol=1e-5)
        assert served["label"].shape == (len(x),) and served["probabilities"].shape == (len(x), 2)

    return check


@pytest.fixture(scope="session")
def onnx_model_bytes() -> Callable[[GraphProto], bytes]:
    """Serialises a hand-built graph as a checked ONNX model (opset 17, IR version 8)."""
    import onnx
    from onnx import helper

    def serialise(graph: GraphProto) -> bytes:
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model.SerializeToString()

    return serialise
