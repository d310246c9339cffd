"""W3C Bitstring Status List v1.0 (https://www.w3.org/TR/vc-bitstring-status-list/). Plain Python, no I/O.

A status list is a bitstring, one bit per credential: bit ``i`` set means the credential whose
``credentialStatus.statusListIndex`` is ``i`` is revoked (a ``revocation`` list: final) or suspended (a
``suspension`` list: until the suspension is lifted). Every credential issued since suspension exists has one
entry in each (``credentialStatus`` is a list of two); older ones have a revocation entry only. Index 0 is the left-most (most significant) bit
of the first byte. Published as ``encodedList``: multibase base64url (prefix ``u``, no padding) of the
GZIP-compressed bitstring, at least 16 KiB (131,072 entries) long so that one credential hides in a crowd.
"""

from __future__ import annotations

import gzip
import hmac
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certifia_certification.domain.credential import CONTEXT, iso
from certifia_certification.domain.signing import b64url, b64url_decode

LIST_SIZE = 131_072
"""Entries per list: the spec's minimum (16 KiB uncompressed)."""
PURPOSE = "revocation"
SUSPENSION = "suspension"
PURPOSES = (PURPOSE, SUSPENSION)
"""The purposes this issuer publishes lists for (W3C: ``revocation`` is final, ``suspension`` reversible)."""
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
MULTIBASE_BASE64URL = "u"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
MAX_DECODED_BYTES = 16 * 1024 * 1024
"""A presented list that inflates beyond this is refused (a gzip bomb, not a status list)."""


class StatusListError(ValueError):
    """A status list or a status entry that cannot be read."""


class Bitstring:
    """A fixed-size bitstring, bit 0 = the most significant bit of byte 0."""

    def __init__(self, size: int = LIST_SIZE, data: bytes | None = None) -> None:
        if size <= 0 or size % 8:
            raise ValueError("a bitstring holds a positive whole number of bytes")
        if data is not None and len(data) * 8 != size:
            raise ValueError(f"{len(data)} bytes do not hold {size} bits")
        self._bytes = bytearray(data if data is not None else size // 8)

    @property
    def size(self) -> int:
        return len(self._bytes) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} is outside a list of {self.size} entries")
        return index // 8, 0x80 >> (index % 8)

    def get(self, index: int) -> bool:
        byte, mask = self._locate(index)
        return bool(self._bytes[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        byte, mask = self._locate(index)
        if value:
            self._bytes[byte] |= mask
        else:
            self._bytes[byte] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        return bytes(self._bytes)

    def encode(self) -> str:
        """``encodedList``: multibase base64url of the GZIP-compressed bitstring (mtime 0: same bits, same
        text)."""
        return MULTIBASE_BASE64URL + b64url(gzip.compress(self.to_bytes(), mtime=0))

    @classmethod
    def decode(cls, encoded: str) -> Bitstring:
        if not encoded.startswith(MULTIBASE_BASE64URL):
            raise StatusListError("encodedList is not multibase base64url (no 'u' prefix)")
        if not _BASE64URL.fullmatch(encoded[1:]):
            raise StatusListError("encodedList is not base64url of GZIP data: not base64url")
        try:
            compressed = b64url_decode(encoded[1:])
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing only
            raw = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
        except (ValueError, zlib.error) as exc:
            raise StatusListError(f"encodedList is not base64url of GZIP data: {exc}") from None
        if len(raw) > MAX_DECODED_BYTES or inflater.unconsumed_tail or not inflater.eof:
            raise StatusListError("encodedList is truncated or inflates beyond the allowed size")
        if len(raw) * 8 < LIST_SIZE:
            raise StatusListError(f"the bitstring has {len(raw) * 8} entries, fewer than {LIST_SIZE}")
        return cls(len(raw) * 8, raw)


@dataclass(frozen=True)
class StatusEntry:
    """Where one credential's revocation bit lives: which list, which index."""

    list_id: str
    index: int


def shuffled_index(position: int, *, key: bytes, size: int = LIST_SIZE) -> int:
    """The index given to the ``position``-th credential of a list: a keyed bijection of ``range(size)``,
    so that consecutive diplomas get unrelated indexes (the spec advises against sequential allocation).

    A 4-round Feistel network (HMAC-SHA256 round function) over the smallest even bit width that holds
    ``size``, cycle-walking back into range: a permutation, so two positions never share an index.
    """
    if not 0 <= position < size:
        raise ValueError(f"position {position} is outside a list of {size} entries")
    half = (max(size - 1, 1).bit_length() + 1) // 2
    mask = (1 << half) - 1
    value = position
    while True:
        left, right = value >> half, value & mask
        for round_ in range(4):
            digest = hmac.digest(key, bytes([round_]) + right.to_bytes(4, "big"), "sha256")
            left, right = right, left ^ (int.from_bytes(digest[:4], "big") & mask)
        value = (left << half) | right
        if value < size:
            return value


def status_entry(list_url: str, index: int, purpose: str = PURPOSE) -> dict[str, str]:
    """One ``credentialStatus`` entry of a credential (statusListIndex as a base-10 string, per the spec)."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


@dataclass(frozen=True)
class StatusReference:
    """A parsed status entry of a presented credential."""

    list_url: str
    index: int
    purpose: str = PURPOSE


def revocation_entries(credential: dict[str, Any]) -> list[StatusReference]:
    """The credential's revocation entries (none when it has no ``credentialStatus``)."""
    return [e for e in status_references(credential) if e.purpose == PURPOSE]


def status_references(credential: dict[str, Any]) -> list[StatusReference]:
    """The credential's status entries, revocation and suspension (none when it has no ``credentialStatus``).

    Raises StatusListError for an entry this issuer cannot check (unknown type or purpose, bad index).
    """
    status = credential.get("credentialStatus")
    if status is None:
        return []
    entries = status if isinstance(status, list) else [status]
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != ENTRY_TYPE:
            raise StatusListError(f"credentialStatus is not a {ENTRY_TYPE}")
        purpose = entry.get("statusPurpose")
        if purpose not in PURPOSES:
            raise StatusListError(f"statusPurpose {purpose!r} is not one of {', '.join(map(repr, PURPOSES))}")
        index, url = entry.get("statusListIndex"), entry.get("statusListCredential")
        if not isinstance(index, str) or not index.isdigit() or not isinstance(url, str) or not url:
            raise StatusListError("statusListIndex must be a base-10 string and statusListCredential a URL")
        found.append(StatusReference(url, int(index), str(purpose)))
    return found


def status_list_credential(
    *, url: str, issuer: dict[str, Any], bits: Bitstring, valid_from: datetime, purpose: str = PURPOSE
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` that publishes ``bits`` (for ``purpose``)."""
    return {
        "@context": [CONTEXT[0]],  # VC 2.0's context defines the Bitstring Status List terms
        "id": url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": iso(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": bits.encode(),
        },
    }


def status_bit(list_credential: dict[str, Any], index: int, purpose: str = PURPOSE) -> bool:
    """Read the bit at ``index`` of a (verified) status list credential for ``purpose``, as any verifier
    would (a list of another purpose than the entry's is refused, as the spec says)."""
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != LIST_TYPE:
        raise StatusListError(f"the status list credential's subject is not a {LIST_TYPE}")
    if subject.get("statusPurpose") != purpose:
        raise StatusListError(f"the status list is not a {purpose} list")
    bits = Bitstring.decode(str(subject.get("encodedList", "")))
    if index >= bits.size:
        raise StatusListError(f"statusListIndex {index} is outside the list ({bits.size} entries)")
    return bits.get(index)
