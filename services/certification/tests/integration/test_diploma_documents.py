"""The public verification page (HTML) and the diploma PDF, through the REST API on SQLite (no broker)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import datetime
from html import escape
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import update

from certifia_certification.adapters.orm import diplomas
from certifia_certification.bootstrap import CertificationContext, create_application
from certifia_certification.domain.diploma_view import french_date, french_timestamp
from certifia_certification.domain.signing import SigningKey
from certifia_shared import event_types as ev
from certifia_shared.testing import auth

OFFICER = auth("officer", subject="officer-7")
TITLE = "Ingénieur en Intelligence Artificielle (MS)"
REASON = "Thèse plagiée <b>& copiée</b> : décision du jury du 2026-11-28."
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class Issued:
    def __init__(self, diploma_id: str, candidate_id: str) -> None:
        self.diploma_id, self.candidate_id = diploma_id, candidate_id
        self.page = f"/diplomas/{diploma_id}/verify"
        self.pdf = f"/diplomas/{diploma_id}/pdf"
        self.json = f"/diplomas/{diploma_id}/verification"
        self.holder = auth("candidate", candidate_id=candidate_id)


def issue(ctx: CertificationContext, events: Any, apply_events: Any, **names: str) -> Issued:
    emitted = apply_events(ctx, *events.full_candidate(**names))
    assert emitted[-1].type == ev.DIPLOMA_ISSUED
    return Issued(str(emitted[-1].data["diploma_id"]), events.candidate_id)


@pytest.fixture
def issued(app_ctx: CertificationContext, events: Any, apply_events: Any) -> Issued:
    return issue(app_ctx, events, apply_events)


def verdict(html: str) -> str:
    [h1] = re.findall(r"<h1>(.*?)</h1>", html, re.S)
    return str(h1)


def fields(html: str) -> dict[str, str]:
    """The page's <dt>/<dd> pairs, tags inside <dd> removed, still HTML-escaped."""
    return {
        dt: re.sub(r"</?code>", "", dd) for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, re.S)
    }


def revoke(client: TestClient, diploma_id: str) -> datetime:
    r = client.post(f"/diplomas/{diploma_id}/revocation", json={"reason": REASON}, headers=OFFICER)
    assert r.status_code == 200, r.text
    return datetime.fromisoformat(r.json()["revoked_at"])


def tamper(ctx: CertificationContext, diploma_id: str) -> None:
    """Change the stored credential behind the service's back (as a database intruder would)."""
    with ctx.uow() as uow:
        query = diplomas.select().where(diplomas.c.diploma_id == diploma_id)
        raw = json.loads(uow.session.execute(query).one().credential)
        raw["validFrom"] = "2001-01-01T00:00:00Z"
        uow.session.execute(
            update(diplomas).where(diplomas.c.diploma_id == diploma_id).values(credential=json.dumps(raw))
        )
        uow.commit()


def assert_safe_html(r: Any) -> None:
    """An HTML answer with the page's security headers, its one inline style allowed by hash, nothing else."""
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    policy = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    [style] = re.findall(r"<style>(.*?)</style>", r.text, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{digest}'", "the inline style sheet is the one the policy allows"
    assert "url(" not in style and "@import" not in style
    tags = Tags()
    tags.feed(r.text)
    assert {t for t, _ in tags.seen} <= SAFE_TAGS, "no script, image, frame or linked resource"
    attributes = {a for _, attrs in tags.seen for a in attrs}
    assert attributes <= {"lang", "charset", "name", "content", "class", "role", "href"}, attributes
    assert "traceback" not in r.text.lower()


SAFE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "div",
    "p",
    "section",
    "h1",
    "dl",
    "dt",
}
SAFE_TAGS |= {"dd", "code", "footer", "a"}


class Tags(HTMLParser):
    """The start tags of a page, with their attribute names."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, set[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, {name for name, _ in attrs}))


# --- the verification page ---


def test_page_of_an_authentic_diploma(client: TestClient, issued: Issued) -> None:
    r = client.get(issued.page)  # public: no token
    assert r.status_code == 200
    assert_safe_html(r)
    checked = client.get(issued.json).json()
    assert checked["valid"] is True
    assert verdict(r.text) == "Diplôme authentique"
    assert fields(r.text) == {
        "Titulaire": "Ada Lovelace",
        "Certification": TITLE,
        "RNCP": "RNCP00000",
        "Niveau": "niveau 7",
        "Niveau européen": "niveau 7 du cadre européen des certifications (EQF)",
        "Date de délivrance": french_timestamp(checked["issued_at"]),
        "Lieu de délivrance": "Paris",
        "Émetteur": "certifia (did:web:certifia.example)",
        "Identifiant du diplôme": issued.diploma_id,
        "Clé de signature (Ed25519)": checked["key_id"],
    }
    assert '<html lang="fr">' in r.text and "ne les garantit pas" not in r.text
    assert f"https://certifia.example/diplomas/{issued.diploma_id}/verify" in r.text
    diploma = client.get(f"/diplomas/{issued.diploma_id}", headers=issued.holder).json()
    assert diploma["verification_page_url"] == f"https://certifia.example{issued.page}"
    assert diploma["pdf_url"] == f"https://certifia.example{issued.pdf}"


def test_page_shows_a_revocation_at_once(client: TestClient, issued: Issued) -> None:
    assert verdict(client.get(issued.page).text) == "Diplôme authentique"
    revoked_at = revoke(client, issued.diploma_id)
    r = client.get(issued.page)
    assert r.status_code == 200
    assert_safe_html(r)
    day = french_date(revoked_at.date())
    assert verdict(r.text) == escape(f"Diplôme révoqué le {day} : {REASON}")
    assert "<b>" not in r.text, "the reason is escaped"
    assert fields(r.text)["Titulaire"] == "Ada Lovelace", "still the issuer's statement, now revoked"
    assert "ne les garantit pas" not in r.text
    checked = client.get(issued.json).json()
    assert checked["valid"] is False and checked["reason"].endswith(REASON)


def test_page_of_a_tampered_diploma(
    client: TestClient, app_ctx: CertificationContext, issued: Issued
) -> None:
    tamper(app_ctx, issued.diploma_id)
    r = client.get(issued.page)
    assert r.status_code == 200
    assert verdict(r.text) == "Diplôme non authentique : la signature ne correspond pas au contenu"
    assert "ne les garantit pas" in r.text, "what a forged diploma states is flagged as unvouched for"
    assert fields(r.text)["Date de délivrance"] == "1er janvier 2001", "shown as the document states it"
    assert client.get(issued.json).json()["reason"] == "the signature does not match the credential"


def test_page_of_a_diploma_signed_with_an_unknown_key(
    sqlite_url: str, settings_for: Any, make_legacy_diploma: Any
) -> None:
    credential = make_legacy_diploma(sqlite_url, SigningKey.generate())  # a key this service never had
    diploma_id = credential["id"].removeprefix("urn:uuid:")
    with TestClient(create_application(settings_for(sqlite_url))) as client:
        r = client.get(f"/diplomas/{diploma_id}/verify")
        assert r.status_code == 200
        assert verdict(r.text) == "Diplôme non authentique : clé de signature inconnue"
        assert client.get(f"/diplomas/{diploma_id}/verification").json()["reason"] == (
            "the verification method is not an assertion method of this issuer's controller document"
        )


def test_hostile_names_are_escaped(
    client: TestClient, app_ctx: CertificationContext, make_events: Any, apply_events: Any, pdf_text: Any
) -> None:
    given = "<script>alert('x')</script>"
    family = 'O\'Brien & "Fils" <img src=x onerror=alert(1)>'
    hostile = issue(app_ctx, make_events(), apply_events, given_name=given, family_name=family)
    r = client.get(hostile.page)
    assert r.status_code == 200
    assert_safe_html(r)
    assert fields(r.text)["Titulaire"] == escape(f"{given} {family}")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in r.text
    assert "<script" not in r.text and "<img" not in r.text
    pdf = client.get(hostile.pdf, headers=hostile.holder)
    shown = " ".join(pdf_text(pdf.content).split())  # a name this long is wrapped on two lines
    assert pdf.status_code == 200 and f"{given} {family}" in shown


def test_unknown_diploma_page_is_an_html_404(client: TestClient) -> None:
    for headers in ({}, BROWSER):
        r = client.get("/diplomas/nope<b>/verify", headers=headers)
        assert r.status_code == 404
        assert_safe_html(r)
        assert verdict(r.text) == "Diplôme introuvable"
        assert "nope&lt;b&gt;" in r.text and "<b>" not in r.text


def test_the_html_404_of_the_verification_page_is_documented(client: TestClient) -> None:
    """Found by the fuzz suite: the page's 404 is HTML for a browser, but OpenAPI documented only problem+json."""
    answered = client.get("/diplomas/nope/verify").headers["content-type"].split(";")[0]
    documented = client.get("/openapi.json").json()["paths"]["/diplomas/{diploma_id}/verify"]["get"]
    content = documented["responses"]["404"]["content"]
    assert answered == "text/html" and content["text/html"] == {"schema": {"type": "string"}}
    assert content["application/problem+json"] == {"schema": {"$ref": "#/components/schemas/Problem"}}


def test_unknown_diploma_is_problem_json_for_json_clients(client: TestClient) -> None:
    r = client.get("/diplomas/nope/verify", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "diploma_id"


# --- the PDF ---


def test_pdf_of_a_diploma(client: TestClient, issued: Issued, pdf_text: Any) -> None:
    r = client.get(issued.pdf, headers=issued.holder)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="diplome-{issued.diploma_id}.pdf"'
    assert r.headers["cache-control"] == "no-store"
    pdf = r.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pages = PdfReader(io.BytesIO(pdf)).pages
    a4_landscape = [0, 0, 842, 595]
    assert len(pages) == 1 and [round(float(x)) for x in pages[0].mediabox] == a4_landscape
    checked = client.get(issued.json).json()
    text = pdf_text(pdf)
    for expected in (
        "DIPLÔME",
        TITLE,
        "Ada Lovelace",
        f"le {french_timestamp(checked['issued_at'])}, par certifia",
        issued.diploma_id,
        f"https://certifia.example/diplomas/{issued.diploma_id}/verify",
        checked["key_id"],
    ):
        assert expected in text, expected
    assert "RÉVOQUÉ" not in text and "NON AUTHENTIQUE" not in text
    issued_at = datetime.fromisoformat(checked["issued_at"])
    assert f"/CreationDate (D:{issued_at:%Y%m%d%H%M%S}".encode() in pdf, "dated by the issue, not the request"


def test_pdf_is_the_same_bytes_on_every_download(client: TestClient, issued: Issued) -> None:
    first = client.get(issued.pdf, headers=issued.holder).content
    assert client.get(issued.pdf, headers=issued.holder).content == first
    assert client.get(issued.pdf, headers=OFFICER).content == first, "the same for whoever downloads it"


def test_pdf_is_dated_by_the_issue_not_the_download(
    sqlite_url: str, settings_for: Any, make_legacy_diploma: Any, key_setting: Any, pdf_text: Any
) -> None:
    """A diploma issued months ago (and before status lists): its PDF says so, and so does its metadata."""
    key = SigningKey.generate()
    credential = make_legacy_diploma(sqlite_url, key)  # issued 2026-07-01 12:00 UTC
    url = f"/diplomas/{credential['id'].removeprefix('urn:uuid:')}/pdf"
    with TestClient(create_application(settings_for(sqlite_url, CERTIFIA_SIGNING_KEY=key_setting(key)))) as c:
        pdf = c.get(url, headers=OFFICER).content
        assert b"/CreationDate (D:20260701120000" in pdf
        assert "le 1er juillet 2026, par certifia" in pdf_text(pdf) and key.kid in pdf_text(pdf)
        assert "RÉVOQUÉ" not in pdf_text(pdf)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("holder", 200),
        ("officer", 200),
        ("admin", 200),
        ("lms", 200),  # the LMS that enrolled the holder
        ("another LMS", 404),  # not disclosed
        ("another candidate", 404),
        ("jury", 403),
        ("service", 403),
        ("nobody", 401),
    ],
)
def test_who_may_download_the_pdf(client: TestClient, issued: Issued, who: str, status: int) -> None:
    special = {
        "holder": issued.holder,
        "another candidate": auth("candidate", candidate_id="someone-else"),
        "lms": auth("lms", client_id="moodle"),
        "another LMS": auth("lms", client_id="lms-other"),
        "nobody": {},
    }
    headers = special[who] if who in special else auth(who)
    r = client.get(issued.pdf, headers=headers)
    assert r.status_code == status
    if status != 200:
        assert r.headers["content-type"] == "application/problem+json"


def test_revoked_diploma_pdf_is_still_served_stamped(
    client: TestClient, issued: Issued, pdf_text: Any
) -> None:
    before = client.get(issued.pdf, headers=issued.holder).content
    revoked_at = revoke(client, issued.diploma_id)
    r = client.get(issued.pdf, headers=issued.holder)
    assert r.status_code == 200 and r.content != before
    text = pdf_text(r.content)
    assert "RÉVOQUÉ" in text and f"le {french_date(revoked_at.date())}" in text and REASON in text
    assert "Ada Lovelace" in text
    assert client.get(issued.pdf, headers=issued.holder).content == r.content


def test_tampered_diploma_pdf_is_stamped_not_authentic(
    client: TestClient, app_ctx: CertificationContext, issued: Issued, pdf_text: Any
) -> None:
    tamper(app_ctx, issued.diploma_id)
    text = pdf_text(client.get(issued.pdf, headers=OFFICER).content)
    assert "NON AUTHENTIQUE" in text and "la signature ne correspond pas au contenu" in text


def test_unknown_diploma_pdf_is_404(client: TestClient) -> None:
    r = client.get("/diplomas/nope/pdf", headers=OFFICER)
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "diploma_id"
