"""The bundled JSON-LD contexts: pinned by SHA-256, served offline (the same as the npm packages publish:
``integration/test_contexts_npm.py``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from certifia_certification.domain import contexts
from certifia_certification.domain.contexts import (
    ContextIntegrityError,
    UnknownContext,
    bundled,
    document_loader,
)

PACKAGE_CONTEXTS = Path(contexts.__file__).resolve().parents[1] / "contexts"
TOOLS = Path(__file__).resolve().parents[2] / "tools"
EXPECTED = {
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/multikey/v1",
    "https://www.w3.org/ns/did/v1",
}


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    bundled.cache_clear()
    yield
    bundled.cache_clear()


def test_every_context_a_credential_uses_is_bundled_and_pinned() -> None:
    manifest = json.loads((PACKAGE_CONTEXTS / "manifest.json").read_text())
    assert {c["url"] for c in manifest["contexts"]} == EXPECTED == set(bundled())
    pins = json.loads((TOOLS / "package.json").read_text())["dependencies"]
    for entry in manifest["contexts"]:
        raw = (PACKAGE_CONTEXTS / entry["file"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
        package, _, version = entry["source"].removeprefix("npm:").rpartition("@")
        assert pins[package] == version, f"{entry['file']} comes from the npm package pinned in tools/"
        assert "@context" in json.loads(raw)


def test_the_loader_serves_bundled_contexts_and_refuses_anything_else() -> None:
    remote = document_loader("https://www.w3.org/ns/credentials/v2", {})
    assert remote["documentUrl"] == "https://www.w3.org/ns/credentials/v2"
    assert remote["document"]["@context"]["@protected"] is True
    with pytest.raises(UnknownContext, match="not one this issuer bundles"):
        document_loader("https://evil.example/context.jsonld", {})


def test_a_changed_context_file_refuses_to_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    copy = tmp_path / "contexts"
    shutil.copytree(PACKAGE_CONTEXTS, copy)
    path = copy / "credentials-v2.jsonld"
    document = json.loads(path.read_text())
    document["@context"]["name"] = "https://evil.example/name"  # a term redefined
    path.write_text(json.dumps(document))
    monkeypatch.setattr(contexts, "_folder", lambda: copy)
    with pytest.raises(ContextIntegrityError, match=r"credentials-v2\.jsonld"):
        bundled()
