"""Ed25519 keys as JWKs (RFC 8037) with RFC 7638 thumbprints as key ids, and as Multikeys (multibase
base58btc of the multicodec ``ed25519-pub`` prefix and the raw key, as controller documents list them). Pure
computation, no I/O."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def private_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without spaces."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_bytes(public_key))}
    digest = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest()
    return b64url(digest)


def jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(public_bytes(public_key)),
        "kid": thumbprint(public_key),
        "use": "sig",
        "alg": "EdDSA",
    }


def public_key_from_x(x: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64url_decode(x))


BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(BASE58_ALPHABET)}
MULTIBASE_BASE58BTC = "z"
ED25519_PUB_MULTICODEC = b"\xed\x01"
"""The multicodec ``ed25519-pub`` (0xed) as an unsigned varint: the prefix of an Ed25519 Multikey."""


def base58btc(data: bytes) -> str:
    """Base58 (Bitcoin alphabet): each leading zero byte is a ``1``."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(BASE58_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Raises ValueError on a character outside the alphabet."""
    number = 0
    for char in text:
        if char not in _BASE58_INDEX:
            raise ValueError("not base58btc")
        number = number * 58 + _BASE58_INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def multibase_base58btc(data: bytes) -> str:
    return MULTIBASE_BASE58BTC + base58btc(data)


def multibase_base58btc_decode(text: str) -> bytes:
    if not text.startswith(MULTIBASE_BASE58BTC):
        raise ValueError("not multibase base58btc (no 'z' prefix)")
    return base58btc_decode(text[1:])


def multikey(public_key: Ed25519PublicKey) -> str:
    """``publicKeyMultibase`` of an Ed25519 Multikey: ``z`` + base58btc(0xed01 + the 32-byte key)."""
    return multibase_base58btc(ED25519_PUB_MULTICODEC + public_bytes(public_key))


def public_key_from_multikey(value: str) -> Ed25519PublicKey:
    """Raises ValueError for what is not an Ed25519 Multikey."""
    raw = multibase_base58btc_decode(value)
    if not raw.startswith(ED25519_PUB_MULTICODEC) or len(raw) != len(ED25519_PUB_MULTICODEC) + 32:
        raise ValueError("not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[len(ED25519_PUB_MULTICODEC) :])


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> SigningKey:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        return thumbprint(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)
