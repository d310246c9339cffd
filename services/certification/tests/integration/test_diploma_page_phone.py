"""The verification page on a 390 px phone, laid out by a real browser (headless Chromium): the value column
keeps its width and the verdict does not wrap letter by letter. Was: the value column 52 px wide. The
screenshot is kept in the test's temporary folder (``phone.png``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import escape, unescape
from pathlib import Path

import pytest

from certifia_certification.adapters.diploma_page import render_verification_page
from certifia_certification.domain.diploma_view import DiplomaView

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
PHONE = (390, 844)
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="phone" width="{width}" height="{height}" style="border:0;display:block" srcdoc="{page}"></iframe>
<script>
const frame = document.getElementById("phone");
frame.addEventListener("load", () => {{
  const doc = frame.contentDocument, win = frame.contentWindow;
  const box = (e) => e.getBoundingClientRect();
  const h1 = doc.querySelector("h1");
  document.body.setAttribute("data-measure", JSON.stringify({{
    viewport: win.innerWidth,
    scroll: doc.documentElement.scrollWidth,
    values: [...doc.querySelectorAll("dd")].map((d) => box(d).width),
    h1Lines: Math.round(box(h1).height / parseFloat(win.getComputedStyle(h1).lineHeight)),
  }}));
}});
</script></body></html>"""
"""The page in a 390 px wide frame (headless Chromium's window is at least 500 px wide), measured from its
parent (a ``srcdoc`` frame shares its origin): the page's own policy forbids scripts, the frame does not run
any inside it."""


def page() -> str:
    view = DiplomaView(
        diploma_id="7f1c2a4e-5b8d-4c3e-9a0f-1d2e3f4a5b6c",
        holder="Thị Ánh Nguyễn",
        title="Ingénieur en Intelligence Artificielle (MS)",
        rncp="RNCP00000",
        issued_on="1er juillet 2026",
        issuer="certifia",
        issuer_url="did:web:certifia.example",
        key_id="did:web:certifia.example#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        verification_url="https://certifia.example/diplomas/7f1c2a4e-5b8d-4c3e-9a0f-1d2e3f4a5b6c/verify",
        status="revoked",
        verdict="Diplôme révoqué le 2 juillet 2026 : thèse plagiée, décision du jury",
        detail="L'émetteur a révoqué ce diplôme : il n'atteste plus la certification.",
    )
    return render_verification_page(
        view,
        json_url="https://certifia.example/v.json",
        jwks_url="https://certifia.example/.well-known/did.json",
    )


def chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size=600,{PHONE[1]}",
            "--hide-scrollbars",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian package chromium) to lay the page out")
def test_the_page_reads_well_on_a_390px_phone(tmp_path: Path) -> None:
    html = tmp_path / "page.html"
    html.write_text(FRAME.format(width=PHONE[0], height=PHONE[1], page=escape(page())), encoding="utf-8")
    shot = tmp_path / "phone.png"
    chromium(tmp_path, f"--screenshot={shot}", html.as_uri())
    assert shot.read_bytes().startswith(b"\x89PNG"), "a screenshot at 390 px"
    dom = chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", html.as_uri())
    found = re.search(r'data-measure="([^"]*)"', dom)
    assert found, dom[-2000:]
    measure = json.loads(unescape(found.group(1)))
    assert measure["viewport"] == PHONE[0]
    assert measure["scroll"] <= PHONE[0], "nothing wider than the phone"
    assert min(measure["values"]) >= 200, measure
    assert measure["h1Lines"] <= 3, measure
