"""Revoking bloc certificates: on their own (``POST /bloc-certificates/{id}/revocation``) or with the diploma
(``include_bloc_certificates``), each with its ``bloc_certificate.revoked`` and its bit in the revocation list.
Measured before: a bloc certificate could not be revoked, and revoking the diploma left them all valid."""

from __future__ import annotations

import base64
import gzip
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.testing import auth, outbox_events

REASON = "Fraude à l'évaluation du bloc : décision du jury du 2026-11-28."
OFFICER = auth("officer", subject="officer-7")


@pytest.fixture
def issued(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> dict[str, Any]:
    """The candidate's progress (diploma and five bloc certificates)."""
    apply_events(app_ctx, *events.full_candidate())
    progress: dict[str, Any] = client.get(
        f"/candidates/{events.candidate_id}/progress", headers=OFFICER
    ).json()
    return progress


def credential(client: TestClient, certificate_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(
        f"/bloc-certificates/{certificate_id}/credential", headers=OFFICER
    ).json()
    return found


def verified(client: TestClient, presented: dict[str, Any]) -> bool:
    answer = client.post("/credentials/verify", json={"verifiableCredential": presented}).json()
    return bool(answer["verified"])


def revocation_bit(client: TestClient, presented: dict[str, Any]) -> int:
    entry = presented["credentialStatus"][0]
    subject = client.get(urlparse(entry["statusListCredential"]).path).json()["credentialSubject"]
    assert subject["statusPurpose"] == "revocation"
    encoded = subject["encodedList"][1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    index = int(entry["statusListIndex"])
    return (raw[index // 8] >> (7 - index % 8)) & 1


def revoke_bloc(client: TestClient, certificate_id: str, headers: Any = None, reason: str = REASON) -> Any:
    return client.post(
        f"/bloc-certificates/{certificate_id}/revocation", json={"reason": reason}, headers=headers or OFFICER
    )


def test_officer_revokes_a_bloc_certificate(
    client: TestClient, app_ctx: CertificationContext, issued: dict[str, Any], events: Any
) -> None:
    first, other = issued["certificates"][0], issued["certificates"][1]
    revoked = credential(client, first["certificate_id"])
    assert verified(client, revoked) and revocation_bit(client, revoked) == 0

    r = revoke_bloc(client, first["certificate_id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body | {"revoked_at": None} == {
        "certificate_id": first["certificate_id"],
        "candidate_id": events.candidate_id,
        "bloc": first["bloc"],
        "revoked_at": None,
        "reason": REASON,
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
    }
    [event] = outbox_events(app_ctx, ev.BLOC_CERTIFICATE_REVOKED)
    contract(ev.BLOC_CERTIFICATE_REVOKED).validate(event.data)
    assert event.subject == events.candidate_id
    assert event.data == {
        "certificate_id": first["certificate_id"],
        "candidate_id": events.candidate_id,
        "bloc": first["bloc"],
        "reason": REASON,
        "revoked_at": body["revoked_at"].replace("+00:00", "Z"),
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
    }

    assert revocation_bit(client, revoked) == 1
    answer = client.post("/credentials/verify", json={"verifiableCredential": revoked}).json()
    assert answer["verified"] is False and answer["errors"][0]["check"] == "status"
    assert answer["errors"][0]["detail"].startswith("revoked on ") and REASON in answer["errors"][0]["detail"]
    legacy = client.post("/verifications", json=revoked).json()
    assert legacy["valid"] is False and legacy["revocation"]["reason"] == REASON
    assert verified(client, credential(client, other["certificate_id"])), "the other blocs stay certified"
    assert client.get(f"/diplomas/{issued['diploma_id']}/verification").json()["valid"] is True


def test_revoking_a_bloc_certificate_again_keeps_the_first_revocation(
    client: TestClient, app_ctx: CertificationContext, issued: dict[str, Any]
) -> None:
    certificate_id = issued["certificates"][0]["certificate_id"]
    first = revoke_bloc(client, certificate_id).json()
    again = revoke_bloc(client, certificate_id, auth("admin", subject="admin-1"), "another reason")
    assert again.status_code == 200 and again.json() == first
    assert len(outbox_events(app_ctx, ev.BLOC_CERTIFICATE_REVOKED)) == 1


@pytest.mark.parametrize("roles", [("jury",), ("lms",), ("service",), ("candidate",)])
def test_only_officers_and_admins_revoke_bloc_certificates(
    client: TestClient,
    app_ctx: CertificationContext,
    issued: dict[str, Any],
    events: Any,
    roles: tuple[str, ...],
) -> None:
    certificate_id = issued["certificates"][0]["certificate_id"]
    headers = auth(*roles, candidate_id=events.candidate_id if "candidate" in roles else None)
    assert revoke_bloc(client, certificate_id, headers).status_code == 403
    assert (
        client.post(f"/bloc-certificates/{certificate_id}/revocation", json={"reason": REASON}).status_code
        == 401
    )
    assert outbox_events(app_ctx, ev.BLOC_CERTIFICATE_REVOKED) == []


def test_unknown_bloc_certificate_is_404(client: TestClient) -> None:
    r = revoke_bloc(client, "no-such-certificate")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "certificate_id"


def test_revoking_the_diploma_leaves_its_bloc_certificates_valid_by_default(
    client: TestClient, app_ctx: CertificationContext, issued: dict[str, Any]
) -> None:
    r = client.post(f"/diplomas/{issued['diploma_id']}/revocation", json={"reason": REASON}, headers=OFFICER)
    assert r.status_code == 200 and r.json()["revoked_bloc_certificates"] == []
    assert all(verified(client, credential(client, c["certificate_id"])) for c in issued["certificates"])
    assert outbox_events(app_ctx, ev.BLOC_CERTIFICATE_REVOKED) == []


def test_revoking_the_diploma_with_its_bloc_certificates_revokes_each(
    client: TestClient, app_ctx: CertificationContext, issued: dict[str, Any]
) -> None:
    certificates = [c["certificate_id"] for c in issued["certificates"]]
    revoke_bloc(client, certificates[0])  # revoked on its own before: not revoked again
    path = f"/diplomas/{issued['diploma_id']}/revocation"
    r = client.post(path, json={"reason": REASON, "include_bloc_certificates": True}, headers=OFFICER)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["revoked_bloc_certificates"]) == sorted(certificates[1:])
    emitted = outbox_events(app_ctx, ev.BLOC_CERTIFICATE_REVOKED)
    assert sorted(e.data["certificate_id"] for e in emitted) == sorted(certificates)
    for e in emitted[1:]:
        contract(ev.BLOC_CERTIFICATE_REVOKED).validate(e.data)
        assert e.data["diploma_id"] == issued["diploma_id"] and e.data["reason"] == REASON
    assert "diploma_id" not in emitted[0].data
    assert len(outbox_events(app_ctx, ev.DIPLOMA_REVOKED)) == 1
    for certificate_id in certificates:
        presented = credential(client, certificate_id)
        assert not verified(client, presented) and revocation_bit(client, presented) == 1

    again = client.post(path, json={"reason": REASON, "include_bloc_certificates": True}, headers=OFFICER)
    assert again.status_code == 200 and again.json()["revoked_bloc_certificates"] == []
    assert len(outbox_events(app_ctx, ev.BLOC_CERTIFICATE_REVOKED)) == len(certificates)


def test_include_bloc_certificates_after_the_diploma_was_revoked_revokes_them_then(
    client: TestClient, app_ctx: CertificationContext, issued: dict[str, Any]
) -> None:
    path = f"/diplomas/{issued['diploma_id']}/revocation"
    first = client.post(path, json={"reason": "Thèse plagiée."}, headers=OFFICER).json()
    later = client.post(path, json={"reason": REASON, "include_bloc_certificates": True}, headers=OFFICER)
    assert later.json()["reason"] == first["reason"] == "Thèse plagiée.", (
        "the diploma's first revocation stands"
    )
    assert len(later.json()["revoked_bloc_certificates"]) == len(issued["certificates"])
    assert len(outbox_events(app_ctx, ev.DIPLOMA_REVOKED)) == 1
