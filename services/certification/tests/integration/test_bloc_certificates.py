"""Bloc certificates as credentials of their own (issue 13, item 3): one per bloc passed, an OB 3.0
credential whose achievement is the bloc, signed eddsa-rdfc-2022 like the diploma, with an entry in the same
revocation status list, verified by POST /credentials/verify and by Digital Bazaar's verifier; the diploma
names them as evidence. Measured before: a bloc certificate was a row (id, bloc, date), no credential."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext
from certifia_shared.testing import auth

BASE = "https://certifia.example"
OFFICER = auth("officer")


def _issued(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> dict[str, Any]:
    apply_events(app_ctx, *events.full_candidate(given_name="Łukasz", family_name="Żółć"))
    progress: dict[str, Any] = client.get(
        f"/candidates/{events.candidate_id}/progress", headers=OFFICER
    ).json()
    return progress


def _credential(client: TestClient, certificate_id: str, headers: dict[str, str]) -> Any:
    return client.get(f"/bloc-certificates/{certificate_id}/credential", headers=headers)


def _verify(client: TestClient, credential: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = client.post(
        "/credentials/verify", json={"verifiableCredential": credential}
    ).json()
    return answer


def test_each_bloc_passed_is_a_signed_verifiable_credential_the_diploma_rests_on(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    progress = _issued(client, app_ctx, events, apply_events)
    certificates = progress["certificates"]
    assert [c["bloc"] for c in certificates] == ["1", "2", "3", "4", "5B"]
    own = auth("candidate", candidate_id=events.candidate_id)
    credentials = [_credential(client, c["certificate_id"], own).json() for c in certificates]
    status_entries = set()
    for certificate, credential in zip(certificates, credentials, strict=True):
        bloc = certificate["bloc"]
        achievement = credential["credentialSubject"]["achievement"]
        assert credential["id"] == f"urn:uuid:{certificate['certificate_id']}"
        assert "OpenBadgeCredential" in credential["type"]
        assert achievement["achievementType"] == "Certificate"
        assert achievement["name"] == f"Bloc {bloc}: {app_ctx.issuance.referential.bloc(bloc).title}"
        assert credential["credentialSubject"]["identifier"][0]["identityHash"] == "Łukasz Żółć"
        assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        status, suspension = credential["credentialStatus"]
        assert status["statusPurpose"] == "revocation" and suspension["statusPurpose"] == "suspension"
        status_entries.add((status["statusListCredential"], status["statusListIndex"]))
        answer = _verify(client, credential)
        assert answer["verified"], answer
        assert answer["checks"] == ["credential type", "issuer", "proof", "validity period", "status"]
        legacy = client.post("/verifications", json=credential).json()
        assert legacy["valid"], legacy
    assert len(status_entries) == 5, "one status list entry each"

    diploma = client.get(f"/diplomas/{progress['diploma_id']}", headers=own).json()["credential"]
    assert [e["id"] for e in diploma["evidence"]] == [c["id"] for c in credentials]
    assert diploma["credentialStatus"][0]["statusListCredential"] in {u for u, _ in status_entries}
    assert _verify(client, diploma)["verified"]


def test_a_tampered_bloc_certificate_is_rejected(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    progress = _issued(client, app_ctx, events, apply_events)
    credential = _credential(client, progress["certificates"][0]["certificate_id"], OFFICER).json()

    renamed = copy.deepcopy(credential)
    renamed["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    other_bloc = copy.deepcopy(credential)
    other_bloc["credentialSubject"]["achievement"]["name"] = "Bloc 5A: autre"
    for tampered in (renamed, other_bloc):
        answer = _verify(client, tampered)
        assert not answer["verified"]
        assert [e["check"] for e in answer["errors"]] == ["proof"], answer


def test_bloc_certificate_credentials_are_candidate_scoped(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    progress = _issued(client, app_ctx, events, apply_events)
    certificate_id = progress["certificates"][0]["certificate_id"]
    assert _credential(client, certificate_id, auth("lms", client_id="moodle")).status_code == 200
    assert _credential(client, certificate_id, auth("lms", client_id="lms-other")).status_code == 404
    assert _credential(client, certificate_id, auth("candidate", candidate_id="x")).status_code == 404
    assert _credential(client, "no-such-certificate", OFFICER).status_code == 404
    assert client.get(f"/bloc-certificates/{certificate_id}/credential").status_code == 401
