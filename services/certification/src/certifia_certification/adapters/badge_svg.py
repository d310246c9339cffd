"""A credential as an Open Badges 3.0 baked badge: an SVG image (title, holder, issue date, a QR code of the
verification page) that carries the signed credential itself.

Baking (OB 3.0, section "Baking", SVG): an ``<openbadges:credential>`` element, in the namespace
``https://purl.imsglobal.org/ob/v3p0``, right after the opening ``<svg>`` tag, holding the credential's JSON
in a CDATA section (a credential secured by an embedded proof, as ours are). Whoever holds the image holds the
credential: extracting it gives the credential any verifier checks.

Every value shown is XML-escaped (and stripped of what XML cannot carry); the JSON is written so that it
cannot close its CDATA section (``<``, ``>`` and ``&`` as ``\\u`` escapes: the same JSON once parsed).
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import segno

OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
MEDIA_TYPE = "image/svg+xml"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class BadgeFace:
    """What the image shows (the credential's own statements; the verification page says if they hold)."""

    title: str
    holder: str
    issued_on: str
    issuer: str
    verification_url: str


def text(value: str) -> str:
    """A value as SVG text: one line, only characters XML allows, ``<>&"'`` escaped."""
    one_line = _SPACES.sub(" ", _NOT_XML.sub("", value)).strip()
    return escape(one_line, {'"': "&quot;", "'": "&apos;"})


def credential_json(credential: dict[str, Any]) -> str:
    """The credential's JSON, safe inside CDATA (no ``]]>`` can appear: ``>`` is never written raw)."""
    raw = json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
    raw = raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", raw)


def _qr_path(url: str) -> tuple[str, int]:
    """The QR code of ``url`` as one SVG path (a unit square per dark module) and its width in modules."""
    matrix = segno.make(url, error="m").matrix
    squares = [f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark]
    return "".join(squares), len(matrix)


def _lines(value: str, *, width: int, first_y: int, step: int, css: str, most: int) -> str:
    """``value`` centred on at most ``most`` lines of about ``width`` characters (the rest elided)."""
    wrapped = textwrap.wrap(value, width=width, max_lines=most, placeholder=" …") or [""]
    return "\n".join(
        f'<text x="300" y="{first_y + i * step}" class="{css}">{text(line)}</text>'
        for i, line in enumerate(wrapped)
    )


def render_badge_svg(face: BadgeFace, credential: dict[str, Any]) -> str:
    """The baked badge: the SVG document with the credential inside."""
    qr, modules = _qr_path(face.verification_url)
    scale = 150 / modules
    url = text(face.verification_url)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="{SVG_NAMESPACE}" xmlns:openbadges="{OB_NAMESPACE}" xmlns:xlink="http://www.w3.org/1999/xlink" \
width="600" height="800" viewBox="0 0 600 800" role="img" aria-labelledby="badge-title">
<openbadges:credential><![CDATA[{credential_json(credential)}]]></openbadges:credential>
<title id="badge-title">{text(face.title)} — {text(face.holder)}</title>
<style>text{{font-family:system-ui,Helvetica,Arial,sans-serif;text-anchor:middle;fill:#1d2330}}\
.title{{font-size:30px;font-weight:700}}.holder{{font-size:26px}}.small{{font-size:16px;fill:#566073}}\
.url{{font-size:12px;fill:#33415c}}</style>
<rect x="10" y="10" width="580" height="780" rx="28" fill="#ffffff" stroke="#1e3a8a" stroke-width="8"/>
<circle cx="300" cy="140" r="80" fill="#1e3a8a"/>
<text x="300" y="150" style="font-size:28px;font-weight:700;fill:#ffffff">{text(face.issuer[:10])}</text>
{_lines(face.title, width=30, first_y=280, step=38, css="title", most=3)}
<text x="300" y="420" class="small">Délivré à</text>
{_lines(face.holder, width=36, first_y=455, step=32, css="holder", most=2)}
<text x="300" y="530" class="small">le {text(face.issued_on)}</text>
<a xlink:href="{url}" href="{url}">
<g transform="translate(225 560) scale({scale:.4f})"><rect width="{modules}" height="{modules}" fill="#ffffff"/>\
<path d="{qr}" fill="#000000"/></g>
<text x="300" y="735" class="small">Vérifier l'authenticité :</text>
<text x="300" y="758" class="url">{url}</text>
</a>
</svg>
"""


def baked_credential(svg: str) -> dict[str, Any]:
    """The credential baked into an OB 3.0 SVG (what a holder's wallet or a verifier extracts; for this
    service's own badges: ElementTree expands no external entity but is not hardened for hostile XML)."""
    element = ElementTree.fromstring(svg.encode()).find(f"{{{OB_NAMESPACE}}}credential")
    if element is None or not (element.text or "").strip():
        raise ValueError("no <openbadges:credential> in the SVG")
    found: dict[str, Any] = json.loads(element.text or "")
    return found
