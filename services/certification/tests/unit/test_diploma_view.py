"""What the verification page and the PDF say (domain, no I/O): the French view of a credential and its check."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any, get_args

import pytest

from certifia_certification.domain.credential import (
    CredentialCheck,
    DiplomaFacts,
    Failure,
    diploma_credential,
    summary,
)
from certifia_certification.domain.diploma_view import (
    AUTHENTIC,
    FAILURES,
    UNKNOWN,
    diploma_view,
    french_date,
    french_timestamp,
)
from certifia_certification.domain.revocation import Revocation

BASE = "https://certifia.example"
PAGE = f"{BASE}/diplomas/d-1/verify"
TITLE = "Ingénieur en Intelligence Artificielle (MS)"


def credential() -> dict[str, Any]:
    facts = DiplomaFacts(
        diploma_id="d-1",
        candidate_id="c-1",
        given_name="Zoë",
        family_name="Lovelace",
        title=TITLE,
        criteria="blocs 1 à 4, une option, la thèse",
        referential_version="1.0.0",
        blocs=("1", "2", "3", "4", "5B"),
        issued_at=datetime(2026, 7, 1, 23, 30, tzinfo=UTC),
    )
    return diploma_credential(facts, issuer_id="did:web:certifia.example", base_url=BASE)


def view_of(check: CredentialCheck, cred: dict[str, Any] | None = None) -> Any:
    return diploma_view("d-1", summary(cred or credential()), check, verification_url=PAGE)


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 7, 1), "1er juillet 2026"),
        (date(2026, 11, 29), "29 novembre 2026"),
        (date(2027, 2, 2), "2 février 2027"),
        (date(2026, 8, 15), "15 août 2026"),
        (date(2026, 12, 31), "31 décembre 2026"),
    ],
)
def test_french_dates(day: date, text: str) -> None:
    assert french_date(day) == text


def test_timestamps_are_read_as_utc_days() -> None:
    assert french_timestamp("2026-07-01T23:30:00Z") == "1er juillet 2026"
    assert french_timestamp("2026-07-02T01:30:00+02:00") == "1er juillet 2026"
    assert french_timestamp("2026-07-01") == "1er juillet 2026"
    assert french_timestamp("hier") == "hier", "not a date: shown as written"
    assert french_timestamp(None) == UNKNOWN


def test_a_valid_diploma_is_authentic() -> None:
    view = view_of(CredentialCheck(True, "the signature is valid", "kid-1"))
    assert view.status == "authentic" and view.verdict == AUTHENTIC == "Diplôme authentique"
    assert view.signed_by_issuer and view.stamp is None
    assert (view.holder, view.title, view.issued_on, view.issuer) == (
        "Zoë Lovelace",
        TITLE,
        "1er juillet 2026",
        "certifia",
    )
    assert (
        view.issuer_url == "did:web:certifia.example"
        and view.key_id == "kid-1"
        and view.verification_url == PAGE
    )
    assert view.rncp is None, "the credential carries no RNCP alignment"
    assert view.revoked_on is None and view.revocation_reason is None


def test_a_revoked_diploma_says_when_and_why() -> None:
    at = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    revocation = Revocation(at, "Thèse plagiée : décision du jury.", "officer-7", "officer")
    check = CredentialCheck(False, revocation.statement(), "kid-1", revocation, "revoked")
    view = view_of(check)
    assert view.status == "revoked"
    assert view.verdict == "Diplôme révoqué le 29 novembre 2026 : Thèse plagiée : décision du jury."
    assert view.revoked_on == "29 novembre 2026" and view.revocation_reason == revocation.reason
    assert view.stamp == "RÉVOQUÉ"
    assert view.signed_by_issuer, "a revoked diploma's content is still the issuer's"


def test_revoked_from_the_status_list_alone() -> None:
    view = view_of(
        CredentialCheck(False, "revoked: its status list entry is set", "kid-1", failure="revoked")
    )
    assert view.status == "revoked" and view.verdict == "Diplôme révoqué"
    assert view.revoked_on is None and view.stamp == "RÉVOQUÉ"


@pytest.mark.parametrize(
    ("failure", "verdict"),
    [
        ("bad_signature", "Diplôme non authentique : la signature ne correspond pas au contenu"),
        ("unknown_key", "Diplôme non authentique : clé de signature inconnue"),
        ("no_proof", "Diplôme non authentique : aucune signature"),
        ("unsupported_proof", "Diplôme non vérifiable : type de signature non pris en charge"),
        ("status_unchecked", "Diplôme non vérifiable : statut de révocation indisponible"),
    ],
)
def test_why_a_diploma_is_not_authentic(failure: Failure, verdict: str) -> None:
    view = view_of(CredentialCheck(False, "(the English reason)", None, failure=failure))
    assert view.status == "invalid" and view.verdict == verdict
    assert view.detail == FAILURES[failure][1]
    assert not view.signed_by_issuer and view.stamp == "NON AUTHENTIQUE"
    assert view.key_id is None


def test_every_failure_has_french_words() -> None:
    assert set(FAILURES) == set(get_args(Failure))


def test_rncp_alignment_is_shown_when_the_credential_carries_it() -> None:
    cred = credential()
    cred["credentialSubject"]["achievement"]["alignment"] = [
        {"type": ["Alignment"], "targetFramework": "ESCO", "targetCode": "x", "targetName": "y"},
        {
            "type": ["Alignment"],
            "targetFramework": "RNCP (France compétences)",
            "targetCode": "RNCP00000",
            "targetName": "Niveau 7",
            "targetUrl": "https://www.francecompetences.fr/",
        },
    ]
    assert summary(cred).rncp == "RNCP00000", "the code (the PDF says « enregistrée au RNCP sous le numéro »)"
    assert view_of(CredentialCheck(True, "ok", "k"), cred).rncp == "RNCP00000"


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: c.update(credentialSubject="not an object"),
        lambda c: c["credentialSubject"].update(achievement=["not", "an", "object"]),
        lambda c: c["credentialSubject"].update(identifier="Mallory"),
        lambda c: c.update(issuer="https://elsewhere.example", validFrom=20260701),
        lambda c: c["credentialSubject"]["achievement"].update(alignment={"targetFramework": "RNCP"}),
    ],
)
def test_a_malformed_credential_is_summarised_without_failing(damage: Any) -> None:
    cred = copy.deepcopy(credential())
    damage(cred)
    view = view_of(CredentialCheck(False, "the signature does not match", "k", failure="bad_signature"), cred)
    assert view.status == "invalid"
    assert all(isinstance(v, str) for v in (view.holder, view.title, view.issued_on, view.issuer))
