"""The demo's independent check (scripts/independent_verification.py, what ``make run`` prints): it fetches
the controller document and the status lists a credential names, runs Digital Bazaar's verifier, and says so;
without the tools it says how to install them instead of failing."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext
from certifia_shared.testing import auth

ROOT = Path(__file__).resolve().parents[4]
BASE = "https://certifia.example"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "independent_verification", ROOT / "scripts" / "independent_verification.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("independent_verification", module)
    spec.loader.exec_module(module)
    return module


iv = _module()


@pytest.fixture
def issued(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> dict[str, Any]:
    apply_events(app_ctx, *events.full_candidate(given_name="Thị Ánh", family_name="Nguyễn"))
    officer = auth("officer")
    progress = client.get(f"/candidates/{events.candidate_id}/progress", headers=officer).json()
    certificate_id = progress["certificates"][0]["certificate_id"]
    return {
        "diploma_id": progress["diploma_id"],
        "diploma": client.get(f"/diplomas/{progress['diploma_id']}", headers=officer).json()["credential"],
        "certificate": client.get(f"/bloc-certificates/{certificate_id}/credential", headers=officer).json(),
    }


def test_the_demo_verifies_the_diploma_and_a_bloc_certificate_independently(
    client: TestClient, issued: dict[str, Any]
) -> None:
    if iv.missing_verifier():
        pytest.skip(iv.missing_verifier())
    for what in ("diploma", "certificate"):
        result = iv.fetch_and_verify(client, BASE, issued[what])
        assert result.verified is True, result.detail
        assert "verified by the independent verifier" in iv.describe(what, result)
    tampered = copy.deepcopy(issued["certificate"])
    tampered["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    result = iv.fetch_and_verify(client, BASE, tampered)
    assert result.verified is False and "Invalid signature" in result.detail
    assert "REFUSED" in iv.describe("bloc certificate", result)

    revoked = client.post(
        f"/diplomas/{issued['diploma_id']}/revocation", json={"reason": "Fraude."}, headers=auth("officer")
    )
    assert revoked.status_code == 200
    result = iv.fetch_and_verify(client, BASE, issued["diploma"])
    assert result.verified is False and "revocation" in result.detail, result.detail


def test_without_the_tools_the_demo_says_how_to_install_them(
    client: TestClient, issued: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(iv, "TOOLS", tmp_path)  # a checkout where `make certification-tools` never ran
    result = iv.fetch_and_verify(client, BASE, issued["diploma"])
    assert result.verified is None
    assert "make certification-tools" in result.detail
    assert "not checked" in iv.describe("diploma", result)
    if shutil.which("node") is not None:
        assert "not installed" in result.detail
