"""The verification page has no accessibility violation axe-core finds (issue 13 item 8), in each of its
states (authentic, revoked, suspended, not authentic), laid out by a real browser (headless Chromium,
the phone test's window). axe-core is pinned in tools/package.json (make certification-tools)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest

from certifia_certification.adapters.diploma_page import render_verification_page
from certifia_certification.domain.diploma_view import DiplomaView

from .test_diploma_page_phone import CHROMIUM, chromium

AXE = Path(__file__).resolve().parents[2] / "tools" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """<script>
axe.run(document, {resultTypes: ["violations"]}).then((results) => {
  document.documentElement.setAttribute("data-axe", JSON.stringify(results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.html.slice(0, 200)),
  }))));
}, (error) => document.documentElement.setAttribute("data-axe", JSON.stringify({error: String(error)})));
</script>"""

VIEW = DiplomaView(
    diploma_id="7f1c2a4e-5b8d-4c3e-9a0f-1d2e3f4a5b6c",
    holder="Thị Ánh Nguyễn",
    title="Ingénieur en Intelligence Artificielle (MS)",
    rncp="RNCP00000",
    issued_on="1er juillet 2026",
    issuer="certifia",
    issuer_url="did:web:certifia.example",
    key_id="did:web:certifia.example#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    verification_url="https://certifia.example/diplomas/7f1c2a4e-5b8d-4c3e-9a0f-1d2e3f4a5b6c/verify",
    status="authentic",
    verdict="Diplôme authentique",
    detail="La signature de l'émetteur est valide.",
)
STATES = {
    "authentic": VIEW,
    "revoked": replace(
        VIEW,
        status="revoked",
        verdict="Diplôme révoqué le 2 juillet 2026 : thèse plagiée",
        detail="L'émetteur a révoqué ce diplôme : il n'atteste plus la certification.",
    ),
    "suspended": replace(
        VIEW,
        status="suspended",
        verdict="Diplôme suspendu le 2 juillet 2026 : recours en cours",
        detail="L'émetteur a suspendu ce diplôme le temps d'un recours.",
    ),
    "invalid": replace(
        VIEW,
        status="invalid",
        verdict="Ce diplôme n'est pas authentique",
        detail="La signature ne correspond pas au contenu.",
    ),
}


def violations(tmp_path: Path, html: str) -> list[dict[str, object]]:
    page = tmp_path / "page.html"
    axe = f"<script>{AXE.read_text(encoding='utf-8')}</script>{RUN_AXE}"
    page.write_text(html.replace("</body>", axe + "</body>"), encoding="utf-8")
    stdout = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    found = re.search(r'data-axe="([^"]*)"', stdout)
    assert found, "axe-core did not report: " + stdout[-1000:]
    result = json.loads(unescape(found.group(1)))
    assert not (isinstance(result, dict) and "error" in result), result
    return list(result)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian package chromium) to run axe-core in")
@pytest.mark.skipif(not AXE.is_file(), reason="axe-core is not installed (make certification-tools)")
@pytest.mark.parametrize("state", sorted(STATES))
def test_the_verification_page_has_no_axe_violation(tmp_path: Path, state: str) -> None:
    html = render_verification_page(
        STATES[state],
        json_url="https://certifia.example/v.json",
        jwks_url="https://certifia.example/.well-known/did.json",
    )
    assert violations(tmp_path, html) == []


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian package chromium) to run axe-core in")
@pytest.mark.skipif(not AXE.is_file(), reason="axe-core is not installed (make certification-tools)")
def test_axe_core_does_find_a_violation_on_a_broken_page(tmp_path: Path) -> None:
    """The check can fail: an image without alternative text and a page without a language are found."""
    broken = '<!DOCTYPE html><html><head><title>x</title></head><body><img src="data:,"></body></html>'
    found = {v["id"] for v in violations(tmp_path, broken)}
    assert {"image-alt", "html-has-lang"} <= found, found
