"""Verify a credential as an employer does, without our server's word: take the credential, the issuer's
controller document (``/.well-known/did.json``) and the status lists it names, and run an independent
``eddsa-rdfc-2022`` verifier on them (Digital Bazaar's, pinned in services/certification/tools, offline).

Used by the demo (``make run``) and the e2e suite. When node or the tools are missing, the result says how to
install them (``verified`` is None) instead of failing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "services" / "certification" / "tools"
VERIFIER = TOOLS / "verify-credential.mjs"
INSTALL = "install it with `make certification-tools` (needs node and npm: apt-get install nodejs npm)"


@dataclass(frozen=True)
class IndependentResult:
    verified: bool | None
    """True: the independent verifier accepted it; False: it refused it; None: it could not run."""
    detail: str


def missing_verifier() -> str | None:
    """Why the independent verifier cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return f"node is not installed: {INSTALL}"
    if not (TOOLS / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        return f"the independent verifier is not installed: {INSTALL}"
    return None


def status_list_urls(credential: dict[str, Any]) -> list[str]:
    status = credential.get("credentialStatus")
    entries = status if isinstance(status, list) else [status] if isinstance(status, dict) else []
    urls = [e.get("statusListCredential") for e in entries if isinstance(e, dict)]
    return list(dict.fromkeys(u for u in urls if isinstance(u, str)))


def verify_offline(
    credential: dict[str, Any], *, controller: dict[str, Any], status_lists: list[dict[str, Any]]
) -> IndependentResult:
    """Run the independent verifier on documents already in hand (no network)."""
    missing = missing_verifier()
    if missing:
        return IndependentResult(None, missing)
    with tempfile.TemporaryDirectory(prefix="certifia-verify-") as folder:

        def write(name: str, document: dict[str, Any]) -> str:
            path = Path(folder) / f"{name}.json"
            path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
            return str(path)

        args = ["--credential", write("credential", credential), "--controller", write("did", controller)]
        for i, status_list in enumerate(status_lists):
            args += ["--status-list", write(f"status-list-{i}", status_list)]
        node = shutil.which("node") or "node"
        try:
            run = subprocess.run(
                [node, str(VERIFIER), *args], capture_output=True, text=True, timeout=120, cwd=TOOLS
            )
        except subprocess.TimeoutExpired:
            return IndependentResult(None, "the independent verifier did not answer within 120 s")
    detail = (run.stdout + run.stderr).strip().splitlines()
    return IndependentResult(run.returncode == 0, detail[-1] if detail else f"exit {run.returncode}")


def fetch_and_verify(
    http: httpx.Client, certification_url: str, credential: dict[str, Any]
) -> IndependentResult:
    """Fetch the controller document from ``certification_url`` and the status lists the credential names,
    then verify offline."""
    controller = http.get(f"{certification_url}/.well-known/did.json")
    controller.raise_for_status()
    status_lists = []
    for url in status_list_urls(credential):
        published = http.get(url)
        published.raise_for_status()
        status_lists.append(published.json())
    return verify_offline(credential, controller=controller.json(), status_lists=status_lists)


def describe(what: str, result: IndependentResult) -> str:
    """One line for the demo's output."""
    if result.verified is None:
        return f"{what}: not checked with the independent verifier ({result.detail})"
    verdict = "verified" if result.verified else f"REFUSED ({result.detail})"
    return (
        f"{what}: {verdict} by the independent verifier (Digital Bazaar @digitalbazaar/vc, eddsa-rdfc-2022)"
    )
