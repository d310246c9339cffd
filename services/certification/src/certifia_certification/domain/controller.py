"""The issuer's controller document: a ``did:web`` DID document listing its Ed25519 keys as Multikeys for
``assertionMethod`` (https://w3c-ccg.github.io/did-method-web/, https://www.w3.org/TR/cid-1.0/). Pure.

``did:web:<host>`` (a port as ``%3A<port>``) resolves to ``https://<host>/.well-known/did.json``; with a
path, ``did:web:<host>:<seg>:<seg>`` resolves to ``https://<host>/<seg>/<seg>/did.json``. Every key the
issuer ever signed with stays listed, so a rotation keeps old credentials verifying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certifia_certification.domain.contexts import DID_V1, MULTIKEY_V1
from certifia_certification.domain.signing import multikey, public_key_from_multikey

CONTEXT = [DID_V1, MULTIKEY_V1]


def did_web(base_url: str) -> str:
    """The ``did:web`` of the service reached at ``base_url``."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise ValueError(f"{base_url!r} has no host to make a did:web of")
    host = quote(parts.netloc.rpartition("@")[2].lower(), safe="")  # ':' of a port -> %3A
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did", "web", host, *segments])


def method_id(did: str, kid: str) -> str:
    return f"{did}#{kid}"


def controller_document(did: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The DID document of ``did`` listing ``keys`` (key id -> public key, oldest first)."""
    methods = [
        {
            "id": method_id(did, kid),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey(key),
        }
        for kid, key in keys.items()
    ]
    return {
        "@context": CONTEXT,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def assertion_keys(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The public keys a controller document lists for ``assertionMethod``, by verification method id (a
    method listed but not referenced by ``assertionMethod`` does not count)."""
    did = document.get("id")
    allowed = {m for m in document.get("assertionMethod", []) if isinstance(m, str)}
    found: dict[str, Ed25519PublicKey] = {}
    for method in document.get("verificationMethod", []):
        if not isinstance(method, dict) or method.get("id") not in allowed:
            continue
        if method.get("type") != "Multikey" or method.get("controller") != did:
            continue
        try:
            found[method["id"]] = public_key_from_multikey(str(method.get("publicKeyMultibase", "")))
        except ValueError:
            continue
    return found
