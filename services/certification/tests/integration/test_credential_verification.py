"""Verifying a presented credential as an employer does (``POST /credentials/verify``, VC API shaped, and
``POST /verifications``): only this issuer's diplomas, with the standard proof and its options, the
controller document (did:web), the validity period and the status (REST on SQLite, no broker)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext, create_application
from certifia_certification.domain.credential import sign
from certifia_certification.domain.signing import SigningKey, multikey
from certifia_shared import event_types as ev
from certifia_shared.testing import auth

OFFICER = auth("officer", subject="officer-7")
DID = "did:web:certifia.example"
ALL_CHECKS = ["credential type", "issuer", "proof", "validity period", "status"]


def issue(ctx: CertificationContext, candidate: Any, apply_events: Any) -> dict[str, Any]:
    emitted = apply_events(ctx, *candidate.full_candidate())
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    with ctx.uow() as uow:
        diploma = uow.progress.diploma(str(emitted[-1].data["diploma_id"]))
    assert diploma is not None
    return copy.deepcopy(diploma.credential)


@pytest.fixture
def diploma(app_ctx: CertificationContext, events: Any, apply_events: Any) -> dict[str, Any]:
    return issue(app_ctx, events, apply_events)


def vc_api(client: TestClient, credential: Any) -> dict[str, Any]:
    r = client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def legacy_api(client: TestClient, credential: Any) -> dict[str, Any]:
    r = client.post("/verifications", json=credential)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_diploma_verifies_and_each_check_is_reported(client: TestClient, diploma: dict[str, Any]) -> None:
    assert vc_api(client, diploma) == {"verified": True, "checks": ALL_CHECKS, "warnings": [], "errors": []}
    assert diploma["issuer"]["id"] == DID
    assert diploma["proof"]["verificationMethod"].startswith(f"{DID}#")
    assert diploma["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    legacy = legacy_api(client, diploma)
    assert legacy["valid"] is True and [c["check"] for c in legacy["checks"]] == ALL_CHECKS


def _replace_host(c: dict[str, Any]) -> None:
    c["proof"]["verificationMethod"] = c["proof"]["verificationMethod"].replace(
        "certifia.example", "evil.example"
    )


# The issue's Why: each of these answered ``valid: true`` (the proof options were not signed).
TAMPERED: dict[str, Callable[[dict[str, Any]], None]] = {
    "proof.created": lambda c: c["proof"].update(created="2020-01-01T00:00:00Z"),
    "proofPurpose": lambda c: c["proof"].update(proofPurpose="authentication"),
    "verificationMethod host": _replace_host,
    "holder name": lambda c: c["credentialSubject"]["identifier"][0].update(identityHash="Mallory"),
}


@pytest.mark.parametrize("what", list(TAMPERED))
def test_a_changed_proof_option_or_claim_is_not_verified(
    client: TestClient, diploma: dict[str, Any], what: str
) -> None:
    TAMPERED[what](diploma)
    result = vc_api(client, diploma)
    assert result["verified"] is False
    assert result["checks"] == ["credential type", "issuer", "proof"]
    [error] = result["errors"]
    assert error["check"] == "proof", error
    assert legacy_api(client, diploma)["valid"] is False


def test_the_status_list_credential_is_not_a_diploma(client: TestClient, diploma: dict[str, Any]) -> None:
    url = diploma["credentialStatus"][0]["statusListCredential"]
    status_list = client.get(url.removeprefix("https://certifia.example")).json()
    assert status_list["proof"]["cryptosuite"] == "eddsa-rdfc-2022"  # signed by the issuer all the same
    result = vc_api(client, status_list)
    assert result["verified"] is False and result["checks"] == ["credential type"]
    assert "not a credential of a kind this issuer issues" in result["errors"][0]["detail"]
    legacy = legacy_api(client, status_list)
    assert legacy["valid"] is False and "not a credential of a kind" in legacy["reason"]


def test_a_revoked_diploma_is_not_verified(client: TestClient, diploma: dict[str, Any]) -> None:
    diploma_id = diploma["id"].removeprefix("urn:uuid:")
    r = client.post(f"/diplomas/{diploma_id}/revocation", json={"reason": "Fraude."}, headers=OFFICER)
    assert r.status_code == 200
    result = vc_api(client, diploma)
    assert result["verified"] is False and result["checks"] == ALL_CHECKS
    assert result["errors"] == [{"check": "status", "detail": result["errors"][0]["detail"]}]
    assert "Fraude." in result["errors"][0]["detail"]


def _resigned(ctx: CertificationContext, credential: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The credential changed and signed again by the issuer's own key (what only the issuer can do)."""
    unsigned = {k: v for k, v in credential.items() if k != "proof"} | changes
    issuer = ctx.issuance
    return sign(
        unsigned,
        issuer.keys.active(),
        verification_method=issuer.verification_method(),
        created=datetime.now(UTC),
    )


def test_dates_are_checked(
    client: TestClient, app_ctx: CertificationContext, diploma: dict[str, Any]
) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    earlier = "2026-01-01T00:00:00Z"
    future = vc_api(client, _resigned(app_ctx, diploma, validFrom=later))
    assert future["verified"] is False and future["errors"][0]["check"] == "validity period"
    expired = vc_api(
        client, _resigned(app_ctx, diploma, validFrom=earlier, validUntil="2026-02-01T00:00:00Z")
    )
    assert expired["verified"] is False and "expired" in expired["errors"][0]["detail"]
    still = vc_api(client, _resigned(app_ctx, diploma, validUntil="2999-01-01T00:00:00Z"))
    assert still["verified"] is True


def test_another_issuer_or_an_undefined_term_is_refused(
    client: TestClient, app_ctx: CertificationContext, diploma: dict[str, Any]
) -> None:
    other = _resigned(app_ctx, diploma, issuer={"id": "did:web:other.example", "type": ["Profile"]})
    result = vc_api(client, other)
    assert result["verified"] is False and result["errors"][0]["check"] == "issuer"
    diploma["nickname"] = "not defined by any context"  # JSON-LD would drop it: outside the signature
    result = vc_api(client, diploma)
    assert result["verified"] is False and "undefined term 'nickname'" in result["errors"][0]["detail"]


def test_a_credential_of_the_retired_suite_is_refused(client: TestClient, diploma: dict[str, Any]) -> None:
    diploma["proof"] |= {"cryptosuite": "certifia-eddsa-sortedjson-2025", "proofValue": "AAAA"}
    result = vc_api(client, diploma)
    assert result["verified"] is False and "certifia-eddsa-sortedjson-2025" in result["errors"][0]["detail"]


@pytest.mark.parametrize("body", [{}, {"verifiableCredential": "x"}, {"verifiableCredential": [1]}, []])
def test_a_malformed_request_is_422(client: TestClient, body: Any) -> None:
    r = client.post("/credentials/verify", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_the_controller_document_is_public_and_lists_the_keys(
    client: TestClient, app_ctx: CertificationContext
) -> None:
    r = client.get("/.well-known/did.json")  # no token
    assert r.status_code == 200
    key = app_ctx.issuance.keys.active()
    method = f"{DID}#{key.kid}"
    assert r.json() == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": multikey(key.public_key),
            }
        ],
        "assertionMethod": [method],
    }
    assert client.get("/did.json").json() == r.json()


def test_a_rotation_keeps_old_diplomas_verifying(
    sqlite_url: str, settings_for: Any, key_setting: Any, make_events: Any, apply_events: Any
) -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    credentials = []
    for key in (old, new):
        settings = settings_for(sqlite_url, CERTIFIA_SIGNING_KEY=key_setting(key))
        with TestClient(create_application(settings)) as client:
            app: Any = client.app
            credentials.append(issue(app.state.ctx, make_events(), apply_events))
    assert credentials[0]["proof"]["verificationMethod"] == f"{DID}#{old.kid}"
    assert credentials[1]["proof"]["verificationMethod"] == f"{DID}#{new.kid}"
    with TestClient(create_application(settings)) as client:
        document = client.get("/.well-known/did.json").json()
        assert document["assertionMethod"] == [f"{DID}#{old.kid}", f"{DID}#{new.kid}"]
        for credential in credentials:
            assert vc_api(client, credential)["verified"] is True


def test_the_issuer_did_may_be_configured(sqlite_url: str, settings_for: Any) -> None:
    settings = settings_for(sqlite_url, CERTIFIA_ISSUER_DID="did:web:diplomes.example.fr")
    with TestClient(create_application(settings)) as client:
        assert client.get("/.well-known/did.json").json()["id"] == "did:web:diplomes.example.fr"
    with pytest.raises(ValueError, match="CERTIFIA_ISSUER_DID"):
        settings_for(sqlite_url, CERTIFIA_ISSUER_DID="https://diplomes.example.fr")
