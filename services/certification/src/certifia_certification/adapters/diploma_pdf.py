"""The diploma as a one-page A4 landscape PDF (fpdf2), in French.

Deterministic: the same diploma in the same state gives the same bytes (the PDF's creation date is the issue
date; fpdf2 derives the file /ID from the content and that date). Only PDF core fonts are used (Helvetica,
Times; nothing embedded, nothing downloaded), with Windows-1252 text: French accents are in it; a character
outside it (a name from an LMS may hold any) is shown without its accent, or as "?".
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

from certifia_certification.domain.diploma_view import DiplomaView

ENCODING = "cp1252"
WIDTH, HEIGHT = 297.0, 210.0
MARGIN = 22.0
TEXT_WIDTH = WIDTH - 2 * MARGIN
NAVY = (24, 44, 84)
GREY = (90, 98, 112)
RED = (180, 35, 24)
STAMP_WIDTH = 180.0
STAMP_CENTRE_Y = 131.0
"""Between the issue date line (ends near y = 107 mm) and the proof block (from y = 155 mm)."""
STAMP_REASON = 240
_FALLBACK = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "ħ": "h", "Ħ": "H"})


def pdf_text(text: str) -> str:
    """``text`` as Windows-1252 can show it: control characters become spaces; a character outside the
    encoding loses its accents (``ă`` -> ``a``), else becomes ``?``."""
    shown = []
    for char in text.translate(_FALLBACK):
        if unicodedata.category(char).startswith("C"):
            char = " "
        try:
            char.encode(ENCODING)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            char = base if base and all(_encodable(c) for c in base) else "?"
        shown.append(char)
    return "".join(shown)


def _encodable(char: str) -> bool:
    try:
        char.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


class _Diploma(FPDF):
    def line_of(
        self, text: str, *, size: float, style: str = "", family: str = "Helvetica", min_size: float = 9
    ) -> None:
        """One centred line, its font shrunk (down to ``min_size``) to fit; wrapped if it still does not."""
        text = pdf_text(text)
        while size > min_size:
            self.set_font(family, style, size)
            if self.get_string_width(text) <= TEXT_WIDTH:
                break
            size -= 1
        self.set_font(family, style, size)
        self.set_x(MARGIN)
        self.multi_cell(TEXT_WIDTH, size * 0.45, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def line_count(self, width: float, height: float, text: str) -> int:
        """How many lines ``text`` takes in a cell ``width`` wide, in the current font."""
        lines = self.multi_cell(width, height, text, dry_run=True, output="LINES")
        return len(lines) if isinstance(lines, list) else 1

    def field(self, label: str, value: str) -> None:
        self.set_x(MARGIN)
        self.set_font("Helvetica", "B", 9)
        self.cell(52, 5, pdf_text(label))
        self.set_font("Courier", "", 9)
        self.multi_cell(TEXT_WIDTH - 52, 5, pdf_text(value), wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN)


def _frame(pdf: _Diploma) -> None:
    pdf.set_draw_color(*NAVY)
    pdf.set_line_width(1.4)
    pdf.rect(8, 8, WIDTH - 16, HEIGHT - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, WIDTH - 22, HEIGHT - 22)


def _body(pdf: _Diploma, view: DiplomaView) -> None:
    pdf.set_text_color(*GREY)
    pdf.set_y(26)
    pdf.line_of(view.issuer.upper(), size=11, style="B")
    pdf.set_text_color(*NAVY)
    pdf.ln(6)
    pdf.line_of("DIPLÔME", size=34, style="B", family="Times")
    pdf.ln(4)
    pdf.line_of(view.title, size=20, style="B", family="Times")
    if view.rncp:
        pdf.set_text_color(*GREY)
        pdf.line_of(f"RNCP : {view.rncp}", size=11)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(8)
    pdf.line_of("est décerné à", size=13, style="I", family="Times")
    pdf.ln(3)
    pdf.line_of(view.holder, size=28, style="B", family="Times", min_size=12)
    pdf.ln(6)
    pdf.line_of(f"le {view.issued_on}, par {view.issuer}", size=13, family="Times")


def _proof(pdf: _Diploma, view: DiplomaView) -> None:
    pdf.set_y(HEIGHT - 52)
    pdf.set_text_color(*NAVY)
    pdf.set_draw_color(*NAVY)
    pdf.set_line_width(0.2)
    pdf.line(MARGIN, pdf.get_y() - 3, WIDTH - MARGIN, pdf.get_y() - 3)
    pdf.field("Identifiant du diplôme", view.diploma_id)
    pdf.field("Vérification", view.verification_url)
    pdf.field("Clé de signature (Ed25519)", view.key_id or "inconnue")
    pdf.ln(2)
    pdf.set_x(MARGIN)
    pdf.set_text_color(*GREY)
    pdf.set_font("Helvetica", "", 8)
    note = (
        "Ce document reproduit un diplôme électronique signé (Open Badges 3.0 / W3C Verifiable Credential). "
        "Seule la page de vérification ci-dessus fait foi : elle indique si le diplôme est authentique et "
        "s'il a été révoqué."
    )
    pdf.multi_cell(TEXT_WIDTH, 4, pdf_text(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _stamp(pdf: _Diploma, view: DiplomaView, stamp: str) -> None:
    """A red stamp between the holder and the proof: RÉVOQUÉ with the date and reason (shortened past
    STAMP_REASON characters: the page has it in full), or NON AUTHENTIQUE with why."""
    details = [f"le {view.revoked_on}"] if view.revoked_on else []
    details.append(_shorten(view.revocation_reason or view.verdict, STAMP_REASON))
    inner = STAMP_WIDTH - 10
    pdf.set_font("Helvetica", "B", 10)
    lines = sum(pdf.line_count(inner, 4.5, pdf_text(d)) for d in details)
    height = 4 + 13 + 4.5 * lines + 4
    left, top = (WIDTH - STAMP_WIDTH) / 2, STAMP_CENTRE_Y - height / 2
    pdf.set_text_color(*RED)
    pdf.set_draw_color(*RED)
    pdf.set_line_width(1.2)
    with (
        pdf.local_context(fill_opacity=0.8, stroke_opacity=0.8),
        pdf.rotation(3, x=WIDTH / 2, y=STAMP_CENTRE_Y),
    ):
        pdf.rect(left, top, STAMP_WIDTH, height)
        pdf.set_xy(left + 5, top + 4)
        pdf.set_font("Helvetica", "B", 28)
        pdf.multi_cell(inner, 13, pdf_text(stamp), align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "B", 10)
        for detail in details:
            pdf.multi_cell(inner, 4.5, pdf_text(detail), align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)


def render_diploma_pdf(view: DiplomaView, *, issued_at: datetime) -> bytes:
    pdf = _Diploma(orientation="landscape", unit="mm", format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_creation_date(issued_at)  # not "now": two downloads are byte for byte the same
    pdf.set_title(pdf_text(f"Diplôme : {view.title} ({view.holder})"))
    pdf.set_author(pdf_text(view.issuer))
    pdf.set_subject(pdf_text(f"Diplôme {view.diploma_id}, vérification : {view.verification_url}"))
    pdf.set_creator("certifia")
    pdf.set_lang("fr-FR")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, 15, MARGIN)
    pdf.add_page()
    _frame(pdf)
    _body(pdf, view)
    _proof(pdf, view)
    if view.stamp:
        _stamp(pdf, view, view.stamp)
    return bytes(pdf.output())
