"""The diploma as a one-page A4 landscape PDF, in French, written by WeasyPrint from HTML.

- PDF/A-3b (``pdf_variant="pdf/a-3b"``) and tagged (``pdf_tags=True``) for PDF/UA-1, its XMP also carrying
  the PDF/UA identification (``pdfuaid:part=1``); veraPDF checks both in the tests.
- Unicode: the text is shaped by Pango/HarfBuzz with system fonts (DejaVu, Noto for Arabic and CJK where
  installed), the glyphs used embedded (subset): "Thị Ánh Nguyễn" stays as it is.
- The signed credential is embedded as an associated file (``/AF``, relationship ``Source``,
  ``application/ld+json``), a QR code (segno, SVG) and a clickable link lead to the verification page.
- Deterministic: the same diploma in the same state gives the same bytes (dates are the issue date, the
  file identifier derives from the content).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

import segno
from weasyprint import HTML, Attachment

from certifia_certification.domain.diploma_view import DiplomaView

STAMP_REASON = 240
CREDENTIAL_NAME = "diplome.jsonld"
CREDENTIAL_MEDIA_TYPE = "application/ld+json"

STYLE = """
@page { size: A4 landscape; margin: 0; }
html { font-family: "DejaVu Sans", "Noto Sans", "Noto Sans Arabic", "Noto Sans CJK SC", sans-serif;
  color: #000; }
body { margin: 0; }
.frame { position: absolute; top: 8mm; left: 8mm; right: 8mm; bottom: 8mm; border: 1.4mm solid #182c54;
  padding: 3mm; }
.inner { border: 0.3mm solid #182c54; height: 100%; box-sizing: border-box; padding: 9mm 14mm 0;
  text-align: center; }
.issuer { color: #5a6270; font-weight: bold; font-size: 11pt; text-transform: uppercase; margin: 0; }
h1 { font-family: "DejaVu Serif", "Noto Serif", serif; color: #182c54; font-size: 30pt; margin: 4mm 0 0; }
.title { font-family: "DejaVu Serif", "Noto Serif", serif; color: #182c54; font-size: 18pt;
  font-weight: bold; margin: 2mm 0 0; }
.mentions { color: #5a6270; font-size: 10pt; margin: 1mm 0 0; }
.given { font-family: "DejaVu Serif", serif; font-style: italic; font-size: 13pt; margin: 5mm 0 0; }
.holder { font-family: "DejaVu Serif", "Noto Serif", "Noto Sans Arabic", "Noto Serif CJK SC",
  "Noto Sans CJK SC", serif; font-size: 26pt; font-weight: bold; margin: 2mm 0 0; }
.when { font-family: "DejaVu Serif", serif; font-size: 13pt; margin: 3mm 0 0; }
.proof { position: absolute; left: 14mm; right: 14mm; bottom: 6mm; border-top: 0.2mm solid #182c54;
  padding-top: 2mm; text-align: left; color: #182c54; font-size: 8.5pt; }
.proof table { border-collapse: collapse; margin-right: 36mm; }
.proof th { text-align: left; padding: 0 3mm 0.6mm 0; white-space: nowrap; vertical-align: top; }
.proof td { font-family: "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; padding: 0 0 0.6mm; }
.proof a { color: #182c54; }
.note { color: #5a6270; font-size: 7.5pt; margin: 1.5mm 36mm 0 0; }
.qr { position: absolute; right: 0; bottom: 0; width: 32mm; height: 32mm; image-rendering: pixelated; }
.stamp { position: absolute; left: 50%; top: 104mm; width: 170mm; margin-left: -85mm; transform: rotate(-3deg);
  border: 1.2mm solid #b41818; color: #b41818; padding: 3mm 5mm; text-align: center; font-weight: bold;
  background: #fff; }
.stamp p { margin: 0; font-size: 10pt; }
.stamp .word { font-size: 26pt; }
""".strip()


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _qr(url: str) -> str:
    """The verification page's URL as a QR code, a PNG data URI (an image with a text alternative; an SVG one
    would be drawn as untagged vector content, which PDF/UA-1 refuses)."""
    return str(segno.make(url, error="m").png_data_uri(scale=4, border=2))


def _stamp(view: DiplomaView, stamp: str) -> str:
    """RÉVOQUÉ with the date and reason (shortened past STAMP_REASON characters: the page has it in full), or
    NON AUTHENTIQUE with why."""
    details = [f"le {view.revoked_on}"] if view.revoked_on else []
    details.append(_shorten(view.revocation_reason or view.verdict, STAMP_REASON))
    shown = "".join(f"<p>{escape(d)}</p>" for d in details)
    return f'<div class="stamp" role="note"><p class="word">{escape(stamp)}</p>{shown}</div>'


def _when(view: DiplomaView) -> str:
    """« Fait à Paris, le 1er juillet 2026, par <certificateur> » (without the place when none is stated)."""
    where = f"Fait à {view.place}, le" if view.place else "le"
    return f"{where} {view.issued_on}, par {view.issuer}"


def diploma_html(view: DiplomaView) -> str:
    """The diploma's page as HTML (every value escaped), what WeasyPrint lays out."""
    url = escape(view.verification_url)
    mentions = (
        [f"Certification professionnelle enregistrée au RNCP sous le numéro {view.rncp}"] if view.rncp else []
    )
    levels = [f"Niveau de qualification : {view.level}"] if view.level else []
    levels += [view.eqf_level] if view.eqf_level else []
    if levels:
        mentions.append(" — ".join(levels))
    if view.issuer_url:
        mentions.append(f"Certificateur : {view.issuer} ({view.issuer_url})")
    else:
        mentions.append(f"Certificateur : {view.issuer}")
    rows = [
        ("Identifiant du diplôme", escape(view.diploma_id)),
        ("Vérification", f'<a href="{url}">{url}</a>'),
        ("Clé de signature (Ed25519)", escape(view.key_id or "inconnue")),
    ]
    table = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{v}</td></tr>' for k, v in rows)
    note = (
        "Ce document reproduit un diplôme électronique signé (Open Badges 3.0 / W3C Verifiable Credential), "
        f"joint à ce PDF ({CREDENTIAL_NAME}). Seule la page de vérification ci-dessus fait foi : elle indique si "
        "le diplôme est authentique et s'il a été révoqué."
    )
    return f"""<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>{escape(f"Diplôme : {view.title} ({view.holder})")}</title>
<meta name="author" content="{escape(view.issuer)}">
<meta name="description" content="{escape(f"Diplôme {view.diploma_id}, vérification : {view.verification_url}")}">
<meta name="generator" content="certifia">
<style>{STYLE}</style></head>
<body><div class="frame"><div class="inner">
<p class="issuer">{escape(view.issuer)}</p>
<h1>DIPLÔME</h1>
<p class="title">{escape(view.title)}</p>
{"".join(f'<p class="mentions">{escape(m)}</p>' for m in mentions)}
<p class="given">est décerné à</p>
<p class="holder" dir="auto">{escape(view.holder)}</p>
<p class="when">{escape(_when(view))}</p>
{_stamp(view, view.stamp) if view.stamp else ""}
<div class="proof"><table>{table}</table><p class="note">{escape(note)}</p>
<img class="qr" src="{_qr(view.verification_url)}" alt="QR code de la page de vérification : {url}"></div>
</div></div></body></html>"""


PDFUA_ID = (
    b'<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">'
    b"<pdfuaid:part>1</pdfuaid:part></rdf:Description>"
    # PDF/A (ISO 19005-3, 6.6.2.3) accepts a schema outside its list only when described as an extension
    b'<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
    b'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" '
    b'xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
    b'<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
    b"<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>"
    b"<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>"
    b"<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>"
    b'<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">'
    b"<pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType>"
    b"<pdfaProperty:category>internal</pdfaProperty:category>"
    b"<pdfaProperty:description>Part of ISO 14289 followed</pdfaProperty:description>"
    b"</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"
)
"""The PDF/UA-1 identification (ISO 14289-1, 5): WeasyPrint writes one variant's (here PDF/A-3b's) only, and
its ``xmp_metadata`` option adds a second ``rdf:RDF`` that veraPDF does not read; so it goes into the one
``rdf:RDF`` that WeasyPrint generates (``_with_pdfua_id``)."""


def _with_pdfua_id(generate: Callable[..., bytes]) -> Callable[..., bytes]:
    def generate_rdf_metadata(*args: Any, **kwargs: Any) -> bytes:
        rdf = generate(*args, **kwargs)
        end = rdf.rindex(b"</rdf:RDF>")
        return rdf[:end] + PDFUA_ID + rdf[end:]

    return generate_rdf_metadata


def render_diploma_pdf(
    view: DiplomaView, *, issued_at: datetime, credential: dict[str, Any] | None = None
) -> bytes:
    html = diploma_html(view)
    attachments = []
    signed = b""
    if credential is not None:
        signed = json.dumps(credential, ensure_ascii=False, indent=2).encode()
        attachments.append(
            Attachment(
                string=signed,
                name=CREDENTIAL_NAME,
                description="Diplôme électronique signé (Open Badges 3.0, W3C Verifiable Credential)",
                created=issued_at,
                modified=issued_at,
                relationship="Source",
            )
        )
    document = HTML(string=html).render()
    metadata = document.metadata
    metadata.created = metadata.modified = issued_at.isoformat(timespec="seconds")
    metadata.generate_rdf_metadata = _with_pdfua_id(metadata.generate_rdf_metadata)  # type: ignore[method-assign]
    # the file /ID derives from the content (WeasyPrint's PDF/A default is random): same diploma, same bytes
    identifier = hashlib.sha256(html.encode() + signed).hexdigest()[:32].encode()
    pdf = document.write_pdf(
        pdf_variant="pdf/a-3b",
        pdf_tags=True,
        attachments=attachments,
        pdf_identifier=identifier,
    )
    assert pdf is not None
    return bytes(pdf)
