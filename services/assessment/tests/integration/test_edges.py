"""Input hygiene at the edge, the submissions' body limit, the artifact download and the OpenAPI document
(certifia_shared.hygiene, .web, .downloads). Measured before: control characters, ANSI escapes and U+202E
were accepted in comments and ids, a submission was received whole before its 401, and an uploaded HTML
page was served back as text/html."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_shared import event_types as ev
from certifia_shared.edge_testing import (
    COMPOSED,
    DECOMPOSED,
    MiB,
    assert_documents_edges,
    declared_too_large,
    hostile,
    refused_fields,
)
from certifia_shared.testing import auth

JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
OWN = auth("candidate", subject="account-1", candidate_id="cand-1")
CRITERION = "2.A1.C1.E1"
GROUNDS = "Le jeu de test caché contenait des doublons que l'énoncé interdisait."
HTML = b"<!doctype html><html><body><script>fetch('/steal?c=' + document.cookie)</script></body></html>"


def _stored_files(client: TestClient) -> list[str]:
    root = client.app.state.artifacts.root  # type: ignore[attr-defined]
    return [p.name for p in root.rglob("*") if p.is_file()]


def _decide(client: TestClient, **body: Any) -> Any:
    payload = {"criterion_id": CRITERION, "outcome": "rejected", "comment": "jury", **body}
    return client.post("/candidates/cand-1/decisions", json=payload, headers=JURY)


def _submit(client: TestClient, form: dict[str, str] | None = None) -> Any:
    return client.post(
        "/candidates/cand-1/submissions",
        data=form or {"evaluation_id": "2.EV1"},
        files={"file": ("solution.zip", b"PK\x05\x06" + b"\x00" * 18, "application/zip")},
        headers=OWN,
    )


@pytest.mark.parametrize("field", ["criterion_id", "comment"])
def test_hostile_text_in_a_decision_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]], field: str
) -> None:
    enrol("cand-1")
    valid = {"criterion_id": CRITERION, "comment": "jury"}
    for what, value in hostile(valid[field], free_text=field == "comment").items():
        assert refused_fields(_decide(client, **{field: value})) == {field}, what
        if field == "comment":
            vae = {"bloc": "2", "comment": value, "evidence_reference": "VAE-2026-001"}
            response = client.post("/candidates/cand-1/vae-decisions", json=vae, headers=JURY)
            assert refused_fields(response) == {"comment"}, what
    assert outbox() == []


def test_hostile_text_in_an_appeal_or_its_resolution_is_refused(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-1")
    decision_id = _decide(client).json()["id"]
    emitted = outbox()
    url = "/candidates/cand-1/appeals"
    for what, value in hostile(GROUNDS, free_text=True).items():
        body = {"decision_id": decision_id, "grounds": value}
        assert refused_fields(client.post(url, json=body, headers=OWN)) == {"grounds"}, what
    for what, value in hostile(decision_id).items():
        body = {"decision_id": value, "grounds": GROUNDS}
        assert refused_fields(client.post(url, json=body, headers=OWN)) == {"decision_id"}, what
    assert outbox() == emitted
    opened = client.post(url, json={"decision_id": decision_id, "grounds": GROUNDS}, headers=OWN)
    appeal_id = opened.json()["id"]
    emitted = outbox()
    for what, value in hostile(GROUNDS, free_text=True).items():
        resolution = {"outcome": "dismissed", "reasoning": value}
        response = client.post(f"/appeals/{appeal_id}/resolution", json=resolution, headers=OFFICER)
        assert refused_fields(response) == {"reasoning"}, what
    assert outbox() == emitted


@pytest.mark.parametrize("field", ["evaluation_id", "pack_id"])
def test_hostile_ids_in_a_submission_form_are_422_and_nothing_is_stored(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]], field: str
) -> None:
    enrol("cand-1")
    valid = {"evaluation_id": "2.EV1", "pack_id": "b2_data_cleaning"}
    for what, value in hostile(valid[field]).items():
        response = _submit(client, {**valid, field: value})
        assert refused_fields(response) == {field}, (what, response.text)
    assert outbox() == [] and _stored_files(client) == []


def test_text_is_stored_in_nfc(client: TestClient, enrol: Callable[..., None]) -> None:
    enrol("cand-1")
    decision = _decide(client, comment=f"  Revu par {DECOMPOSED}\r\n")
    assert decision.status_code == 201 and decision.json()["comment"] == f"Revu par {COMPOSED}"
    grounds = f"{GROUNDS} ({DECOMPOSED})"
    body = {"decision_id": decision.json()["id"], "grounds": grounds}
    appeal = client.post("/candidates/cand-1/appeals", json=body, headers=OWN)
    assert appeal.status_code == 201 and appeal.json()["grounds"] == f"{GROUNDS} ({COMPOSED})"


def test_a_submission_declaring_100_mb_is_413_before_its_body_is_read_or_its_token_checked(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    limit = settings.max_submission_bytes + 64 * 1024
    path = "/candidates/cand-1/submissions"
    for declared in (100 * MiB, limit + 1):  # limit + 1 is under the 64 MiB every upload route gets
        answer = declared_too_large(
            client.app, path, declared=declared, content_type="multipart/form-data; boundary=x"
        )
        assert (answer.status, answer.chunks_read) == (413, 0), declared
        assert answer.body["limit_bytes"] == limit and answer.body["type"].endswith("/body-too-large")
    enrol("cand-1")
    settings.max_submission_bytes = 1024  # under the edge's limit, the route's own 413 still applies
    too_large = client.post(
        path, data={"evaluation_id": "2.EV1"}, files={"file": ("a.zip", b"x" * 2048)}, headers=OWN
    )
    assert too_large.status_code == 413 and too_large.json()["type"].endswith("submission-too-large")


def test_an_uploaded_html_page_is_served_back_as_a_sandboxed_download_of_the_same_bytes(
    client: TestClient, enrol: Callable[..., None], outbox: Callable[[], list[str]]
) -> None:
    enrol("cand-1")
    submitted = client.post(
        "/candidates/cand-1/submissions",
        data={"evaluation_id": "2.EV1"},
        files={"file": ("report.html", HTML, "text/html")},
        headers=OWN,
    )
    assert submitted.status_code == 201, submitted.text
    assert outbox() == [ev.SUBMISSION_RECEIVED]
    submission = submitted.json()
    for headers in (OWN, auth("service"), JURY):
        served = client.get(f"/submissions/{submission['id']}/artifact", headers=headers)
        assert served.status_code == 200 and served.content == HTML  # what grading-compute fetches
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith('attachment; filename="report.html.bin"')
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
        assert "no-store" in served.headers["cache-control"]
        assert served.headers["x-content-sha256"] == submission["digest"]


def test_a_zip_is_served_as_a_zip(client: TestClient, enrol: Callable[..., None]) -> None:
    enrol("cand-1")
    submission = _submit(client).json()
    served = client.get(f"/submissions/{submission['id']}/artifact", headers=auth("service"))
    assert served.headers["content-type"] == "application/zip"
    assert served.headers["content-disposition"].startswith('attachment; filename="solution.zip"')


def test_openapi_documents_the_bearer_scheme_and_the_problems(client: TestClient) -> None:
    assert_documents_edges(
        client.app.openapi(),  # type: ignore[attr-defined]
        private=[
            ("get", "/referential"),
            ("post", "/candidates/{candidate_id}/decisions"),
            ("post", "/candidates/{candidate_id}/submissions"),
            ("get", "/submissions/{submission_id}/artifact"),
            ("post", "/appeals/{appeal_id}/resolution"),
        ],
        public=[("get", "/healthz"), ("get", "/metrics")],
    )
