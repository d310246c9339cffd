"""The diploma credential: shape, Ed25519 signature, verification, keys."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from certifia_certification.config import Settings
from certifia_certification.domain.credential import (
    DiplomaFacts,
    canonical_json,
    diploma_credential,
    holder_name,
    sign,
    verify,
)
from certifia_certification.domain.signing import SigningKey, b64url_decode, jwk, thumbprint
from certifia_certification.domain.status_list import status_entry

ISSUED = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
BASE = "https://certifia.example"


def facts() -> DiplomaFacts:
    return DiplomaFacts(
        diploma_id="11111111-2222-3333-4444-555555555555",
        candidate_id="c-1",
        given_name="Ada",
        family_name="Lovelace",
        title="Ingénieur en Intelligence Artificielle (MS)",
        criteria="blocs 1 à 4, une option, la thèse",
        referential_version="1.0.0",
        blocs=("1", "2", "3", "4", "5B"),
        issued_at=ISSUED,
    )


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


def signed(key: SigningKey) -> dict[str, Any]:
    method = f"{BASE}/.well-known/jwks.json#{key.kid}"
    return sign(diploma_credential(facts(), base_url=BASE), key, verification_method=method, created=ISSUED)


def resolver(key: SigningKey) -> Any:
    return {key.kid: key.public_key}.get


def test_credential_is_an_open_badge(key: SigningKey) -> None:
    cred = signed(key)
    assert cred["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert cred["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert cred["validFrom"] == "2026-07-01T12:00:00Z"
    assert cred["issuer"]["id"] == BASE
    achievement = cred["credentialSubject"]["achievement"]
    assert achievement["name"] == "Ingénieur en Intelligence Artificielle (MS)"
    assert achievement["achievementType"] == "Diploma"
    assert holder_name(cred) == "Ada Lovelace"
    proof = cred["proof"]
    assert set(proof) >= {"type", "created", "verificationMethod", "proofValue"}
    assert len(b64url_decode(proof["proofValue"])) == 64
    assert "=" not in proof["proofValue"]


def test_signature_covers_the_canonical_json_without_the_proof(key: SigningKey) -> None:
    cred = signed(key)
    unsigned = {k: v for k, v in cred.items() if k != "proof"}
    key.public_key.verify(b64url_decode(cred["proof"]["proofValue"]), canonical_json(unsigned))
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_valid_credential_verifies(key: SigningKey) -> None:
    result = verify(signed(key), resolver(key))
    assert result.valid and result.kid == key.kid


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c["credentialSubject"]["identifier"][0].update(identityHash="Mallory"),
        lambda c: c["credentialSubject"]["achievement"].update(name="Docteur"),
        lambda c: c.update(validFrom="2020-01-01T00:00:00Z"),
        lambda c: c["proof"].update(proofValue="A" + c["proof"]["proofValue"][1:]),
        lambda c: c["proof"].update(proofValue="not base64!"),
    ],
)
def test_tampered_credential_fails(key: SigningKey, tamper: Any) -> None:
    cred = copy.deepcopy(signed(key))
    tamper(cred)
    result = verify(cred, resolver(key))
    assert not result.valid


def test_credential_status_is_part_of_the_signed_credential(key: SigningKey) -> None:
    assert "credentialStatus" not in signed(key)  # as before status lists: nothing added
    entry = status_entry(f"{BASE}/status-lists/l-1", 4242)
    method = f"{BASE}/.well-known/jwks.json#{key.kid}"
    unsigned = diploma_credential(facts(), base_url=BASE, credential_status=entry)
    cred = sign(unsigned, key, verification_method=method, created=ISSUED)
    assert cred["credentialStatus"] == entry
    assert verify(cred, resolver(key)).valid
    moved = copy.deepcopy(cred)
    moved["credentialStatus"]["statusListIndex"] = "4243"  # pointing at another, unrevoked entry
    assert not verify(moved, resolver(key)).valid
    stripped = {k: v for k, v in cred.items() if k != "credentialStatus"}
    assert not verify(stripped, resolver(key)).valid


def test_other_key_or_unknown_key_fails(key: SigningKey) -> None:
    other = SigningKey.generate()
    assert not verify(signed(key), {key.kid: other.public_key}.get).valid
    assert verify(signed(key), resolver(other)).reason == "the signing key is unknown to this issuer"
    no_proof = {k: v for k, v in signed(key).items() if k != "proof"}
    assert not verify(no_proof, resolver(key)).valid


def test_jwk_and_thumbprint_follow_rfc_8037_test_vector() -> None:
    # RFC 8037, appendix A.1-A.3
    d = b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    key = SigningKey.from_raw(d)
    assert jwk(key.public_key)["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert thumbprint(key.public_key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert jwk(key.public_key)["kid"] == key.kid


def settings(signing_key: str) -> Settings:
    env: dict[str, Any] = {
        "CERTIFIA_SIGNING_KEY": signing_key,
    }
    return Settings(**env)


def test_signing_key_setting_must_be_a_raw_ed25519_key() -> None:
    good = base64.b64encode(bytes(range(32))).decode()
    assert settings(good).signing_key_bytes() == bytes(range(32))
    assert good not in repr(settings(good))  # a SecretStr: never in logs
    assert settings("").signing_key_bytes() is None
    for bad in ("not-base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ValidationError, match="CERTIFIA_SIGNING_KEY"):
            settings(bad)
