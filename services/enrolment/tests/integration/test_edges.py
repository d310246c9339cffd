"""Input hygiene at the edge and the OpenAPI document (certifia_shared.hygiene, certifia_shared.web): measured
before, NUL, C0 controls, ANSI escapes, CR/LF and U+202E were accepted in names and external ids, and such a
name ended in a signed diploma."""

from __future__ import annotations

from typing import Any

import pytest

from certifia_shared import event_types as ev
from certifia_shared.edge_testing import (
    COMPOSED,
    DECOMPOSED,
    assert_documents_edges,
    hostile,
    refused_fields,
)
from certifia_shared.testing import auth

LMS = auth("lms", subject="moodle-client", client_id="moodle")
OFFICER = auth("officer")
BODY = {
    "external_id": "moodle-42",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "email": "ada@example.org",
    "cohort": "2025-A",
}


@pytest.mark.parametrize("field", ["external_id", "given_name", "family_name", "email", "cohort"])
def test_hostile_text_in_an_enrolment_is_422_naming_the_field_and_writes_nothing(
    app: Any, field: str
) -> None:
    for what, value in hostile(str(BODY[field])).items():
        response = app.client.post("/candidates", json={**BODY, field: value}, headers=LMS)
        assert refused_fields(response) == {field}, (what, response.text)
    assert app.outbox() == []
    assert app.client.get("/candidates", headers=OFFICER).json() == []


def test_an_external_id_is_printable_ascii_without_spaces(app: Any) -> None:
    for value in ("moodle 42", "moodle-４２", "moodle-42\u200b"):
        response = app.client.post("/candidates", json={**BODY, "external_id": value}, headers=LMS)
        assert refused_fields(response) == {"external_id"}, value
    assert app.outbox() == []


def test_a_hostile_withdrawal_reason_or_webhook_description_is_refused(app: Any) -> None:
    candidate_id = app.client.post("/candidates", json=BODY, headers=LMS).json()["id"]
    for what, value in hostile("Réorientation", free_text=True).items():
        response = app.client.post(
            f"/candidates/{candidate_id}/withdrawal", json={"reason": value}, headers=LMS
        )
        assert refused_fields(response) == {"reason"}, what
        subscription = {"url": "https://lms.example.org/hooks", "description": value}
        assert refused_fields(app.client.post("/webhooks", json=subscription, headers=LMS)) == {
            "description"
        }, what
    assert [e.type for e in app.outbox()] == [ev.CANDIDATE_ENROLLED]  # no withdrawal
    assert app.client.get("/webhooks", headers=LMS).json() == []


def test_names_are_stored_in_nfc_and_trimmed(app: Any) -> None:
    body = {**BODY, "given_name": f"  {DECOMPOSED} ", "family_name": "Lovelace\u00a0Byron"}
    response = app.client.post("/candidates", json=body, headers=LMS)
    assert response.status_code == 201, response.text
    assert response.json()["given_name"] == COMPOSED and len(COMPOSED) == 6
    assert response.json()["family_name"] == "Lovelace Byron"  # a no-break space reads as a space
    [event] = app.outbox()
    assert event.data["given_name"] == COMPOSED


def test_openapi_documents_the_bearer_scheme_and_the_problems(app: Any) -> None:
    document = app.client.app.openapi()
    assert_documents_edges(
        document,
        private=[
            ("post", "/candidates"),
            ("get", "/candidates/{candidate_id}"),
            ("post", "/candidates/{candidate_id}/withdrawal"),
            ("post", "/webhooks"),
        ],
        public=[("get", "/healthz")],
    )
    enrolment = document["components"]["schemas"]["EnrolmentRequest"]["properties"]
    assert enrolment["external_id"]["pattern"] == r"^[!-~]+$"
    assert enrolment["given_name"]["maxLength"] == 200
