"""Digital Bazaar's verifier (@digitalbazaar/vc + eddsa-rdfc-2022, pinned in services/certification/tools,
offline over our bundled contexts and controller document) verifies what this service issues and rejects
what was changed or revoked: the proof is the standard one, not a suite only our code can read."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_certification.adapters.badge_svg import baked_credential
from certifia_certification.bootstrap import CertificationContext
from certifia_shared.testing import auth

TOOLS = Path(__file__).resolve().parents[2] / "tools"
VERIFIER = TOOLS / "verify-credential.mjs"
BASE = "https://certifia.example"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs npm): no independent verifier")
    if not (TOOLS / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        pytest.fail("the independent verifier is not installed: run `make certification-tools`")
    return found


class Verifier:
    def __init__(self, node: str, folder: Path, controller: dict[str, Any]) -> None:
        self.node, self.folder = node, folder
        self.controller = self._write("controller", controller)

    def _write(self, name: str, document: dict[str, Any]) -> Path:
        path = self.folder / f"{name}.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        return path

    def __call__(self, credential: dict[str, Any], *status_lists: dict[str, Any]) -> tuple[bool, str]:
        args = ["--credential", str(self._write("credential", credential))]
        args += ["--controller", str(self.controller)]
        for i, status_list in enumerate(status_lists):
            args += ["--status-list", str(self._write(f"status-list-{i}", status_list))]
        run = subprocess.run(
            [self.node, str(VERIFIER), *args], capture_output=True, text=True, timeout=60, cwd=TOOLS
        )
        return run.returncode == 0, (run.stdout + run.stderr).strip()


def status_lists(client: TestClient, credential: dict[str, Any]) -> list[dict[str, Any]]:
    """Every status list the credential names (revocation and suspension), as published now."""
    status = credential.get("credentialStatus", [])
    entries = status if isinstance(status, list) else [status]
    return [client.get(e["statusListCredential"].removeprefix(BASE)).json() for e in entries]


def test_digital_bazaar_verifies_our_diploma_and_status_list_and_rejects_tampering(
    node: str,
    tmp_path: Path,
    client: TestClient,
    app_ctx: CertificationContext,
    events: Any,
    apply_events: Any,
) -> None:
    emitted = apply_events(app_ctx, *events.full_candidate(given_name="Thị Ánh", family_name="Nguyễn"))
    diploma_id = str(emitted[-1].data["diploma_id"])
    with app_ctx.uow() as uow:
        stored = uow.progress.diploma(diploma_id)
    assert stored is not None
    diploma = stored.credential
    status_url = diploma["credentialStatus"][0]["statusListCredential"]

    def status_list() -> dict[str, Any]:
        published: dict[str, Any] = client.get(status_url.removeprefix(BASE)).json()
        return published

    verify = Verifier(node, tmp_path, client.get("/.well-known/did.json").json())

    ok, out = verify(diploma, *status_lists(client, diploma))
    assert ok, out
    ok, out = verify(status_list())  # the status list credential itself: a VC of the same issuer
    assert ok, out

    renamed = copy.deepcopy(diploma)
    renamed["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    ok, out = verify(renamed, *status_lists(client, diploma))
    assert not ok and "Invalid signature" in out, out

    backdated = copy.deepcopy(diploma)
    backdated["proof"]["created"] = "2020-01-01T00:00:00Z"
    ok, out = verify(backdated, *status_lists(client, diploma))
    assert not ok and "Invalid signature" in out, out

    officer = auth("officer", subject="officer-7")
    revoked = client.post(f"/diplomas/{diploma_id}/revocation", json={"reason": "Fraude."}, headers=officer)
    assert revoked.status_code == 200
    ok, out = verify(diploma, *status_lists(client, diploma))
    assert not ok and "revocation" in out, out


def test_digital_bazaar_rejects_a_suspended_diploma_and_accepts_it_once_lifted(
    node: str,
    tmp_path: Path,
    client: TestClient,
    app_ctx: CertificationContext,
    events: Any,
    apply_events: Any,
) -> None:
    emitted = apply_events(app_ctx, *events.full_candidate())
    diploma_id = str(emitted[-1].data["diploma_id"])
    officer = auth("officer", subject="officer-7")
    diploma = client.get(f"/diplomas/{diploma_id}/credential", headers=officer).json()
    verify = Verifier(node, tmp_path, client.get("/.well-known/did.json").json())
    suspension_list = status_lists(client, diploma)[1]
    assert suspension_list["credentialSubject"]["statusPurpose"] == "suspension"
    ok, out = verify(suspension_list)  # the suspension list itself: a VC of the same issuer
    assert ok, out

    path = f"/diplomas/{diploma_id}/suspension"
    assert client.post(path, json={"reason": "Enquête en cours."}, headers=officer).status_code == 200
    ok, out = verify(diploma, *status_lists(client, diploma))
    assert not ok and "suspension" in out and "revocation" not in out, out

    assert client.post(f"{path}/lift", json={"reason": "Enquête close."}, headers=officer).status_code == 200
    ok, out = verify(diploma, *status_lists(client, diploma))
    assert ok, out


def test_digital_bazaar_verifies_the_credential_baked_in_the_badge(
    node: str,
    tmp_path: Path,
    client: TestClient,
    app_ctx: CertificationContext,
    events: Any,
    apply_events: Any,
) -> None:
    emitted = apply_events(app_ctx, *events.full_candidate(given_name="Zoë", family_name="<O'Brien & fils>"))
    diploma_id = str(emitted[-1].data["diploma_id"])
    svg = client.get(f"/diplomas/{diploma_id}/badge.svg", headers=auth("officer")).text
    credential = baked_credential(svg)
    verify = Verifier(node, tmp_path, client.get("/.well-known/did.json").json())
    ok, out = verify(credential, *status_lists(client, credential))
    assert ok, out


def test_digital_bazaar_verifies_a_bloc_certificate_and_rejects_it_tampered(
    node: str,
    tmp_path: Path,
    client: TestClient,
    app_ctx: CertificationContext,
    events: Any,
    apply_events: Any,
) -> None:
    apply_events(app_ctx, *events.full_candidate(given_name="Łukasz", family_name="Żółć"))
    officer = auth("officer")
    progress = client.get(f"/candidates/{events.candidate_id}/progress", headers=officer).json()
    certificate_id = progress["certificates"][-1]["certificate_id"]
    credential = client.get(f"/bloc-certificates/{certificate_id}/credential", headers=officer).json()
    verify = Verifier(node, tmp_path, client.get("/.well-known/did.json").json())

    ok, out = verify(credential, *status_lists(client, credential))
    assert ok, out
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["achievement"]["achievementType"] = "Diploma"
    ok, out = verify(tampered, *status_lists(client, credential))
    assert not ok and "Invalid signature" in out, out


def test_digital_bazaar_rejects_a_revoked_bloc_certificate(
    node: str,
    tmp_path: Path,
    client: TestClient,
    app_ctx: CertificationContext,
    events: Any,
    apply_events: Any,
) -> None:
    apply_events(app_ctx, *events.full_candidate())
    officer = auth("officer")
    progress = client.get(f"/candidates/{events.candidate_id}/progress", headers=officer).json()
    revoked_id, kept_id = (c["certificate_id"] for c in progress["certificates"][:2])
    verify = Verifier(node, tmp_path, client.get("/.well-known/did.json").json())
    path = f"/bloc-certificates/{revoked_id}"
    assert client.post(f"{path}/revocation", json={"reason": "Fraude."}, headers=officer).status_code == 200

    revoked = client.get(f"{path}/credential", headers=officer).json()
    ok, out = verify(revoked, *status_lists(client, revoked))
    assert not ok and "revocation" in out, out
    kept = client.get(f"/bloc-certificates/{kept_id}/credential", headers=officer).json()
    ok, out = verify(kept, *status_lists(client, kept))
    assert ok, out
