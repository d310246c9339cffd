"""Suspension (issue 13 item 4): a Bitstring Status List of purpose ``suspension`` beside the revocation one;
officers suspend a diploma or a bloc certificate while an appeal or an investigation runs and lift it, audited;
verification reports it suspended with date and reason (REST on SQLite, no broker). Measured before: no
suspension list, no suspension route, a credential had one status entry (revocation)."""

from __future__ import annotations

import base64
import gzip
import threading
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext
from certifia_certification.domain.credential import sign
from certifia_certification.service_layer.suspension import ChangeSuspension, change_suspension
from certifia_certification.service_layer.verification import check_credential
from certifia_shared.testing import auth, outbox_events

REASON = "Recours du candidat en cours d'examen (jury d'appel du 2026-12-10)."
LIFTED = "Recours rejeté par le jury d'appel."
OFFICER = auth("officer", subject="officer-7")


def issue(ctx: CertificationContext, candidate: Any, apply_events: Any) -> str:
    emitted = apply_events(ctx, *candidate.full_candidate())
    return str(emitted[-1].data["diploma_id"])


def credential_of(client: TestClient, diploma_id: str) -> dict[str, Any]:
    credential: dict[str, Any] = client.get(f"/diplomas/{diploma_id}", headers=OFFICER).json()["credential"]
    return credential


def suspend(client: TestClient, path: str, reason: str = REASON, headers: Any = None) -> Any:
    return client.post(f"{path}/suspension", json={"reason": reason}, headers=headers or OFFICER)


def lift(client: TestClient, path: str, reason: str = LIFTED, headers: Any = None) -> Any:
    return client.post(f"{path}/suspension/lift", json={"reason": reason}, headers=headers or OFFICER)


def bit(client: TestClient, entry: dict[str, str]) -> int:
    """The entry's bit in the status list it names, decoded by hand as a spec-only verifier would."""
    published = client.get(urlparse(entry["statusListCredential"]).path).json()
    assert published["credentialSubject"]["statusPurpose"] == entry["statusPurpose"]
    encoded = published["credentialSubject"]["encodedList"][1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    index = int(entry["statusListIndex"])
    return (raw[index // 8] >> (7 - index % 8)) & 1


def vc_api(client: TestClient, credential: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = client.post(
        "/credentials/verify", json={"verifiableCredential": credential}
    ).json()
    return answer


@pytest.fixture
def diploma_id(app_ctx: CertificationContext, events: Any, apply_events: Any) -> str:
    return issue(app_ctx, events, apply_events)


def test_a_new_diploma_has_a_revocation_and_a_suspension_entry(client: TestClient, diploma_id: str) -> None:
    revocation, suspension = credential_of(client, diploma_id)["credentialStatus"]
    assert revocation["statusPurpose"] == "revocation" and suspension["statusPurpose"] == "suspension"
    assert revocation["statusListCredential"] != suspension["statusListCredential"]
    published = client.get(urlparse(suspension["statusListCredential"]).path)  # public: no token
    assert published.status_code == 200
    assert published.json()["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert published.json()["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert bit(client, revocation) == 0 and bit(client, suspension) == 0


def test_officer_suspends_then_lifts_a_diploma(
    client: TestClient, app_ctx: CertificationContext, diploma_id: str
) -> None:
    path = f"/diplomas/{diploma_id}"
    credential = credential_of(client, diploma_id)
    revocation_entry, suspension_entry = credential["credentialStatus"]

    r = suspend(client, path)
    assert r.status_code == 200, r.text
    body = r.json()
    suspended_at = datetime.fromisoformat(body["suspended_at"])
    assert body | {"suspended_at": None, "history": None} == {
        "diploma_id": diploma_id,
        "candidate_id": credential["credentialSubject"]["id"].rpartition(":")[2],
        "suspended": True,
        "suspended_at": None,
        "reason": REASON,
        "suspended_by": "officer-7",
        "suspended_by_role": "officer",
        "history": None,
    }
    assert body["history"] == [
        {
            "action": "suspended",
            "at": body["suspended_at"],
            "reason": REASON,
            "by": "officer-7",
            "by_role": "officer",
        }
    ]
    assert bit(client, suspension_entry) == 1 and bit(client, revocation_entry) == 0

    statement = f"suspended on {suspended_at.date().isoformat()}: {REASON}"
    check = client.get(f"{path}/verification").json()  # public
    assert check["valid"] is False and check["reason"] == statement
    assert check["suspended"] is True and check["revocation"] is None
    assert check["suspension"] == {"suspended_at": body["suspended_at"], "reason": REASON}
    presented = client.post("/verifications", json=credential).json()
    assert presented["valid"] is False and presented["reason"] == statement
    answer = vc_api(client, credential)
    assert answer["verified"] is False and answer["errors"] == [{"check": "status", "detail": statement}]
    page = client.get(f"{path}/verify").text
    assert "Diplôme suspendu" in page and "Recours du candidat" in page

    admin = auth("admin", subject="admin-1")
    lifted = lift(client, path, headers=admin)
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["suspended"] is False and lifted.json()["reason"] is None
    assert [(h["action"], h["by"], h["by_role"], h["reason"]) for h in lifted.json()["history"]] == [
        ("suspended", "officer-7", "officer", REASON),
        ("lifted", "admin-1", "admin", LIFTED),
    ]
    assert bit(client, suspension_entry) == 0
    assert client.get(f"{path}/verification").json()["valid"] is True
    assert vc_api(client, credential)["verified"] is True
    shown = client.get(f"{path}/suspension", headers=OFFICER).json()
    assert shown["suspended"] is False and shown["history"] == lifted.json()["history"]
    assert outbox_events(app_ctx, "fr.certifia.certification.diploma.revoked.v1") == []


def test_suspending_again_keeps_the_suspension_in_force_and_lifting_twice_changes_nothing(
    client: TestClient, diploma_id: str
) -> None:
    path = f"/diplomas/{diploma_id}"
    first = suspend(client, path).json()
    again = suspend(client, path, "another reason", auth("admin", subject="admin-1"))
    assert again.status_code == 200 and again.json() == first and len(first["history"]) == 1
    assert lift(client, path).json()["suspended"] is False
    twice = lift(client, path, "again")
    assert twice.status_code == 200 and len(twice.json()["history"]) == 2


def test_a_suspended_credential_is_told_by_its_status_list_alone(
    client: TestClient, app_ctx: CertificationContext, diploma_id: str
) -> None:
    """Without the records (``diploma_id=None``), the suspension list entry tells."""
    credential = credential_of(client, diploma_id)
    suspend(client, f"/diplomas/{diploma_id}")
    result = check_credential(credential, uow=app_ctx.uow(), issuance=app_ctx.issuance, diploma_id=None)
    assert not result.valid and result.failure == "suspended"
    assert result.reason == "suspended: its suspension status list entry is set"


def test_a_credential_with_a_revocation_entry_only_still_verifies_and_can_be_suspended(
    client: TestClient, app_ctx: CertificationContext, diploma_id: str
) -> None:
    """As issued before suspension existed: ``credentialStatus`` a single revocation entry (not a list)."""
    stored = credential_of(client, diploma_id)
    old = {k: v for k, v in stored.items() if k != "proof"}
    old["credentialStatus"] = stored["credentialStatus"][0]
    issuer = app_ctx.issuance
    old = sign(
        old, issuer.keys.active(), verification_method=issuer.verification_method(), created=datetime.now()
    )
    assert vc_api(client, old)["verified"] is True
    suspend(client, f"/diplomas/{diploma_id}")  # from the records: the old credential has no suspension entry
    answer = vc_api(client, old)
    assert answer["verified"] is False and answer["errors"][0]["detail"].endswith(REASON)


def test_a_revoked_diploma_is_not_suspended(client: TestClient, diploma_id: str) -> None:
    path = f"/diplomas/{diploma_id}"
    assert client.post(f"{path}/revocation", json={"reason": "Fraude."}, headers=OFFICER).status_code == 200
    r = suspend(client, path)
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "Revocation is final" in r.json()["detail"] and "Fraude." in r.json()["detail"]
    assert client.get(f"{path}/suspension", headers=OFFICER).json()["history"] == []


@pytest.mark.parametrize("roles", [("jury",), ("lms",), ("service",), ("candidate",)])
def test_only_officers_and_admins_suspend_and_lift(
    client: TestClient, diploma_id: str, roles: tuple[str, ...]
) -> None:
    path = f"/diplomas/{diploma_id}"
    holder = credential_of(client, diploma_id)["credentialSubject"]["id"].rpartition(":")[2]
    headers = auth(*roles, candidate_id=holder if "candidate" in roles else None)
    assert suspend(client, path, headers=headers).status_code == 403
    assert client.post(f"{path}/suspension", json={"reason": REASON}).status_code == 401
    assert client.get(f"{path}/suspension", headers=headers).status_code == 403
    suspend(client, path)
    assert lift(client, path, headers=headers).status_code == 403
    assert client.get(f"{path}/verification").json()["suspended"] is True


@pytest.mark.parametrize("body", [{"reason": ""}, {"reason": "x" * 501}, {}, {"reason": "two\nlines"}])
def test_a_reason_is_required(client: TestClient, diploma_id: str, body: dict[str, Any]) -> None:
    for action in ("suspension", "suspension/lift"):
        r = client.post(f"/diplomas/{diploma_id}/{action}", json=body, headers=OFFICER)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["reason"]


def test_unknown_credentials_are_404(client: TestClient) -> None:
    r = suspend(client, "/diplomas/nope")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "diploma_id"
    r = lift(client, "/bloc-certificates/nope")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "certificate_id"


def test_officer_suspends_then_lifts_a_bloc_certificate(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    diploma_id = issue(app_ctx, events, apply_events)
    progress = client.get(f"/candidates/{events.candidate_id}/progress", headers=OFFICER).json()
    certificate_id = progress["certificates"][0]["certificate_id"]
    path = f"/bloc-certificates/{certificate_id}"
    credential = client.get(f"{path}/credential", headers=OFFICER).json()
    _, entry = credential["credentialStatus"]

    r = suspend(client, path)
    assert r.status_code == 200 and r.json()["certificate_id"] == certificate_id and r.json()["suspended"]
    assert bit(client, entry) == 1
    answer = vc_api(client, credential)
    assert answer["verified"] is False and answer["errors"][0]["detail"].startswith("suspended on ")
    assert client.post("/verifications", json=credential).json()["suspension"]["reason"] == REASON
    assert vc_api(client, credential_of(client, diploma_id))["verified"] is True, "the diploma is not"

    assert lift(client, path).json()["suspended"] is False
    assert bit(client, entry) == 0 and vc_api(client, credential)["verified"] is True
    history = client.get(f"{path}/suspension", headers=OFFICER).json()["history"]
    assert [h["action"] for h in history] == ["suspended", "lifted"]


def test_the_diploma_shows_its_suspension(client: TestClient, diploma_id: str) -> None:
    holder = credential_of(client, diploma_id)["credentialSubject"]["id"].rpartition(":")[2]
    own = auth("candidate", candidate_id=holder)
    assert client.get(f"/diplomas/{diploma_id}", headers=own).json()["suspended"] is False
    suspend(client, f"/diplomas/{diploma_id}")
    shown = client.get(f"/candidates/{holder}/diploma", headers=own).json()
    assert shown["suspended"] is True and shown["suspension_reason"] == REASON and shown["suspended_since"]


def test_officers_suspending_at_once_record_one_suspension(
    app_ctx: CertificationContext, diploma_id: str
) -> None:
    """SQLite has no row lock: the update that applies only to a diploma not yet suspended decides."""
    results: list[tuple[str | None, bool]] = []
    start = threading.Barrier(4)

    def officer(n: int) -> None:
        cmd = ChangeSuspension("diploma", diploma_id, "suspend", f"reason {n}", f"officer-{n}", "officer")
        start.wait()
        state = change_suspension(cmd, uow=app_ctx.uow())
        results.append((state.suspension.reason if state.suspension else None, state.changed))

    threads = [threading.Thread(target=officer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4 and sum(changed for _, changed in results) == 1
    assert len({reason for reason, _ in results}) == 1 and None not in {reason for reason, _ in results}
    with app_ctx.uow() as uow:
        assert len(uow.suspensions.history("diploma", diploma_id)) == 1


def test_the_pdf_of_a_suspended_diploma_is_stamped_suspended(
    client: TestClient, diploma_id: str, pdf_text: Any
) -> None:
    suspend(client, f"/diplomas/{diploma_id}")
    text = pdf_text(client.get(f"/diplomas/{diploma_id}/pdf", headers=OFFICER).content)
    assert "SUSPENDU" in text and "Diplôme suspendu depuis le" in text
    lift(client, f"/diplomas/{diploma_id}")
    assert "SUSPENDU" not in pdf_text(client.get(f"/diplomas/{diploma_id}/pdf", headers=OFFICER).content)
