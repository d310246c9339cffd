"""The Bitstring Status List codec, entries and list credentials, and the revocation rule (no I/O)."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from certifia_certification.domain.revocation import Revocation, revoke
from certifia_certification.domain.signing import b64url, b64url_decode
from certifia_certification.domain.status_list import (
    LIST_SIZE,
    SUSPENSION,
    Bitstring,
    StatusListError,
    StatusReference,
    revocation_entries,
    shuffled_index,
    status_bit,
    status_entry,
    status_list_credential,
    status_references,
)
from certifia_certification.domain.suspension import Suspension, SuspensionRecord, lift, suspend

LIST_URL = "https://certifia.example/status-lists/l-1"
AT = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
# The example encodedList of W3C Bitstring Status List v1.0: an empty list of 131,072 entries.
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def encoded(raw: bytes) -> str:
    return "u" + b64url(gzip.compress(raw))


# -- the bitstring ---------------------------------------------------------------------------------------
def test_a_new_list_is_16_kib_of_zeros() -> None:
    bits = Bitstring()
    assert bits.size == LIST_SIZE == 131_072
    assert bits.to_bytes() == bytes(16 * 1024)


def test_bit_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    bits = Bitstring()
    bits.set(0)
    bits.set(9)
    bits.set(LIST_SIZE - 1)
    raw = bits.to_bytes()
    assert raw[0] == 0b1000_0000 and raw[1] == 0b0100_0000 and raw[-1] == 0b0000_0001
    assert sum(raw) == 0x80 + 0x40 + 0x01
    assert [i for i in range(16) if bits.get(i)] == [0, 9]
    bits.set(9, False)
    assert not bits.get(9) and bits.to_bytes()[1] == 0


def test_decoding_reads_bits_in_the_spec_order() -> None:
    raw = bytearray(LIST_SIZE // 8)
    raw[0], raw[2] = 0b0010_0000, 0b0000_0001  # indexes 2 and 23
    bits = Bitstring.decode(encoded(bytes(raw)))
    assert [i for i in range(LIST_SIZE) if bits.get(i)] == [2, 23]


def test_encoded_list_is_multibase_base64url_of_gzip() -> None:
    bits = Bitstring()
    bits.set(42)
    text = bits.encode()
    assert text.startswith("u")
    assert not set(text[1:]) & set("=+/"), "base64url without padding"
    compressed = b64url_decode(text[1:])
    assert compressed[:2] == b"\x1f\x8b", "GZIP magic"
    assert gzip.decompress(compressed) == bits.to_bytes()
    assert len(text) < 200, "an almost empty list compresses to a few dozen bytes"
    assert bits.encode() == text, "same bits, same text (no timestamp in the GZIP header)"


def test_round_trip() -> None:
    bits = Bitstring()
    chosen = {0, 1, 7, 8, 1000, 65_535, LIST_SIZE - 1}
    for i in chosen:
        bits.set(i)
    back = Bitstring.decode(bits.encode())
    assert back.size == LIST_SIZE and back.to_bytes() == bits.to_bytes()
    assert {i for i in range(LIST_SIZE) if back.get(i)} == chosen


def test_the_spec_example_decodes_to_an_empty_list() -> None:
    bits = Bitstring.decode(SPEC_EMPTY_LIST)
    assert bits.size == LIST_SIZE and not any(bits.to_bytes())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b64url(gzip.compress(bytes(LIST_SIZE // 8))), "no 'u' prefix"),
        ("u" + b64url(bytes(LIST_SIZE // 8)), "not base64url of GZIP"),
        ("u!!!", "not base64url of GZIP"),
        (encoded(bytes(1024)), "fewer than 131072"),
        (encoded(bytes(16 * 1024 * 1024 + 8)), "beyond the allowed size"),
        (encoded(bytes(LIST_SIZE // 8))[:-10], "truncated"),
    ],
)
def test_what_is_not_a_status_list_is_refused(text: str, why: str) -> None:
    with pytest.raises(StatusListError, match=why):
        Bitstring.decode(text)


def test_indexes_outside_the_list_are_refused() -> None:
    bits = Bitstring()
    for index in (-1, LIST_SIZE):
        with pytest.raises(IndexError):
            bits.get(index)
        with pytest.raises(IndexError):
            bits.set(index)
    with pytest.raises(ValueError):
        Bitstring(12)


# -- allocation order -------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [8, 1000, 4096])
def test_shuffled_index_is_a_permutation(size: int) -> None:
    key = b"k" * 16
    assert sorted(shuffled_index(p, key=key, size=size) for p in range(size)) == list(range(size))


def test_shuffled_indexes_look_random_and_depend_on_the_key() -> None:
    first = [shuffled_index(p, key=b"a" * 16) for p in range(2000)]
    assert len(set(first)) == 2000 and all(0 <= i < LIST_SIZE for i in first)
    steps = {b - a for a, b in itertools.pairwise(first)}
    assert len(steps) > 1900, "consecutive diplomas are not a fixed step apart"
    assert first != [shuffled_index(p, key=b"b" * 16) for p in range(2000)]
    with pytest.raises(ValueError):
        shuffled_index(LIST_SIZE, key=b"a" * 16)


# -- entries and list credentials -------------------------------------------------------------------------
def test_status_entry_follows_the_spec() -> None:
    assert status_entry(LIST_URL, 94_567) == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }


def test_revocation_entries_of_a_credential() -> None:
    entry = status_entry(LIST_URL, 7)
    assert revocation_entries({}) == []
    assert revocation_entries({"credentialStatus": entry}) == [StatusReference(LIST_URL, 7)]
    assert revocation_entries({"credentialStatus": [entry]}) == [StatusReference(LIST_URL, 7)]


@pytest.mark.parametrize(
    "change",
    [
        {"type": "StatusList2021Entry"},
        {"statusPurpose": "refresh"},
        {"statusListIndex": 7},
        {"statusListIndex": "-7"},
        {"statusListIndex": "0x07"},
        {"statusListCredential": None},
    ],
)
def test_an_entry_this_issuer_cannot_check_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(StatusListError):
        revocation_entries({"credentialStatus": {**status_entry(LIST_URL, 7), **change}})


def test_status_list_credential_publishes_the_bits() -> None:
    bits = Bitstring()
    bits.set(5)
    issuer = {"id": "https://certifia.example", "type": ["Profile"], "name": "certifia"}
    cred = status_list_credential(url=LIST_URL, issuer=issuer, bits=bits, valid_from=AT)
    assert cred["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert cred["id"] == LIST_URL and cred["issuer"] == issuer
    assert cred["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert cred["validFrom"] == "2026-11-29T15:30:00Z"
    subject = cred["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    assert subject["id"] == f"{LIST_URL}#list"
    assert status_bit(cred, 5) and not status_bit(cred, 4) and not status_bit(cred, 6)
    with pytest.raises(StatusListError, match="outside the list"):
        status_bit(cred, LIST_SIZE)
    with pytest.raises(StatusListError, match="not a revocation list"):
        status_bit({**cred, "credentialSubject": {**subject, "statusPurpose": "suspension"}}, 5)


def test_a_suspension_entry_and_list_beside_the_revocation_ones() -> None:
    revocation = status_entry(LIST_URL, 7)
    suspension = status_entry(f"{LIST_URL}-s", 9, SUSPENSION)
    assert suspension["statusPurpose"] == "suspension" and suspension["id"] == f"{LIST_URL}-s#9"
    both = {"credentialStatus": [revocation, suspension]}
    assert status_references(both) == [
        StatusReference(LIST_URL, 7, "revocation"),
        StatusReference(f"{LIST_URL}-s", 9, "suspension"),
    ]
    assert revocation_entries(both) == [StatusReference(LIST_URL, 7)]
    bits = Bitstring()
    bits.set(9)
    issuer = {"id": "did:web:certifia.example", "name": "certifia"}
    listed = status_list_credential(
        url=f"{LIST_URL}-s", issuer=issuer, bits=bits, valid_from=AT, purpose=SUSPENSION
    )
    assert listed["credentialSubject"]["statusPurpose"] == "suspension"
    assert status_bit(listed, 9, SUSPENSION)
    with pytest.raises(StatusListError, match="not a revocation list"):
        status_bit(listed, 9)  # a suspension list never answers for a revocation entry


# -- the suspension rule ----------------------------------------------------------------------------------
def test_suspending_and_lifting_record_when_why_and_who() -> None:
    suspension, record = suspend(None, reason=" Recours en cours. ", by="officer-7", by_role="officer", at=AT)
    assert suspension == Suspension(AT, "Recours en cours.", "officer-7", "officer")
    assert record == SuspensionRecord("suspended", AT, "Recours en cours.", "officer-7", "officer")
    assert suspension.statement() == "suspended on 2026-11-29: Recours en cours."
    again, nothing = suspend(suspension, reason="autre", by="admin-1", by_role="admin", at=AT)
    assert again == suspension and nothing is None
    lifted = lift(suspension, reason="Recours rejeté.", by="admin-1", by_role="admin", at=AT)
    assert lifted == SuspensionRecord("lifted", AT, "Recours rejeté.", "admin-1", "admin")
    assert lift(None, reason="x", by="admin-1", by_role="admin", at=AT) is None
    with pytest.raises(ValueError, match="reason"):
        suspend(None, reason="  ", by="officer-7", by_role="officer", at=AT)


# -- the revocation rule ----------------------------------------------------------------------------------
def test_revoking_records_when_why_and_who() -> None:
    revocation, new = revoke(
        None,
        reason="  Plagiat avéré de la thèse.  ",
        revoked_by="officer-7",
        revoked_by_role="officer",
        at=AT,
    )
    assert new
    assert revocation == Revocation(AT, "Plagiat avéré de la thèse.", "officer-7", "officer")
    assert revocation.statement() == "revoked on 2026-11-29: Plagiat avéré de la thèse."


def test_revocation_is_final_and_happens_once() -> None:
    first, _ = revoke(None, reason="fraud", revoked_by="o-1", revoked_by_role="officer", at=AT)
    again, new = revoke(first, reason="another reason", revoked_by="a-1", revoked_by_role="admin", at=AT)
    assert again is first and not new


@pytest.mark.parametrize(("reason", "by"), [("", "o-1"), ("   ", "o-1"), ("x" * 501, "o-1"), ("ok", "")])
def test_a_revocation_needs_a_reason_and_an_author(reason: str, by: str) -> None:
    with pytest.raises(ValueError):
        revoke(None, reason=reason, revoked_by=by, revoked_by_role="officer", at=AT)


def test_statement_gives_the_date_in_utc() -> None:
    late = datetime.fromisoformat("2026-11-29T23:30:00-05:00")  # 2026-11-30 in UTC
    assert Revocation(late, "r", "o", "officer").statement() == "revoked on 2026-11-30: r"
