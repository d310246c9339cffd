"""The JSON-LD contexts credentials may use, bundled in the package (``contexts/``), and the document loader
that serves them: no network at issue or verify time.

Each file is pinned by its SHA-256 in ``contexts/manifest.json`` (written by ``tools/bundle-contexts.js``
from the npm packages that publish them) and checked when first loaded: a changed file refuses to load.
Any other URL is refused (``UnknownContext``): a credential naming a context we do not hold is neither
signed nor verified.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"
MANIFEST = "manifest.json"


class UnknownContext(ValueError):
    """A JSON-LD document names a context (or document) that is not bundled: nothing is fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(f"the JSON-LD context {url!r} is not one this issuer bundles (no network access)")
        self.url = url


class ContextIntegrityError(RuntimeError):
    """A bundled context does not match the SHA-256 its manifest pins."""


@dataclass(frozen=True)
class BundledContext:
    url: str
    file: str
    sha256: str
    source: str
    document: dict[str, Any]


def _folder() -> Any:
    return resources.files("certifia_certification") / "contexts"


@cache
def bundled() -> dict[str, BundledContext]:
    """Every bundled context by URL, each checked against the manifest's SHA-256."""
    manifest = json.loads((_folder() / MANIFEST).read_text(encoding="utf-8"))
    found: dict[str, BundledContext] = {}
    for entry in manifest["contexts"]:
        raw = (_folder() / entry["file"]).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != entry["sha256"]:
            raise ContextIntegrityError(
                f"bundled context {entry['file']} has SHA-256 {digest}, the manifest pins {entry['sha256']}"
            )
        found[entry["url"]] = BundledContext(
            entry["url"], entry["file"], entry["sha256"], entry["source"], json.loads(raw)
        )
    return found


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader over the bundled contexts only."""
    context = bundled().get(url)
    if context is None:
        raise UnknownContext(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": context.document,
    }
