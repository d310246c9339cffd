"""The diploma credential: shape, its eddsa-rdfc-2022 proof (Data Integrity), verification, keys."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from certifia_certification.config import DEV_LOGO, Settings
from certifia_certification.domain.achievement import Certifier, CredentialData, Qualification
from certifia_certification.domain.controller import assertion_keys, controller_document, did_web
from certifia_certification.domain.credential import (
    DiplomaFacts,
    diploma_credential,
    holder_name,
    sign,
    verify,
)
from certifia_certification.domain.data_integrity import canonical_nquads
from certifia_certification.domain.signing import (
    SigningKey,
    b64url_decode,
    base58btc,
    base58btc_decode,
    jwk,
    multibase_base58btc_decode,
    multikey,
    public_key_from_multikey,
    thumbprint,
)
from certifia_certification.domain.status_list import status_entry

ISSUED = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
BASE = "https://certifia.example"
DID = "did:web:certifia.example"


def facts(given_name: str = "Ada", family_name: str = "Lovelace") -> DiplomaFacts:
    return DiplomaFacts(
        diploma_id="11111111-2222-3333-4444-555555555555",
        candidate_id="c-1",
        given_name=given_name,
        family_name=family_name,
        title="Ingénieur en Intelligence Artificielle (MS)",
        criteria="blocs 1 à 4, une option, la thèse",
        referential_version="1.0.0",
        blocs=("1", "2", "3", "4", "5B"),
        issued_at=ISSUED,
    )


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


def unsigned(credential_status: dict[str, Any] | None = None, **names: str) -> dict[str, Any]:
    return diploma_credential(
        facts(**names), issuer_id=DID, base_url=BASE, credential_status=credential_status
    )


def signed(key: SigningKey, credential: dict[str, Any] | None = None) -> dict[str, Any]:
    method = f"{DID}#{key.kid}"
    return sign(credential or unsigned(), key, verification_method=method, created=ISSUED)


def resolver(key: SigningKey) -> Any:
    return assertion_keys(controller_document(DID, {key.kid: key.public_key})).get


def test_credential_is_an_open_badge(key: SigningKey) -> None:
    cred = signed(key)
    assert cred["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert cred["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert cred["validFrom"] == "2026-07-01T12:00:00Z"
    assert cred["issuer"]["id"] == DID
    achievement = cred["credentialSubject"]["achievement"]
    assert achievement["name"] == "Ingénieur en Intelligence Artificielle (MS)"
    assert achievement["achievementType"] == "Diploma"
    assert holder_name(cred) == "Ada Lovelace"
    proof = cred["proof"]
    assert proof == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-07-01T12:00:00Z",
        "verificationMethod": f"{DID}#{key.kid}",
        "proofPurpose": "assertionMethod",
        "proofValue": proof["proofValue"],
    }
    assert proof["proofValue"].startswith("z")
    assert len(multibase_base58btc_decode(proof["proofValue"])) == 64


GOLDEN_DATA = CredentialData(
    certifier=Certifier(
        name="École certifia SAS",
        url="https://certifia.example",
        legal_identifier="73282932000074",
        image=DEV_LOGO,
        place="Paris",
    ),
    qualification=Qualification(rncp_code="RNCP00000", level=7, eqf_level=7, nsf_code="326"),
    blocs=(("1", "Données"), ("2", "Modèles"), ("3", "Déploiement"), ("4", "Éthique"), ("5B", "Vision")),
    thesis_required=True,
)


def golden_credential() -> dict[str, Any]:
    """A diploma with everything a credential of ours may state (issuer profile, alignments, results, the
    hashed email with a fixed salt, credentialSchema, status)."""
    holder = facts(given_name="Thị Ánh", family_name="Nguyễn")
    return diploma_credential(
        DiplomaFacts(**{**holder.__dict__, "email": "Anh@Example.org", "salt": "00" * 16, "thesis": True}),
        issuer_id=DID,
        base_url=BASE,
        credential_status=status_entry(f"{BASE}/status-lists/l-1", 4242),
        data=GOLDEN_DATA,
    )


# Signed by Digital Bazaar's @digitalbazaar/vc 7.3.0 + eddsa-rdfc-2022-cryptosuite 1.3.0 (vc.issue, key from
# this seed, the credential of ``golden_credential``): Ed25519 is deterministic, so the same bytes to sign
# give the same proofValue. Our canonicalisation, proof configuration and hashing must match theirs.
GOLDEN_SEED = "9b937b81322d816cfab9d5a3baacc9b2a5febe4b149f126b3630f93a29527017"
GOLDEN_MULTIKEY = "z6Mkf5rGMoatrSj1f4CyvuHBeXJELe9RPdzo2PKGNCKVtZxP"
GOLDEN_PROOF_VALUE = (
    "z4ctsMZR2yvfXEMGTqNgd8ztUCYPx7W5o1deBnV7eka4R6pA6SY3DmuaKAnjCLZk2FRiUSPXu78MfJMYCVSyp6LFw"
)


def test_proof_matches_digital_bazaars_for_the_same_credential_and_key() -> None:
    key = SigningKey.from_raw(bytes.fromhex(GOLDEN_SEED))
    assert multikey(key.public_key) == GOLDEN_MULTIKEY
    cred = sign(golden_credential(), key, verification_method=f"{DID}#key-1", created=ISSUED)
    assert cred["proof"]["proofValue"] == GOLDEN_PROOF_VALUE


def test_the_signature_covers_the_proof_configuration_and_the_document(key: SigningKey) -> None:
    cred = signed(key)
    proof = cred["proof"]
    document = {k: v for k, v in cred.items() if k != "proof"}
    config = {k: v for k, v in proof.items() if k != "proofValue"} | {"@context": cred["@context"]}
    hash_data = (
        hashlib.sha256(canonical_nquads(config).encode()).digest()
        + hashlib.sha256(canonical_nquads(document).encode()).digest()
    )
    key.public_key.verify(multibase_base58btc_decode(proof["proofValue"]), hash_data)
    assert "<https://w3id.org/security#cryptosuite>" in canonical_nquads(config)


def test_valid_credential_verifies(key: SigningKey) -> None:
    result = verify(signed(key), resolver(key))
    assert result.valid and result.kid == key.kid


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c["credentialSubject"]["identifier"][0].update(identityHash="Mallory"),
        lambda c: c["credentialSubject"]["achievement"].update(name="Docteur"),
        lambda c: c.update(validFrom="2020-01-01T00:00:00Z"),
        lambda c: c["proof"].update(proofValue="z" + c["proof"]["proofValue"][2:]),
        lambda c: c["proof"].update(proofValue="not base58!"),
        # the proof options are signed (the issue: each of these kept ``valid: true``)
        lambda c: c["proof"].update(created="2020-01-01T00:00:00Z"),
        lambda c: c["proof"].update(proofPurpose="authentication"),
        lambda c: c["proof"].update(
            verificationMethod=c["proof"]["verificationMethod"].replace("certifia.example", "evil.example")
        ),
        lambda c: c["proof"].update(cryptosuite="eddsa-jcs-2022"),
        lambda c: c.update(proof=[c["proof"]]),
        lambda c: c.update(undefinedTerm="ignored by JSON-LD, so unsigned"),
    ],
)
def test_tampered_credential_fails(key: SigningKey, tamper: Any) -> None:
    cred = copy.deepcopy(signed(key))
    tamper(cred)
    result = verify(cred, resolver(key))
    assert not result.valid


def test_an_undefined_term_is_refused_at_signing(key: SigningKey) -> None:
    credential = unsigned() | {"nickname": "Ada"}
    with pytest.raises(ValueError, match="undefined term 'nickname'"):
        signed(key, credential)
    with pytest.raises(ValueError, match="not one this issuer bundles"):
        signed(key, unsigned() | {"@context": [*unsigned()["@context"], "https://evil.example/ctx"]})


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda c: c.update(id="relative"), "relative @id at /"),
        (
            lambda c: c["credentialSubject"]["achievement"].update(id="../x"),
            "relative @id at /credentialSubject",
        ),
        (
            lambda c: c["credentialSubject"].update(type=["AchievementSubject", "Bogus"]),
            "undefined type 'Bogus'",
        ),
        (lambda c: c["credentialSubject"]["achievement"]["criteria"].update(x=1), "undefined term 'x'"),
        (lambda c: c.update({"@context": [*c["@context"], {"@vocab": "https://x.example/"}]}), "by URL"),
        (
            lambda c: c["credentialSubject"].update({"@context": {"x": "https://x.example/x"}, "x": 1}),
            "embedded",
        ),
    ],
)
def test_what_json_ld_would_leave_out_or_redefine_is_refused(
    key: SigningKey, change: Callable[[dict[str, Any]], None], why: str
) -> None:
    credential = unsigned()
    change(credential)
    with pytest.raises(ValueError, match=re.escape(why)):
        signed(key, credential)


def test_control_characters_do_not_reach_the_credential(key: SigningKey) -> None:
    cred = signed(key, unsigned(given_name="Ada\t\x08", family_name=" Lovelace\x00"))
    assert holder_name(cred) == "Ada Lovelace"
    assert verify(cred, resolver(key)).valid


def test_credential_status_is_part_of_the_signed_credential(key: SigningKey) -> None:
    assert "credentialStatus" not in signed(key)  # as before status lists: nothing added
    entry = status_entry(f"{BASE}/status-lists/l-1", 4242)
    cred = signed(key, unsigned(entry))
    assert cred["credentialStatus"] == entry
    assert verify(cred, resolver(key)).valid
    moved = copy.deepcopy(cred)
    moved["credentialStatus"]["statusListIndex"] = "4243"  # pointing at another, unrevoked entry
    assert not verify(moved, resolver(key)).valid
    stripped = {k: v for k, v in cred.items() if k != "credentialStatus"}
    assert not verify(stripped, resolver(key)).valid


def test_other_key_or_unknown_key_fails(key: SigningKey) -> None:
    other = SigningKey.generate()
    impostor = assertion_keys(controller_document(DID, {key.kid: other.public_key})).get
    assert not verify(signed(key), impostor).valid
    assert verify(signed(key), resolver(other)).failure == "unknown_key"
    no_proof = {k: v for k, v in signed(key).items() if k != "proof"}
    assert verify(no_proof, resolver(key)).failure == "no_proof"


def test_the_retired_suite_is_not_accepted(key: SigningKey) -> None:
    cred = signed(key)
    cred["proof"]["cryptosuite"] = "certifia-eddsa-sortedjson-2025"
    result = verify(cred, resolver(key))
    assert result.failure == "unsupported_proof" and "certifia-eddsa-sortedjson-2025" in result.reason


# -- keys: Multikey, did:web, the controller document ------------------------------------------------------
def test_base58btc_round_trips_and_keeps_leading_zeros() -> None:
    assert base58btc(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert base58btc(b"\0\0\x01") == "112"
    for data in (b"", b"\0", bytes(range(40)), b"\xff" * 33):
        assert base58btc_decode(base58btc(data)) == data
    with pytest.raises(ValueError):
        base58btc_decode("0OIl")


def test_a_multikey_is_z_base58btc_of_ed01_and_the_raw_key(key: SigningKey) -> None:
    value = multikey(key.public_key)
    assert value.startswith("z6Mk")  # as every Ed25519 Multikey
    raw = multibase_base58btc_decode(value)
    assert raw[:2] == b"\xed\x01" and len(raw) == 34
    assert public_key_from_multikey(value).public_bytes_raw() == key.public_key.public_bytes_raw()
    with pytest.raises(ValueError):
        public_key_from_multikey("z" + base58btc(b"\xec\x01" + raw[2:]))  # an X25519 key


@pytest.mark.parametrize(
    ("base_url", "did"),
    [
        ("https://certifia.example", "did:web:certifia.example"),
        ("http://127.0.0.1:8005", "did:web:127.0.0.1%3A8005"),
        ("https://Example.org/certifia/fr/", "did:web:example.org:certifia:fr"),
    ],
)
def test_did_web_of_the_base_url(base_url: str, did: str) -> None:
    assert did_web(base_url) == did


def test_controller_document_lists_every_key_for_assertion(key: SigningKey) -> None:
    old = SigningKey.generate()
    doc = controller_document(DID, {old.kid: old.public_key, key.kid: key.public_key})
    assert doc["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert doc["id"] == DID
    assert doc["assertionMethod"] == [f"{DID}#{old.kid}", f"{DID}#{key.kid}"]
    assert doc["verificationMethod"][1] == {
        "id": f"{DID}#{key.kid}",
        "type": "Multikey",
        "controller": DID,
        "publicKeyMultibase": multikey(key.public_key),
    }
    assert set(assertion_keys(doc)) == {f"{DID}#{old.kid}", f"{DID}#{key.kid}"}
    canonical_nquads(doc)  # every term defined by the DID and Multikey contexts
    doc["assertionMethod"] = [f"{DID}#{key.kid}"]
    assert set(assertion_keys(doc)) == {f"{DID}#{key.kid}"}, "listed but not for assertion: not a key"


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


def test_canonicalisation_is_safe_from_several_threads_at_once() -> None:
    """Measured before (make bench-cohort): 8 diploma verifications at once answered 500 "not valid JSON-LD"
    now and then: pyld's process-wide context caches (cachetools LRU) raised KeyError while two threads
    evicted at once. Many documents with their own contexts' entries, canonicalised from 8 threads."""
    documents = [unsigned(given_name=f"Ada{i}") for i in range(24)]
    alone = [canonical_nquads(d) for d in documents]
    failures: list[str] = []

    def one(i: int) -> None:
        try:
            if canonical_nquads(documents[i % len(documents)]) != alone[i % len(documents)]:
                failures.append(f"{i}: another canonical form")
        except Exception as exc:  # UnsafeDocument: what the race gave
            failures.append(f"{i}: {exc}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(600)))
    assert failures == []
