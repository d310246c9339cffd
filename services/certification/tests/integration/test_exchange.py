"""Exchange formats (issue 13 item 6): the raw signed credential as ``application/vc+ld+json`` (negotiated or
a ``.jsonld`` download) and the diploma as an Open Badges 3.0 baked SVG. Measured before: no
``/diplomas/{id}/credential``, the bloc certificate's credential only as ``application/json``, no badge."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from certifia_certification.adapters.badge_svg import OB_NAMESPACE, baked_credential, credential_json
from certifia_certification.bootstrap import CertificationContext
from certifia_certification.domain.diploma_view import french_timestamp
from certifia_shared.testing import auth

OFFICER = auth("officer")
VC = "application/vc+ld+json"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def issued(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> dict[str, Any]:
    emitted = apply_events(app_ctx, *events.full_candidate(given_name="Zoë", family_name="O'Brien"))
    diploma_id = str(emitted[-1].data["diploma_id"])
    with app_ctx.uow() as uow:
        stored = uow.progress.diploma(diploma_id)
    assert stored is not None
    progress = client.get(f"/candidates/{events.candidate_id}/progress", headers=OFFICER).json()
    return {
        "diploma_id": diploma_id,
        "credential": stored.credential,
        "certificate_id": progress["certificates"][0]["certificate_id"],
    }


def test_the_diploma_credential_is_served_raw_as_json_or_vc_ld_json(
    client: TestClient, issued: dict[str, Any]
) -> None:
    path = f"/diplomas/{issued['diploma_id']}/credential"
    plain = client.get(path, headers=OFFICER)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")
    assert plain.json() == issued["credential"]

    negotiated = client.get(path, headers={**OFFICER, "Accept": VC})
    assert negotiated.status_code == 200 and negotiated.headers["content-type"].startswith(VC)
    assert json.loads(negotiated.content) == issued["credential"]

    download = client.get(f"{path}.jsonld", headers=OFFICER)
    assert download.headers["content-type"].startswith(VC)
    assert (
        download.headers["content-disposition"]
        == f'attachment; filename="diplome-{issued["diploma_id"]}.jsonld"'
    )
    assert json.loads(download.content) == issued["credential"]


def test_the_bloc_certificate_credential_keeps_json_and_negotiates_vc_ld_json(
    client: TestClient, issued: dict[str, Any]
) -> None:
    path = f"/bloc-certificates/{issued['certificate_id']}/credential"
    plain = client.get(path, headers=OFFICER)
    assert plain.headers["content-type"].startswith("application/json"), "as before"
    negotiated = client.get(path, headers={**OFFICER, "Accept": f"{VC}, application/json;q=0.5"})
    assert negotiated.headers["content-type"].startswith(VC) and negotiated.json() == plain.json()
    download = client.get(f"{path}.jsonld", headers=OFFICER)
    assert download.headers["content-type"].startswith(VC) and download.json() == plain.json()
    assert download.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    "suffix", ["credential", "credential.jsonld", "badge.svg"], ids=["credential", "jsonld", "badge"]
)
def test_exchange_routes_are_candidate_scoped(
    client: TestClient, issued: dict[str, Any], events: Any, suffix: str
) -> None:
    path = f"/diplomas/{issued['diploma_id']}/{suffix}"
    assert client.get(path, headers=auth("candidate", candidate_id=events.candidate_id)).status_code == 200
    assert client.get(path, headers=auth("lms", client_id="moodle")).status_code == 200
    assert client.get(path, headers=auth("lms", client_id="lms-other")).status_code == 404
    assert client.get(path, headers=auth("candidate", candidate_id="someone-else")).status_code == 404
    assert client.get(path).status_code == 401
    assert client.get(f"/diplomas/no-such-diploma/{suffix}", headers=OFFICER).status_code == 404


def test_the_badge_is_an_open_badges_3_baked_svg_carrying_the_verifiable_credential(
    client: TestClient, issued: dict[str, Any]
) -> None:
    r = client.get(f"/diplomas/{issued['diploma_id']}/badge.svg", headers=OFFICER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "script-src" not in r.headers["content-security-policy"]
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    root = ElementTree.fromstring(r.content)
    assert root.tag == f"{SVG}svg"
    first = root[0]
    assert first.tag == f"{{{OB_NAMESPACE}}}credential", "right after the opening <svg> tag"
    assert "<![CDATA[" in r.text
    extracted = baked_credential(r.text)
    assert extracted == issued["credential"]
    answer = client.post("/credentials/verify", json={"verifiableCredential": extracted}).json()
    assert answer["verified"] is True, answer

    shown = [t.text for t in root.iter(f"{SVG}text")]
    issued_on = french_timestamp(issued["credential"]["validFrom"])
    assert "Zoë O'Brien" in shown and f"le {issued_on}" in shown
    assert any("Ingénieur" in (t or "") for t in shown)
    assert f"https://certifia.example/diplomas/{issued['diploma_id']}/verify" in shown
    assert root.find(f".//{SVG}path") is not None, "the QR code"
    assert root.find(f".//{SVG}script") is None


def test_hostile_names_are_escaped_in_the_badge(
    client: TestClient, app_ctx: CertificationContext, make_events: Any, apply_events: Any
) -> None:
    hostile = make_events()
    given, family = '<script>alert("x")</script>', "]]><svg onload=alert(1)> & Cie"
    emitted = apply_events(app_ctx, *hostile.full_candidate(given_name=given, family_name=family))
    diploma_id = str(emitted[-1].data["diploma_id"])
    svg = client.get(f"/diplomas/{diploma_id}/badge.svg", headers=OFFICER).text
    root = ElementTree.fromstring(svg.encode())  # still well-formed XML
    assert root.find(f".//{SVG}script") is None and root.find(f".//{SVG}svg") is None
    assert not any(el.get("onload") for el in root.iter())
    holder = f"{given} {family}"
    shown = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert holder in shown, "shown as text, not markup"
    credential = baked_credential(svg)
    assert credential["credentialSubject"]["identifier"][0]["identityHash"] == holder
    assert client.post("/credentials/verify", json={"verifiableCredential": credential}).json()["verified"]


def test_the_baked_json_cannot_close_its_cdata_section() -> None:
    raw = credential_json({"name": "a ]]> b <c> & d", "n": 1})
    assert "]]>" not in raw and "<" not in raw and "&" not in raw
    assert json.loads(raw) == {"name": "a ]]> b <c> & d", "n": 1}
