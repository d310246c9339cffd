"""Input hygiene at the edge, the deposit's body limit, the thesis download and the OpenAPI document
(certifia_shared.hygiene, .web, .downloads). Measured before: control characters, ANSI escapes, CR/LF and
U+202E were accepted in companies and names, a mission's ``start_date: 0`` was read as 1970-01-01, and a
deposit was received whole before its 401."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from certifia_shared import event_types as ev
from certifia_shared.edge_testing import (
    COMPOSED,
    DECOMPOSED,
    MiB,
    assert_documents_edges,
    declared_too_large,
    hostile,
    refused_fields,
)
from certifia_shared.testing import auth
from certifia_thesis.adapters.orm import defence_schedules, missions, thesis_deposits

JURY = auth("jury", subject="jury-1")
ABSTRACT = "Une thèse professionnelle sur la détection d'anomalies dans des séries temporelles industrielles."
JURY_PANEL = [
    {"name": "Pr Durand", "role": "president"},
    {"name": "Dr Martin", "role": "member"},
    {"name": "M. Petit", "role": "company_tutor"},
]


def _stored_files(app: Any) -> list[str]:
    return [p.name for p in app.client.app.state.deposits.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("field", ["company", "title", "tutor"])
def test_hostile_text_in_a_mission_is_422_naming_the_field_and_writes_nothing(app: Any, field: str) -> None:
    app.enrol()
    for what, value in hostile("Acme").items():
        assert refused_fields(app.mission(**{field: value})) == {field}, what
    assert app.count(missions) == 0 and app.outbox() == []


@pytest.mark.parametrize(
    "start_date", [0, 1767225600, "0", "20260101", "1066-10-14", "2026-01-01T00:00:00+00:00", True]
)
def test_a_mission_date_is_an_iso_date_between_1900_and_2100(app: Any, start_date: Any) -> None:
    app.enrol()
    assert refused_fields(app.mission(start_date=start_date)) == {"start_date"}
    assert app.count(missions) == 0 and app.outbox() == []


@pytest.mark.parametrize("field", ["title", "abstract", "mission_id"])
def test_hostile_text_in_a_deposit_form_is_422_naming_the_field_and_stores_nothing(
    app: Any, field: str
) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    emitted = len(app.outbox())
    valid = {"title": "Détection d'anomalies", "abstract": ABSTRACT, "mission_id": mission_id}
    for what, value in hostile(valid[field], free_text=field == "abstract").items():
        form = {**valid, field: value}
        response = app.deposit(form.pop("mission_id"), **form)
        assert refused_fields(response) == {field}, (what, response.text)
    assert app.count(thesis_deposits) == 0 and len(app.outbox()) == emitted
    assert _stored_files(app) == []


def test_hostile_names_in_a_schedule_or_a_defence_are_refused(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    assert app.deposit(mission_id).status_code == 201
    emitted = len(app.outbox())
    for what, value in hostile("Pr Durand").items():
        jury = [{**JURY_PANEL[0], "name": value}, *JURY_PANEL[1:]]
        assert refused_fields(app.schedule(jury=jury)) == {"jury.0.name"}, what
        assert refused_fields(app.schedule(location=value)) == {"location"}, what
        assert refused_fields(app.defend(mission_id, jury=["Dr A", value])) == {"jury.1"}, what
        assert refused_fields(app.defend(value)) == {"mission_id"}, what
    for when in (0, "1700000000", "2027-01-15T14:00:00", "1850-01-15T14:00:00+00:00"):
        assert refused_fields(app.schedule(scheduled_at=when)) == {"scheduled_at"}, when
        assert refused_fields(app.defend(mission_id, defended_at=when)) == {"defended_at"}, when
    assert app.count(defence_schedules) == 0 and len(app.outbox()) == emitted


def test_text_is_stored_in_nfc(app: Any) -> None:
    app.enrol()
    mission = app.mission(company=f"Socie\u0301te\u0301 {DECOMPOSED}", tutor=DECOMPOSED)
    assert mission.status_code == 201, mission.text
    assert mission.json()["company"] == f"Société {COMPOSED}" and mission.json()["tutor"] == COMPOSED
    [registered] = app.outbox(ev.MISSION_REGISTERED)
    assert f"Société {COMPOSED}" in registered.data.values()
    deposit = app.deposit(mission.json()["id"], title=f"Thèse de {DECOMPOSED}")
    assert deposit.status_code == 201 and deposit.json()["title"] == f"Thèse de {COMPOSED}"
    jury = [{**JURY_PANEL[0], "name": f"Pr {DECOMPOSED}"}, *JURY_PANEL[1:]]
    schedule = app.schedule(jury=jury, scheduled_at=(app.now + timedelta(days=8)).isoformat())
    assert schedule.status_code == 201 and schedule.json()["jury"][0]["name"] == f"Pr {COMPOSED}"


def test_a_deposit_declaring_100_mb_is_413_before_its_body_is_read_or_its_token_checked(app: Any) -> None:
    limit = app.client.app.state.settings.max_thesis_bytes + 64 * 1024
    path = "/candidates/cand-1/thesis/deposit"
    answer = declared_too_large(app.client.app, path, content_type="multipart/form-data; boundary=x")
    assert (answer.status, answer.chunks_read) == (413, 0)
    assert answer.body["limit_bytes"] == limit and answer.body["type"].endswith("/body-too-large")
    # under the edge's limit, the route's own 413 still names the thesis limit
    app.enrol()
    too_large = app.deposit(app.mission().json()["id"], file=b"%PDF-" + b"x" * 2048)
    assert too_large.status_code == 413 and too_large.json()["type"].endswith("thesis-too-large")
    plain = declared_too_large(app.client.app, path, declared=100 * MiB, content_type="text/plain")
    assert plain.status == 413  # whatever the declared type


def test_the_thesis_is_served_as_a_sandboxed_download_never_cached(app: Any) -> None:
    app.enrol()
    deposit = app.deposit(app.mission().json()["id"]).json()
    file = app.client.get(deposit["file_url"], headers=JURY)
    assert file.status_code == 200 and file.content.startswith(b"%PDF-")
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["content-disposition"].startswith('attachment; filename="thesis-v1.pdf"')
    assert file.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in file.headers["content-security-policy"]
    assert "no-store" in file.headers["cache-control"]
    assert file.headers["etag"] == f'"{deposit["sha256"]}"'


def test_openapi_documents_the_bearer_scheme_and_the_problems(app: Any) -> None:
    assert_documents_edges(
        app.client.app.openapi(),
        private=[
            ("post", "/candidates/{candidate_id}/missions"),
            ("post", "/candidates/{candidate_id}/thesis/deposit"),
            ("get", "/candidates/{candidate_id}/thesis/deposit/file"),
            ("post", "/candidates/{candidate_id}/defence/schedule"),
        ],
        public=[("get", "/healthz")],
    )
