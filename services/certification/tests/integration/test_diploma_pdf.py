"""The diploma PDF itself (rendered in process, no API): PDF/A-3b and PDF/UA-1 by veraPDF (zero failed rule),
the holder's name kept in any script, the signed credential embedded, a QR code and a link to the page."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from certifia_certification.adapters.diploma_pdf import render_diploma_pdf
from certifia_certification.domain.diploma_view import DiplomaView

VERAPDF = Path(__file__).resolve().parents[2] / "tools" / "verapdf" / "verapdf.sh"
URL = "https://certifia.example/diplomas/d-1/verify"
CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:d-1",
    "name": "Thị Ánh Nguyễn",
}
NAMES = {
    "vietnamese": "Thị Ánh Nguyễn",
    "polish": "Łukasz Żółć",
    "arabic": "ليلى بن يوسف",
    "chinese": "王小明",
    "japanese": "山田 太郎",
    "korean": "김민준",
}


def view(holder: str, *, revoked: bool = False) -> DiplomaView:
    return DiplomaView(
        diploma_id="d-1",
        holder=holder,
        title="Expert en ingénierie de l'intelligence artificielle",
        rncp="RNCP00000",
        issued_on="1er juillet 2026",
        issuer="École certifia",
        issuer_url="did:web:certifia.example",
        key_id="did:web:certifia.example#key-1",
        verification_url=URL,
        status="revoked" if revoked else "authentic",
        verdict="Diplôme révoqué le 2 juillet 2026 : fraude" if revoked else "Diplôme authentique",
        detail="",
        revoked_on="2 juillet 2026" if revoked else None,
        revocation_reason="Thèse plagiée : décision du jury" if revoked else None,
        level="niveau 7",
        eqf_level="niveau 7 du cadre européen des certifications (EQF)",
        place="Paris",
    )


def render(holder: str, *, revoked: bool = False) -> bytes:
    return render_diploma_pdf(
        view(holder, revoked=revoked), issued_at=datetime(2026, 7, 1, tzinfo=UTC), credential=CREDENTIAL
    )


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("script", sorted(NAMES))
def test_the_holders_name_is_kept_in_any_script(script: str) -> None:
    """Core fonts (Windows-1252) showed "Thị Ánh Nguyễn" as "Thi Ánh Nguyen", "Łukasz Żółć" as "Lukasz Zólc"."""
    assert NAMES[script] in text_of(render(NAMES[script]))


def test_fonts_are_embedded() -> None:
    reader = PdfReader(io.BytesIO(render(NAMES["vietnamese"])))
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)[
            "/FontDescriptor"
        ]
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]


def test_the_signed_credential_is_embedded_as_an_associated_file() -> None:
    reader = PdfReader(io.BytesIO(render("Ada Lovelace")))
    assert json.loads(reader.attachments["diplome.jsonld"][0]) == CREDENTIAL
    specs = [f.get_object() for f in reader.trailer["/Root"]["/AF"]]  # WeasyPrint 70 lists it twice
    assert {(spec["/F"], spec["/AFRelationship"]) for spec in specs} == {("diplome.jsonld", "/Source")}
    assert specs[0]["/EF"]["/F"].get_object()["/Subtype"] == "/application/ld+json"


def test_a_link_and_a_qr_code_lead_to_the_verification_page() -> None:
    pdf = render("Ada Lovelace")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    links = [a.get_object()["/A"]["/URI"] for a in page["/Annots"] if a.get_object()["/Subtype"] == "/Link"]
    assert links == [URL]
    images = page.images
    assert len(images) == 1 and min(images[0].image.size) >= 100, "the QR code"
    assert URL in text_of(pdf)


def test_the_rncp_mentions_are_there() -> None:
    text = " ".join(text_of(render("Ada Lovelace")).split())
    for mention in (
        "École certifia",  # the certifier
        "Expert en ingénierie de l'intelligence artificielle",  # the exact title
        "enregistrée au RNCP sous le numéro RNCP00000",
        "Niveau de qualification : niveau 7 — niveau 7 du cadre européen des certifications (EQF)",
        "Fait à Paris, le 1er juillet 2026, par École certifia",
        "Ada Lovelace",
    ):
        assert mention in text, mention


@pytest.mark.skipif(
    not (shutil.which("java") and shutil.which("mvn")), reason="veraPDF needs java and mvn (Maven Central)"
)
@pytest.mark.parametrize("flavour", ["3b", "ua1"])
def test_verapdf_finds_no_failed_rule(tmp_path: Path, flavour: str) -> None:
    """veraPDF 1.26 (org.verapdf:validation-model): PDF/A-3b and PDF/UA-1, for a valid and a stamped diploma.
    The fpdf2 PDF failed 4 PDF/A-3b rules and 5 PDF/UA-1 rules."""
    files = []
    for name, pdf in {"a": render(NAMES["vietnamese"]), "b": render(NAMES["arabic"], revoked=True)}.items():
        files.append(tmp_path / f"{name}.pdf")
        files[-1].write_bytes(pdf)
    done = subprocess.run(
        [str(VERAPDF), flavour, *map(str, files)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": 0 failed rules") == 2, done.stdout
