"""Revoking diplomas, the public status lists and what verification then says (REST on SQLite, no broker)."""

from __future__ import annotations

import base64
import gzip
import threading
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext, create_application
from certifia_certification.domain.controller import assertion_keys
from certifia_certification.domain.credential import sign, verify
from certifia_certification.domain.signing import SigningKey
from certifia_certification.domain.status_list import Bitstring, status_entry
from certifia_certification.service_layer.revocation import RevokeDiploma, revoke_diploma
from certifia_certification.service_layer.verification import check_credential
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.testing import auth, outbox_events

REASON = "Thèse plagiée : décision du jury de certification du 2026-11-28."
OFFICER = auth("officer", subject="officer-7")


def issue(ctx: CertificationContext, candidate: Any, apply_events: Any) -> str:
    emitted = apply_events(ctx, *candidate.full_candidate())
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    return str(emitted[-1].data["diploma_id"])


def revoke(client: TestClient, diploma_id: str, body: Any = None, headers: Any = None) -> Any:
    payload = {"reason": REASON} if body is None else body
    return client.post(f"/diplomas/{diploma_id}/revocation", json=payload, headers=headers or OFFICER)


def credential_of(client: TestClient, diploma_id: str) -> dict[str, Any]:
    credential: dict[str, Any] = client.get(f"/diplomas/{diploma_id}", headers=OFFICER).json()["credential"]
    return credential


def assertion_methods(client: TestClient) -> dict[str, Any]:
    """The issuer's keys as its public controller document lists them for assertionMethod."""
    return assertion_keys(client.get("/.well-known/did.json").json())


def bits_of(status_list: dict[str, Any]) -> bytes:
    """Decode ``encodedList`` by hand, as a verifier that knows only the spec would."""
    encoded = status_list["credentialSubject"]["encodedList"]
    assert encoded[0] == "u"
    return gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))


def bit(raw: bytes, index: int) -> int:
    return (raw[index // 8] >> (7 - index % 8)) & 1


@pytest.fixture
def two_diplomas(app_ctx: CertificationContext, make_events: Any, apply_events: Any) -> tuple[str, str]:
    """Two candidates' diplomas: the first will be revoked, the second not."""
    return issue(app_ctx, make_events(), apply_events), issue(app_ctx, make_events(), apply_events)


def test_officer_revokes_a_diploma(
    client: TestClient, app_ctx: CertificationContext, two_diplomas: tuple[str, str]
) -> None:
    revoked_id, kept_id = two_diplomas
    holder = credential_of(client, revoked_id)["credentialSubject"]["id"].rpartition(":")[2]
    r = revoke(client, revoked_id)
    assert r.status_code == 200, r.text
    body = r.json()
    revoked_at = datetime.fromisoformat(body["revoked_at"])
    assert body == {
        "diploma_id": revoked_id,
        "candidate_id": holder,
        "revoked_at": body["revoked_at"],
        "reason": REASON,
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
        "revoked_bloc_certificates": [],
    }

    [event] = outbox_events(app_ctx, ev.DIPLOMA_REVOKED)
    contract(ev.DIPLOMA_REVOKED).validate(event.data)
    assert event.subject == holder
    assert event.data == {
        "diploma_id": revoked_id,
        "candidate_id": holder,
        "reason": REASON,
        "revoked_at": revoked_at.isoformat().replace("+00:00", "Z"),
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
    }

    check = client.get(f"/diplomas/{revoked_id}/verification").json()  # public: no token
    assert check["valid"] is False
    assert check["reason"] == f"revoked on {revoked_at.date().isoformat()}: {REASON}"
    assert check["revocation"] == {"revoked_at": body["revoked_at"], "reason": REASON}
    assert check["holder"] == "Ada Lovelace" and check["key_id"]
    presented = client.post("/verifications", json=credential_of(client, revoked_id)).json()
    assert presented["valid"] is False and presented["reason"] == check["reason"]

    kept = client.get(f"/diplomas/{kept_id}/verification").json()
    assert kept["valid"] is True and kept["revocation"] is None
    assert client.post("/verifications", json=credential_of(client, kept_id)).json()["valid"] is True


def test_status_list_is_public_signed_and_has_the_revoked_bit_set(
    client: TestClient, two_diplomas: tuple[str, str]
) -> None:
    revoked_id, kept_id = two_diplomas
    revoked_entry = credential_of(client, revoked_id)["credentialStatus"][0]
    kept_entry = credential_of(client, kept_id)["credentialStatus"][0]
    assert revoked_entry["statusPurpose"] == kept_entry["statusPurpose"] == "revocation"
    url = revoked_entry["statusListCredential"]
    assert url == kept_entry["statusListCredential"] and url.startswith(
        "https://certifia.example/status-lists/"
    )
    path = urlparse(url).path
    revoked_index, kept_index = int(revoked_entry["statusListIndex"]), int(kept_entry["statusListIndex"])

    before = client.get(path)  # no token
    assert before.status_code == 200
    assert not any(bits_of(before.json()))

    assert revoke(client, revoked_id).status_code == 200
    status_list = client.get(path).json()
    assert status_list["id"] == url
    assert status_list["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert status_list["issuer"] == {"id": "did:web:certifia.example", "name": "certifia"}
    subject = status_list["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    raw = bits_of(status_list)
    assert len(raw) == 16 * 1024
    assert bit(raw, revoked_index) == 1
    assert bit(raw, kept_index) == 0
    assert sum(bin(b).count("1") for b in raw) == 1, "bloc certificates share the list: still unrevoked"

    keys = assertion_methods(client)
    result = verify(status_list, keys.get)
    assert result.valid, result.reason
    assert status_list["proof"]["verificationMethod"] == f"did:web:certifia.example#{result.kid}"
    assert status_list["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    status_list["credentialSubject"]["encodedList"] = Bitstring().encode()  # "un-revoke" it in transit
    assert not verify(status_list, keys.get).valid


def test_revoking_again_keeps_the_first_revocation_and_emits_nothing(
    client: TestClient, app_ctx: CertificationContext, two_diplomas: tuple[str, str]
) -> None:
    revoked_id, _ = two_diplomas
    first = revoke(client, revoked_id).json()
    again = revoke(client, revoked_id, {"reason": "another reason"}, auth("admin", subject="admin-1"))
    assert again.status_code == 200 and again.json() == first
    assert len(outbox_events(app_ctx, ev.DIPLOMA_REVOKED)) == 1
    assert client.get(f"/diplomas/{revoked_id}/verification").json()["reason"].endswith(REASON)


def test_officers_revoking_at_once_record_one_revocation(
    app_ctx: CertificationContext, two_diplomas: tuple[str, str]
) -> None:
    """SQLite has no row lock: the update that applies only to a diploma not yet revoked decides."""
    results: list[tuple[str, bool]] = []
    start = threading.Barrier(4)

    def officer(n: int) -> None:
        cmd = RevokeDiploma(
            two_diplomas[0], f"reason {n}", revoked_by=f"officer-{n}", revoked_by_role="officer"
        )
        start.wait()
        diploma, new = revoke_diploma(cmd, uow=app_ctx.uow())
        assert diploma.revocation is not None
        results.append((diploma.revocation.reason, new))

    threads = [threading.Thread(target=officer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4 and sum(new for _, new in results) == 1
    assert len({reason for reason, _ in results}) == 1
    assert len(outbox_events(app_ctx, ev.DIPLOMA_REVOKED)) == 1


def test_an_admin_may_revoke(client: TestClient, two_diplomas: tuple[str, str]) -> None:
    r = revoke(client, two_diplomas[0], headers=auth("admin", subject="admin-1"))
    assert r.status_code == 200 and r.json()["revoked_by_role"] == "admin"


def test_the_diploma_shows_its_revocation_to_those_who_may_see_it(
    client: TestClient, two_diplomas: tuple[str, str]
) -> None:
    revoked_id, _ = two_diplomas
    holder_id = credential_of(client, revoked_id)["credentialSubject"]["id"].rpartition(":")[2]
    holder = auth("candidate", candidate_id=holder_id)
    before = client.get(f"/diplomas/{revoked_id}", headers=holder).json()
    assert before["revoked"] is False and before["revocation"] is None
    revoke(client, revoked_id)
    by_officer = client.get(f"/diplomas/{revoked_id}", headers=OFFICER).json()
    assert by_officer["revoked"] is True
    assert by_officer["revocation"] | {"revoked_at": None} == {
        "revoked_at": None,
        "reason": REASON,
        "revoked_by": "officer-7",
        "revoked_by_role": "officer",
    }
    by_holder = client.get(f"/diplomas/{revoked_id}", headers=holder).json()
    assert by_holder["revoked"] is True and by_holder["revocation"]["reason"] == REASON
    assert by_holder["revocation"]["revoked_by"] is None, "the officer's account is not the holder's business"
    own = client.get(f"/candidates/{holder_id}/diploma", headers=holder).json()
    assert own["revoked"] is True and own["revocation"]["revoked_by"] is None


@pytest.mark.parametrize("roles", [("jury",), ("lms",), ("service",), ("candidate",)])
def test_only_officers_and_admins_may_revoke(
    client: TestClient, app_ctx: CertificationContext, two_diplomas: tuple[str, str], roles: tuple[str, ...]
) -> None:
    revoked_id, _ = two_diplomas
    holder_id = credential_of(client, revoked_id)["credentialSubject"]["id"].rpartition(":")[2]
    headers = auth(*roles, candidate_id=holder_id if "candidate" in roles else None)  # even the holder
    r = revoke(client, revoked_id, headers=headers)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert client.post(f"/diplomas/{revoked_id}/revocation", json={"reason": REASON}).status_code == 401
    assert outbox_events(app_ctx, ev.DIPLOMA_REVOKED) == []
    assert client.get(f"/diplomas/{revoked_id}/verification").json()["valid"] is True


def test_unknown_diploma_is_404(client: TestClient) -> None:
    r = revoke(client, "no-such-diploma")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "diploma_id" and "no-such-diploma" in r.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {}, {"reason": 42}]
)
def test_a_reason_is_required(
    client: TestClient, app_ctx: CertificationContext, two_diplomas: tuple[str, str], body: dict[str, Any]
) -> None:
    r = revoke(client, two_diplomas[0], body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["reason"]
    assert outbox_events(app_ctx, ev.DIPLOMA_REVOKED) == []


def test_unknown_status_list_is_404(client: TestClient) -> None:
    r = client.get("/status-lists/nope")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "list_id"


def test_presented_credential_is_checked_against_its_status_list(
    client: TestClient, app_ctx: CertificationContext, two_diplomas: tuple[str, str]
) -> None:
    """Without the diploma's record (``diploma_id=None``), the status list entry alone tells."""
    revoked_id, kept_id = two_diplomas
    revoke(client, revoked_id)
    issuer = app_ctx.issuance

    def check(credential: dict[str, Any]) -> Any:
        return check_credential(credential, uow=app_ctx.uow(), issuance=issuer, diploma_id=None)

    revoked = check(credential_of(client, revoked_id))
    assert not revoked.valid and revoked.reason == "revoked: its status list entry is set"
    assert check(credential_of(client, kept_id)).valid

    # signed by this issuer but naming a list it does not have: cannot be checked, so not valid
    unsigned = {k: v for k, v in credential_of(client, kept_id).items() if k != "proof"}
    unsigned["credentialStatus"] = status_entry("https://certifia.example/status-lists/unknown", 3)
    key = issuer.keys.active()
    odd = sign(unsigned, key, verification_method=issuer.verification_method(), created=datetime.now())
    result = check(odd)
    assert not result.valid and result.reason.startswith("the revocation status cannot be checked")


def test_a_diploma_issued_before_status_lists_is_revoked_from_the_records(
    sqlite_url: str, settings_for: Any, make_legacy_diploma: Any, key_setting: Any
) -> None:
    key = SigningKey.generate()
    credential = make_legacy_diploma(sqlite_url, key)  # a database at revision 0001
    diploma_id = credential["id"].removeprefix("urn:uuid:")
    settings = settings_for(sqlite_url, CERTIFIA_SIGNING_KEY=key_setting(key))
    with TestClient(create_application(settings)) as client:  # migrates to head
        assert client.get(f"/diplomas/{diploma_id}/verification").json()["valid"] is True
        stored = credential_of(client, diploma_id)
        assert stored == credential and "credentialStatus" not in stored
        assert client.post("/verifications", json=credential).json()["valid"] is True

        r = revoke(client, diploma_id)
        assert r.status_code == 200
        day = datetime.fromisoformat(r.json()["revoked_at"]).date().isoformat()
        check = client.get(f"/diplomas/{diploma_id}/verification").json()
        assert check["valid"] is False and check["reason"] == f"revoked on {day}: {REASON}"
        presented = client.post("/verifications", json=credential).json()
        assert presented["valid"] is False and presented["reason"] == check["reason"]
        assert credential_of(client, diploma_id) == credential, "the signed credential is never rewritten"
        app: Any = client.app
        assert len(outbox_events(app.state.ctx, ev.DIPLOMA_REVOKED)) == 1


def test_tampering_still_fails_as_such_on_a_revoked_diploma(
    client: TestClient, two_diplomas: tuple[str, str]
) -> None:
    revoked_id, _ = two_diplomas
    revoke(client, revoked_id)
    forged = credential_of(client, revoked_id)
    forged["credentialStatus"][0]["statusListIndex"] = "0"
    result = client.post("/verifications", json=forged).json()
    assert result["valid"] is False and result["reason"] == "the signature does not match the credential"
