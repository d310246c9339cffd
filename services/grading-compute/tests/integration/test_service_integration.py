"""grading-compute as a service: grading.requested from the real broker, the archive fetched over HTTP
from a listener this test starts on 127.0.0.1, the real engine and sandbox, grading.completed published."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import certifia_grading
from certifia_grading.bootstrap import create_application
from certifia_shared import event_types as ev
from certifia_shared.testing import auth, wait_for

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
def client(service_settings: Any) -> Iterator[TestClient]:
    settings = service_settings()
    with TestClient(create_application(settings)) as c:
        yield c


def test_reference_submission_is_validated_and_a_redelivery_grades_nothing_twice(
    client: TestClient, bus: Any
) -> None:
    event = bus.request(archive("reference"), PACK)
    sid = event.data["submission_id"]
    [(event_type, payload)] = wait_for(lambda: bus.results(sid), timeout=180, what="grading.completed")
    assert event_type == ev.GRADING_COMPLETED_V2, payload
    assert payload["criteria"] and all(c["verdict"] == "validated" for c in payload["criteria"])
    assert payload["submission_digest"] == event.data["artifact"]["sha256"]
    status = client.get(f"/submissions/{sid}/grading", headers=auth("jury")).json()
    assert status["status"] == "completed" and status["report"]["pack_version"] == payload["pack_version"]

    bus.publish(event)  # the same event again (same id): the inbox drops it
    wait_for(
        lambda: client.get(f"/submissions/{sid}/grading", headers=auth("jury")).json()["attempts"] == 1,
        what="attempts",
    )
    assert len(bus.results(sid)) == 1


def test_weak_submission_gets_rejected_criteria_with_explanations(client: TestClient, bus: Any) -> None:
    sid = bus.request(archive("weak"), PACK).data["submission_id"]
    [(event_type, payload)] = wait_for(lambda: bus.results(sid), timeout=180, what="grading result")
    assert event_type == ev.GRADING_COMPLETED_V2
    rejected = [c for c in payload["criteria"] if c["verdict"] == "rejected"]
    assert rejected and all(c["explanation"] for c in rejected)


def test_packs_are_listed_with_their_criteria(client: TestClient) -> None:
    packs = client.get("/packs", headers=auth("lms")).json()
    pack = next(p for p in packs if p["id"] == PACK)
    assert pack["interface"] == "python" and pack["criteria"]
    assert client.get("/packs/nope", headers=auth("lms")).status_code == 404
