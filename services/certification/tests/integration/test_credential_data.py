"""What the credentials state beyond one candidate's facts (domain/achievement.py): the certifying body and the
certification from configuration, the results, the holder's hashed email, the achievements served at their
ids; and the progress rules judged by when a right was earned (earned_at; the option of a diploma in force)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_certification.bootstrap import CertificationContext, create_application
from certifia_certification.config import DEV_LOGO
from certifia_certification.domain.achievement import email_hash, holds_email
from certifia_certification.domain.data_integrity import check_safe
from certifia_shared import event_types as ev
from certifia_shared.testing import auth

BASE = "https://certifia.example"
ACHIEVEMENT = f"{BASE}/achievements/referential-1.0.0"
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
OFFICER = auth("officer")


def diploma_of(client: TestClient, candidate_id: str) -> dict[str, Any]:
    diploma: dict[str, Any] = client.get(f"/candidates/{candidate_id}/diploma", headers=OFFICER).json()
    return diploma


def progress_of(client: TestClient, candidate_id: str) -> dict[str, Any]:
    progress: dict[str, Any] = client.get(f"/candidates/{candidate_id}/progress", headers=OFFICER).json()
    return progress


def bloc_certificate(client: TestClient, candidate_id: str, bloc: str) -> dict[str, Any]:
    certificates = progress_of(client, candidate_id)["certificates"]
    certificate_id = next(c["certificate_id"] for c in certificates if c["bloc"] == bloc)
    credential: dict[str, Any] = client.get(
        f"/bloc-certificates/{certificate_id}/credential", headers=OFFICER
    ).json()
    return credential


@pytest.fixture
def diploma(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> dict[str, Any]:
    """The signed diploma of a candidate on option 5B (the tests' settings: an RNCP code, a SIRET, NSF 326)."""
    apply_events(app_ctx, *events.full_candidate("5B"))
    credential: dict[str, Any] = diploma_of(client, events.candidate_id)["credential"]
    return credential


# --- 1. issuer and achievement as data ---


def test_the_issuer_is_the_certifying_body_from_configuration(diploma: dict[str, Any]) -> None:
    assert diploma["issuer"] == {
        "id": "did:web:certifia.example",  # resolvable: GET /.well-known/did.json
        "type": ["Profile"],
        "name": "certifia",
        "url": BASE,  # CERTIFIA_CERTIFIER_URL unset: the public base URL
        "image": {"id": DEV_LOGO, "type": "Image", "caption": "Logo : certifia"},
        "otherIdentifier": [
            {"type": "IdentifierEntry", "identifier": "73282932000074", "identifierType": "ext:SIRET"}
        ],
        "address": {"type": ["Address"], "addressLocality": "Paris", "addressCountryCode": "FR"},
    }
    assert diploma["credentialSchema"] == [{"id": OB_SCHEMA, "type": "JsonSchema"}]


def test_the_achievement_is_aligned_to_the_rncp_fiche_and_the_levels(diploma: dict[str, Any]) -> None:
    achievement = diploma["credentialSubject"]["achievement"]
    assert achievement["id"] == ACHIEVEMENT
    by_framework = {a["targetFramework"]: a for a in achievement["alignment"]}
    rncp = by_framework["Répertoire national des certifications professionnelles (RNCP)"]
    assert rncp == {
        "type": ["Alignment"],
        "targetName": "Ingénieur en Intelligence Artificielle (MS)",
        "targetUrl": "https://www.francecompetences.fr/recherche/rncp/00000/",
        "targetCode": "RNCP00000",
        "targetFramework": "Répertoire national des certifications professionnelles (RNCP)",
        "targetType": "ceterms:Credential",
    }
    level = by_framework["Cadre national des certifications professionnelles"]
    assert (level["targetCode"], level["targetName"]) == ("7", "Niveau 7")
    eqf = by_framework["European Qualifications Framework (EQF)"]
    assert (eqf["targetCode"], eqf["targetType"]) == ("7", "ext:EQFLevel")
    nsf = by_framework["Nomenclature des spécialités de formation (NSF)"]
    assert (nsf["targetCode"], nsf["targetUrl"]) == ("326", rncp["targetUrl"])


def test_the_results_are_the_blocs_and_the_thesis(diploma: dict[str, Any]) -> None:
    subject = diploma["credentialSubject"]
    described = {d["id"]: d for d in subject["achievement"]["resultDescription"]}
    assert list(described) == [f"{ACHIEVEMENT}#bloc-{b}" for b in ("1", "2", "3", "4", "5A", "5B")] + [
        f"{ACHIEVEMENT}#thesis"
    ]
    assert all(d["type"] == ["ResultDescription"] and d["resultType"] == "Status" for d in described.values())
    assert subject["result"] == [
        {"type": ["Result"], "resultDescription": f"{ACHIEVEMENT}#{what}", "status": "Completed"}
        for what in ("bloc-1", "bloc-2", "bloc-3", "bloc-4", "bloc-5B", "thesis")
    ], "the blocs the diploma is awarded on (not 5A: not chosen) and the thesis"


def test_a_vae_diploma_has_no_thesis_result(
    client: TestClient, app_ctx: CertificationContext, make_events: Any, apply_events: Any
) -> None:
    vae = make_events()
    blocs = [vae.bloc_passed(b, via="vae") for b in ("1", "2", "3", "4", "5A")]
    apply_events(app_ctx, vae.enrolled(path="vae"), vae.option_chosen("5A"), *blocs)
    results = diploma_of(client, vae.candidate_id)["credential"]["credentialSubject"]["result"]
    assert [r["resultDescription"].rpartition("#")[2] for r in results] == [
        "bloc-1",
        "bloc-2",
        "bloc-3",
        "bloc-4",
        "bloc-5A",
    ]


def test_the_achievements_resolve_at_their_ids(
    client: TestClient, diploma: dict[str, Any], events: Any
) -> None:
    embedded = diploma["credentialSubject"]["achievement"]
    served = client.get(embedded["id"].removeprefix(BASE))  # public: no token
    assert served.status_code == 200
    assert served.json() == {"@context": diploma["@context"], **embedded}
    check_safe(served.json())  # every term defined by the bundled contexts

    bloc = bloc_certificate(client, events.candidate_id, "2")["credentialSubject"]["achievement"]
    assert bloc["id"] == f"{ACHIEVEMENT}/blocs/2"
    assert bloc["alignment"][0]["targetCode"] == "RNCP00000", "a bloc of the certification's fiche"
    assert client.get(bloc["id"].removeprefix(BASE)).json() == {"@context": diploma["@context"], **bloc}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/achievements/referential-0.9.0", "achievement_id"),
        ("/achievements/referential-1.0.0/blocs/9", "bloc"),
    ],
)
def test_an_unknown_achievement_is_a_problem_naming_the_field(
    client: TestClient, path: str, field: str
) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["errors"][0]["field"] == field
    assert "GET /achievements/referential-1.0.0" in problem["detail"] or "5B" in problem["detail"]


@pytest.fixture
def configured(sqlite_url: str, settings_for: Any) -> Iterator[TestClient]:
    settings = settings_for(
        sqlite_url,
        CERTIFIA_CERTIFIER_NAME="École certifia SAS",
        CERTIFIA_CERTIFIER_URL="https://ecole.example",
        CERTIFIA_CERTIFIER_SIRET="732 829 320",
        CERTIFIA_CERTIFIER_IMAGE="https://ecole.example/logo.png",
        CERTIFIA_DIPLOMA_PLACE="Lyon",
        CERTIFIA_RNCP_CODE="38616",
        CERTIFIA_NSF_CODE="",
        CERTIFIA_EQF_LEVEL="6",
    )
    with TestClient(create_application(settings)) as c:
        yield c


def test_every_stated_fact_comes_from_configuration(
    configured: TestClient, make_events: Any, apply_events: Any
) -> None:
    app: Any = configured.app
    candidate = make_events()
    apply_events(app.state.ctx, *candidate.full_candidate())
    credential = diploma_of(configured, candidate.candidate_id)["credential"]
    issuer = credential["issuer"]
    assert (issuer["name"], issuer["url"], issuer["address"]["addressLocality"]) == (
        "École certifia SAS",
        "https://ecole.example",
        "Lyon",
    )
    assert issuer["image"]["id"] == "https://ecole.example/logo.png"
    assert issuer["otherIdentifier"][0] == {
        "type": "IdentifierEntry",
        "identifier": "732829320",
        "identifierType": "ext:SIREN",
    }
    alignments = credential["credentialSubject"]["achievement"]["alignment"]
    assert [(a["targetCode"], a["targetUrl"].startswith("https://")) for a in alignments] == [
        ("RNCP38616", True),
        ("7", True),
        ("6", True),
    ], "RNCP code normalised; EQF 6 as configured; no NSF code: no NSF alignment"
    assert alignments[0]["targetUrl"] == "https://www.francecompetences.fr/recherche/rncp/38616/"
    verified = configured.post("/credentials/verify", json={"verifiableCredential": credential}).json()
    assert verified["verified"] is True, verified


# --- 2. holder ---


def test_the_holder_is_named_and_their_email_hashed_with_a_salt_of_each_credential(
    client: TestClient, diploma: dict[str, Any], events: Any
) -> None:
    name, email = diploma["credentialSubject"]["identifier"]
    assert name == {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": False,
        "identityHash": "Ada Lovelace",
    }
    assert email["type"] == "IdentityObject" and email["identityType"] == "emailAddress" and email["hashed"]
    assert email["identityHash"] == email_hash("ada@example.org", email["salt"])
    assert email["identityHash"].startswith("sha256$") and len(email["salt"]) == 32
    assert "ada@example.org" not in json.dumps(diploma), "never in clear"
    assert holds_email(diploma, " Ada@Example.org ") and not holds_email(diploma, "mallory@example.org")
    certificate = bloc_certificate(client, events.candidate_id, "1")
    assert holds_email(certificate, "ada@example.org")
    assert certificate["credentialSubject"]["identifier"][1]["salt"] != email["salt"], "a salt per credential"


# --- 1. the PDF ---


def test_the_pdf_states_level_eqf_rncp_date_and_place(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any, pdf_text: Any
) -> None:
    apply_events(app_ctx, *events.full_candidate())
    diploma_id = diploma_of(client, events.candidate_id)["diploma_id"]
    pdf = client.get(f"/diplomas/{diploma_id}/pdf", headers=OFFICER)
    assert pdf.status_code == 200
    text = " ".join(pdf_text(pdf.content).split())
    for mention in (
        "enregistrée au RNCP sous le numéro RNCP00000",
        "Niveau de qualification : niveau 7",
        "niveau 7 du cadre européen des certifications (EQF)",
        "Fait à Paris, le",
    ):
        assert mention in text, (mention, text)


# --- 3. earned rights survive a withdrawal ---


WITHDRAWN = "2026-06-20T09:00:00+00:00"
BEFORE, AFTER = "2026-06-10T09:00:00+00:00", "2026-06-30T10:00:00+00:00"


def test_a_bloc_earned_before_the_withdrawal_and_decided_after_gets_its_certificate(
    client: TestClient, app_ctx: CertificationContext, events: Any, apply_events: Any
) -> None:
    """An appeal opened before the withdrawal, upheld after it: passed_at after, earned_at before."""
    apply_events(app_ctx, events.enrolled(), events.withdrawn(WITHDRAWN))
    emitted = apply_events(app_ctx, events.bloc_passed("3", passed_at=AFTER, earned_at=BEFORE))
    assert [e.type for e in emitted] == [ev.BLOC_CERTIFICATE_ISSUED]
    progress = progress_of(client, events.candidate_id)
    assert progress["blocs"][0]["earned_at"].startswith("2026-06-10T09:00:00")  # kept (migration 0006)
    assert [c["bloc"] for c in progress["certificates"]] == ["3"]


@pytest.mark.parametrize("earned_at", [None, AFTER])
def test_a_bloc_earned_after_the_withdrawal_earns_nothing(
    app_ctx: CertificationContext, events: Any, apply_events: Any, earned_at: str | None
) -> None:
    """Without earned_at (an older event) the pass is judged by passed_at, as before."""
    apply_events(app_ctx, events.enrolled(), events.withdrawn(WITHDRAWN))
    assert apply_events(app_ctx, events.bloc_passed("3", passed_at=AFTER, earned_at=earned_at)) == []


# --- 4. an option change after the diploma ---


def test_an_option_change_after_the_diploma_keeps_the_diplomas_option(
    client: TestClient,
    app_ctx: CertificationContext,
    events: Any,
    apply_events: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    apply_events(app_ctx, *events.full_candidate("5A"))
    diploma = diploma_of(client, events.candidate_id)
    with caplog.at_level(logging.WARNING, logger="certifia_certification.service_layer.handlers"):
        assert apply_events(app_ctx, events.option_chosen("5B", "2026-09-01T09:00:00+00:00")) == []
    progress = progress_of(client, events.candidate_id)
    assert progress["option"] == "5A" and progress["missing"] == []
    assert progress["diploma_id"] == diploma["diploma_id"]
    verified = client.get(f"/diplomas/{diploma['diploma_id']}/verification").json()
    assert verified["valid"] is True
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert "5B" in warning.getMessage() and diploma["diploma_id"] in warning.getMessage()
