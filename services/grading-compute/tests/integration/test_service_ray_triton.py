"""grading-compute as `make run` starts it: code packs as Ray tasks, model packs scored through the
service's Triton server. Real Kafka, PostgreSQL, Ray and tritonserver (PyTriton) on 127.0.0.1."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import ray
from fastapi.testclient import TestClient

from certifia_grading.bootstrap import create_application
from certifia_grading.domain.testing import sample_submission
from certifia_shared import event_types as ev
from certifia_shared.testing import auth, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(service_settings: Any) -> Iterator[TestClient]:
    settings = service_settings(use_ray=True, use_triton=True, grading_workers=2)
    try:
        with TestClient(create_application(settings)) as c:
            yield c
    finally:
        ray.shutdown()


def test_triton_and_ray_are_started_with_the_service_and_in_readiness(client: TestClient) -> None:
    ready = client.get("/readyz").json()
    assert ready["checks"]["triton"] == "ok" and ready["checks"]["ray"] == "ok", ready
    engine = client.app.state.ctx.grader  # type: ignore[attr-defined]
    assert engine.inference.running and engine.inference.url.startswith("http://127.0.0.1:")


def test_model_pack_is_scored_by_triton_and_code_pack_runs_as_a_ray_task(
    client: TestClient, bus: Any
) -> None:
    engine = client.app.state.ctx.grader  # type: ignore[attr-defined]
    model_archive = sample_submission(engine, "b2_supervised_onnx", "reference")
    code_archive = sample_submission(engine, "b2_dimension_reduction", "reference")
    model_sid = bus.request(model_archive, "b2_supervised_onnx", "2.EV6").data["submission_id"]
    code_sid = bus.request(code_archive, "b2_dimension_reduction", "2.EV2").data["submission_id"]

    for sid in (model_sid, code_sid):
        [(event_type, payload)] = wait_for(lambda s=sid: bus.results(s), timeout=240, what=f"result of {sid}")
        assert event_type == ev.GRADING_COMPLETED_V2, payload
        assert payload["criteria"] and all(c["verdict"] == "validated" for c in payload["criteria"]), payload

    model = zipfile.ZipFile(io.BytesIO(model_archive)).read("model.onnx")
    assert engine.inference.model_name(model) in engine.inference.loaded_models
    assert ray.is_initialized()  # the service started its local Ray (routing itself: test_runner_routing)
    report = client.get(f"/submissions/{model_sid}/grading", headers=auth("jury")).json()
    assert report["status"] == "completed"
