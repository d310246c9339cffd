"""The public verification page as HTML: one self-contained French page (no script, no external asset),
every value HTML-escaped, the only style sheet allowed by its hash in the Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
from html import escape
from string import Template

from certifia_certification.domain.diploma_view import DiplomaView

STYLE = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:#1d2330;background:#f3f4f7}
main{max-width:44rem;margin:2rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #d9dce3;border-radius:8px;padding:1.5rem 2rem}
.issuer{margin:0 0 1rem;color:#566073;font-size:.9rem;letter-spacing:.05em;text-transform:uppercase}
.verdict{border-radius:6px;padding:1rem 1.25rem;margin:0 0 1.5rem;border-left:6px solid}
.verdict h1{margin:0 0 .25rem;font-size:1.35rem}
.verdict p{margin:0}
.authentic{background:#e8f5ec;border-color:#1e7b3a;color:#124d24}
.revoked,.suspended,.invalid{background:#fbeaea;border-color:#b42318;color:#7a1a12}
.warning{color:#7a1a12;font-weight:600}
dl{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:.5rem 1.25rem;margin:0}
dt{color:#566073}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
h1,dt{overflow-wrap:break-word;hyphens:auto}
code{font-size:.9em}
footer{margin:1rem 0;color:#566073;font-size:.85rem;overflow-wrap:anywhere}
footer a{color:#33415c}
@media (max-width:36rem){
main{margin:1rem auto;padding:0 .75rem}
.card{padding:1rem}
.verdict{padding:.75rem 1rem}
dl{grid-template-columns:minmax(0,1fr);gap:0}
dt{font-size:.85rem;margin-top:.75rem}
dd{font-weight:600}
}
""".strip()
"""On a phone (up to 36rem, 576 px) the labels go above their values: side by side, a long label such as
"Clé de signature (Ed25519)" took the width and left the value column ~50 px (the verdict wrapped letter by
letter)."""
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Security headers of the page (and its 404): no script, no outside asset, never cached (a revocation shows
at once)."""

_PAGE = Template("""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>$page_title</title>
<style>$style</style>
</head>
<body>
<main>
<div class="card">
<p class="issuer">$issuer · vérification d'un diplôme</p>
$body
</div>
<footer>$footer</footer>
</main>
</body>
</html>
""")


def _page(title: str, body: str, *, issuer: str, footer: str) -> str:
    return _PAGE.substitute(
        page_title=escape(title), style=STYLE, issuer=escape(issuer), body=body, footer=footer
    )


def _row(label: str, value: str, *, code: bool = False) -> str:
    shown = f"<code>{escape(value)}</code>" if code else escape(value)
    return f"<dt>{escape(label)}</dt><dd>{shown}</dd>"


def render_verification_page(view: DiplomaView, *, json_url: str, jwks_url: str) -> str:
    rows = [
        _row("Titulaire", view.holder),
        _row("Certification", view.title),
        *([_row("RNCP", view.rncp)] if view.rncp else []),
        *([_row("Niveau", view.level)] if view.level else []),
        *([_row("Niveau européen", view.eqf_level)] if view.eqf_level else []),
        _row("Date de délivrance", view.issued_on),
        *([_row("Lieu de délivrance", view.place)] if view.place else []),
        _row("Émetteur", f"{view.issuer} ({view.issuer_url})" if view.issuer_url else view.issuer),
        _row("Identifiant du diplôme", view.diploma_id, code=True),
        _row("Clé de signature (Ed25519)", view.key_id or "inconnue", code=True),
    ]
    warning = (
        ""
        if view.signed_by_issuer
        else '<p class="warning">Les informations ci-dessous sont celles que porte le diplôme ; '
        "l'émetteur ne les garantit pas.</p>\n"
    )
    body = (
        f'<section class="verdict {escape(view.status)}" role="status">\n'
        f"<h1>{escape(view.verdict)}</h1>\n<p>{escape(view.detail)}</p>\n</section>\n"
        f"{warning}<dl>\n{chr(10).join(rows)}\n</dl>"
    )
    footer = (
        f"Page de vérification : <code>{escape(view.verification_url)}</code>. "
        f'Données techniques : <a href="{escape(json_url)}">vérification (JSON)</a>, '
        f'<a href="{escape(jwks_url)}">clés publiques de l\'émetteur</a>.'
    )
    return _page(f"{view.verdict} · {view.title}", body, issuer=view.issuer, footer=footer)


def render_not_found_page(diploma_id: str, *, issuer: str) -> str:
    body = (
        '<section class="verdict invalid" role="status">\n<h1>Diplôme introuvable</h1>\n'
        f"<p>Aucun diplôme délivré par {escape(issuer)} ne porte l'identifiant "
        f"<code>{escape(diploma_id)}</code>. Vérifiez l'adresse ; un diplôme délivré par cet émetteur "
        "reste vérifiable à cette adresse, même révoqué.</p>\n</section>"
    )
    return _page("Diplôme introuvable", body, issuer=issuer, footer="")
