"""REST API with the background workers off (events applied through the handlers)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from certifia_certification.adapters.orm import diplomas
from certifia_certification.bootstrap import CertificationContext
from certifia_shared.testing import auth

OFFICER = auth("officer")


def test_progress_of_a_candidate_on_the_way(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    apply_events(app_ctx, events.enrolled(), events.bloc_passed("1"), events.bloc_passed("5A"))
    own = auth("candidate", candidate_id=events.candidate_id)
    r = client.get(f"/candidates/{events.candidate_id}/progress", headers=own)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["enrolled"] and body["path"] == "formation" and body["option"] is None
    assert body["blocs_passed"] == ["1", "5A"]
    assert [(b["bloc"], b["via"]) for b in body["blocs"]] == [("1", "assessment"), ("5A", "assessment")]
    assert [c["bloc"] for c in body["certificates"]] == ["1", "5A"]
    assert body["thesis"] == {
        "required": True,
        "status": "not_defended",
        "defence_id": None,
        "defended_at": None,
    }
    assert [m["code"] for m in body["missing"]] == ["bloc:2", "bloc:3", "bloc:4", "option", "thesis"]
    assert body["diploma_id"] is None
    r = client.get(f"/candidates/{events.candidate_id}/diploma", headers=OFFICER)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_who_may_read_progress(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    apply_events(app_ctx, events.enrolled(), events.bloc_passed("1"))
    url = f"/candidates/{events.candidate_id}/progress"
    for roles in (("jury",), ("officer",), ("admin",)):
        assert client.get(url, headers=auth(*roles)).status_code == 200
    assert client.get(url, headers=auth("lms", client_id="moodle")).status_code == 200  # who enrolled them
    assert client.get(url, headers=auth("lms", client_id="lms-other")).status_code == 404  # not disclosed
    assert client.get(url, headers=auth("candidate", candidate_id="someone-else")).status_code == 403
    assert client.get(url).status_code == 401


def test_unknown_candidate_is_a_problem_naming_candidate_id(client: TestClient) -> None:
    r = client.get("/candidates/nobody/progress", headers=OFFICER)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "candidate_id"
    assert "nobody" in r.json()["detail"]


def test_diploma_credential_and_public_verification(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    apply_events(app_ctx, *events.full_candidate())
    progress = client.get(f"/candidates/{events.candidate_id}/progress", headers=OFFICER).json()
    assert progress["missing"] == [] and progress["diploma_id"]
    diploma_id = progress["diploma_id"]
    own = auth("candidate", candidate_id=events.candidate_id)
    by_candidate = client.get(f"/candidates/{events.candidate_id}/diploma", headers=own).json()
    assert by_candidate["diploma_id"] == diploma_id
    assert by_candidate["verification_url"] == f"https://certifia.example/diplomas/{diploma_id}/verification"
    r = client.get(f"/diplomas/{diploma_id}", headers=own)
    assert r.status_code == 200
    credential = r.json()["credential"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert (
        client.get(f"/diplomas/{diploma_id}", headers=auth("candidate", candidate_id="x")).status_code == 404
    )
    assert client.get(f"/diplomas/{diploma_id}", headers=auth("lms")).status_code == 403

    check = client.get(f"/diplomas/{diploma_id}/verification")  # public: no token
    assert check.status_code == 200
    assert [c["check"] for c in check.json()["checks"]] == [
        "credential type",
        "issuer",
        "proof",
        "validity period",
        "status",
    ]
    assert all(c["passed"] for c in check.json()["checks"])
    assert check.json() | {"key_id": None, "checks": None} == {
        "valid": True,
        "reason": "the signature is valid",
        "diploma_id": diploma_id,
        "holder": "Ada Lovelace",
        "title": "Ingénieur en Intelligence Artificielle (MS)",
        "issued_at": credential["validFrom"],
        "issuer": "certifia",
        "key_id": None,
        "revocation": None,
        "suspended": False,
        "suspension": None,
        "checks": None,
    }
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in keys] == [check.json()["key_id"]]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519" and "d" not in keys[0]

    assert client.post("/verifications", json=credential).json()["valid"]
    credential["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    forged = client.post("/verifications", json=credential).json()
    assert not forged["valid"] and forged["holder"] == "Mallory"


def test_tampered_stored_diploma_is_reported_invalid(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    emitted = apply_events(app_ctx, *events.full_candidate())
    diploma_id = emitted[-1].data["diploma_id"]
    with app_ctx.uow() as uow:
        raw = json.loads(uow.session.execute(diplomas.select()).first().credential)  # type: ignore[union-attr]
        raw["validFrom"] = "2001-01-01T00:00:00Z"
        uow.session.execute(update(diplomas).values(credential=json.dumps(raw)))
        uow.commit()
    body = client.get(f"/diplomas/{diploma_id}/verification").json()
    assert body["valid"] is False and body["reason"] == "the signature does not match the credential"


def test_unknown_diploma_verification_is_404(client: TestClient) -> None:
    r = client.get("/diplomas/nope/verification")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "diploma_id"
