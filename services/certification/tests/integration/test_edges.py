"""Input hygiene at the edge, the public routes and the OpenAPI document (certifia_shared.hygiene, .web).
Measured before: control characters, ANSI escapes and U+202E were accepted in a revocation reason (which
every verification of the diploma shows), and a 50 MB body was parsed by the public POST /verifications."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext
from certifia_shared import event_types as ev
from certifia_shared.edge_testing import (
    COMPOSED,
    DECOMPOSED,
    MiB,
    assert_documents_edges,
    hostile,
    refused_fields,
)
from certifia_shared.testing import auth, outbox_events

OFFICER = auth("officer", subject="officer-7")
REASON = "Thèse plagiée : décision du jury de certification du 2026-11-28."


def _issue(ctx: CertificationContext, make_events: Any, apply_events: Any) -> str:
    emitted = apply_events(ctx, *make_events().full_candidate())
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    return str(emitted[-1].data["diploma_id"])


def test_a_hostile_revocation_reason_is_422_naming_it_and_revokes_nothing(
    client: TestClient, app_ctx: CertificationContext, make_events: Any, apply_events: Any
) -> None:
    diploma_id = _issue(app_ctx, make_events, apply_events)
    for what, value in hostile(REASON).items():
        response = client.post(f"/diplomas/{diploma_id}/revocation", json={"reason": value}, headers=OFFICER)
        assert refused_fields(response) == {"reason"}, (what, response.text)
    assert outbox_events(app_ctx, ev.DIPLOMA_REVOKED) == []
    assert client.get(f"/diplomas/{diploma_id}/verification").json()["valid"] is True


def test_a_revocation_reason_is_stored_in_nfc_and_shown_so(
    client: TestClient, app_ctx: CertificationContext, make_events: Any, apply_events: Any
) -> None:
    diploma_id = _issue(app_ctx, make_events, apply_events)
    reason = f"  Fraude de {DECOMPOSED} avérée. "
    response = client.post(f"/diplomas/{diploma_id}/revocation", json={"reason": reason}, headers=OFFICER)
    assert response.status_code == 200, response.text
    assert response.json()["reason"] == f"Fraude de {COMPOSED} avérée."
    [event] = outbox_events(app_ctx, ev.DIPLOMA_REVOKED)
    assert event.data["reason"] == f"Fraude de {COMPOSED} avérée."
    check = client.get(f"/diplomas/{diploma_id}/verification").json()
    assert check["revocation"]["reason"] == f"Fraude de {COMPOSED} avérée."


def test_the_public_verification_reads_little(
    client: TestClient, app_ctx: CertificationContext, make_events: Any, apply_events: Any
) -> None:
    diploma_id = _issue(app_ctx, make_events, apply_events)
    credential = client.get(f"/diplomas/{diploma_id}", headers=OFFICER).json()["credential"]
    assert client.post("/verifications", json=credential).json()["valid"] is True  # no token, a few KiB
    padded = {**credential, "padding": "x" * (2 * MiB)}
    refused = client.post(
        "/verifications", content=json.dumps(padded), headers={"content-type": "application/json"}
    )
    assert refused.status_code == 413, refused.text
    assert refused.json()["limit_bytes"] == 64 * 1024 and refused.json()["type"].endswith("/body-too-large")
    assert "no-store" not in client.get("/.well-known/jwks.json").headers.get("cache-control", "")
    wrapped = {"verifiableCredential": padded}
    refused = client.post(
        "/credentials/verify", content=json.dumps(wrapped), headers={"content-type": "application/json"}
    )
    assert refused.status_code == 413, refused.text


def test_openapi_documents_the_bearer_scheme_and_the_problems(client: TestClient) -> None:
    assert_documents_edges(
        client.app.openapi(),  # type: ignore[attr-defined]
        private=[
            ("get", "/candidates/{candidate_id}/progress"),
            ("get", "/diplomas/{diploma_id}"),
            ("get", "/diplomas/{diploma_id}/pdf"),
            ("post", "/diplomas/{diploma_id}/revocation"),
        ],
        public=[
            ("get", "/.well-known/jwks.json"),
            ("get", "/.well-known/did.json"),
            ("post", "/credentials/verify"),
            ("get", "/status-lists/{list_id}"),
            ("get", "/diplomas/{diploma_id}/verification"),
            ("get", "/diplomas/{diploma_id}/verify"),
            ("post", "/verifications"),
        ],
    )
