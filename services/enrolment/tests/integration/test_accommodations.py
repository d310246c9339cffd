"""Accommodations for disabled candidates (décret 2021-389), on SQLite and (``-m integration``) PostgreSQL.

Measured before (issue 17, item 4): enrolment had no accommodations at all, so assessment, grading and thesis
could not apply extra time or an adapted defence; POST /candidates/{id}/accommodations answered 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.edge_testing import hostile, refused_fields
from certifia_shared.testing import auth

LMS = auth("lms", subject="moodle-client", client_id="moodle")
OTHER_LMS = auth("lms", subject="canvas-client", client_id="canvas")
OFFICER = auth("officer", subject="officer-7")
ADMIN = auth("admin", subject="ops-1")
ENROLMENT = {"external_id": "moodle-42", "given_name": "Ada", "family_name": "Lovelace", "email": "a@b.fr"}
GRANT = {
    "extra_time_factor": 1.33,
    "adapted_formats": ["large_print", "rest_breaks"],
    "adapted_defence": "Défense en visioconférence, pauses de 10 minutes.",
    "evidence_reference": "MDPH-75-2026-004211",
    "reason": "Avis du médecin désigné par la CDAPH du 2 décembre 2026.",
}


def _enrol(app: Any) -> str:
    response = app.client.post("/candidates", json=ENROLMENT, headers=LMS)
    assert response.status_code == 201, response.text
    candidate_id: str = response.json()["id"]
    return candidate_id


def _grant(app: Any, cid: str, body: dict[str, Any] | None = None, headers: dict[str, str] = OFFICER) -> Any:
    return app.client.post(
        f"/candidates/{cid}/accommodations", json=GRANT if body is None else body, headers=headers
    )


def _listed(app: Any, cid: str, headers: dict[str, str] = OFFICER) -> list[dict[str, Any]]:
    response = app.client.get(f"/candidates/{cid}/accommodations", headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_an_officer_grants_accommodations_and_the_event_follows_its_contract(app: Any) -> None:
    cid = _enrol(app)
    response = _grant(app, cid)
    assert response.status_code == 201, response.text
    granted = response.json()
    assert {k: granted[k] for k in GRANT} == GRANT
    assert granted["candidate_id"] == cid and granted["in_force"] and granted["superseded_at"] is None
    assert (granted["granted_by"], granted["granted_by_role"]) == ("officer-7", "officer")
    assert datetime.fromisoformat(granted["granted_at"]).tzinfo is not None
    [event] = app.outbox(ev.ACCOMMODATION_GRANTED)
    contract(ev.ACCOMMODATION_GRANTED).validate(event.data)
    assert event.subject == cid
    assert event.data == {
        "accommodation_id": granted["id"],
        "candidate_id": cid,
        **GRANT,
        "granted_by": "officer-7",
        "granted_by_role": "officer",
        "granted_at": event.data["granted_at"],
    }
    assert datetime.fromisoformat(event.data["granted_at"]) == datetime.fromisoformat(granted["granted_at"])
    # the candidate themself, their LMS and staff read them
    me = auth("candidate", subject="ada", candidate_id=cid)
    for who in (me, LMS, OFFICER, auth("jury")):
        assert _listed(app, cid, who) == [granted]


def test_a_new_grant_replaces_the_one_in_force_and_the_history_stays(app: Any) -> None:
    cid = _enrol(app)
    first = _grant(app, cid).json()
    taken_away = {**GRANT, "extra_time_factor": 1.0, "adapted_formats": [], "adapted_defence": None}
    second = _grant(app, cid, taken_away, headers=ADMIN)
    assert second.status_code == 201, second.text
    assert (second.json()["granted_by"], second.json()["granted_by_role"]) == ("ops-1", "admin")
    latest, earlier = _listed(app, cid)
    assert latest["id"] == second.json()["id"] and latest["in_force"]
    assert earlier["id"] == first["id"] and not earlier["in_force"]
    assert earlier["superseded_at"] == latest["granted_at"]
    events = app.outbox(ev.ACCOMMODATION_GRANTED)
    assert [e.data["accommodation_id"] for e in events] == [first["id"], latest["id"]]
    assert events[1].data["extra_time_factor"] == 1.0 and events[1].data["adapted_formats"] == []
    assert events[1].data["granted_by_role"] == "admin"
    for e in events:
        contract(ev.ACCOMMODATION_GRANTED).validate(e.data)


def test_only_an_officer_grants_them_and_the_refusal_says_so(app: Any) -> None:
    cid = _enrol(app)
    me = auth("candidate", subject="ada", candidate_id=cid)
    for who in (LMS, me, auth("jury")):
        problem = _problem(_grant(app, cid, headers=who), 403)
        assert "officer" in problem["detail"] and "grant" in problem["detail"]
    _problem(_grant(app, cid, headers=OTHER_LMS), 404)  # another LMS's candidate is not disclosed
    _problem(_grant(app, cid, headers=auth("candidate", candidate_id="someone-else")), 403)
    _problem(_grant(app, cid, headers={}), 401)
    assert app.outbox(ev.ACCOMMODATION_GRANTED) == []
    assert _listed(app, cid) == []
    # reading follows the tenancy rule
    _problem(app.client.get(f"/candidates/{cid}/accommodations", headers=OTHER_LMS), 404)
    _problem(
        app.client.get(
            f"/candidates/{cid}/accommodations", headers=auth("candidate", candidate_id="someone-else")
        ),
        403,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"extra_time_factor": 0.9}, "extra_time_factor"),
        ({"extra_time_factor": 3.01}, "extra_time_factor"),
        ({"extra_time_factor": "1.5"}, "extra_time_factor"),
        ({"extra_time_factor": True}, "extra_time_factor"),
        ({"extra_time_factor": None}, "extra_time_factor"),
        ({"adapted_formats": ["large_print", "telepathy"]}, "adapted_formats.1"),
        ({"adapted_formats": "large_print"}, "adapted_formats"),
        ({"evidence_reference": None}, "evidence_reference"),
        ({"evidence_reference": "  "}, "evidence_reference"),
        ({"evidence_reference": "data:application/pdf;base64,JVBERi0xLjcK"}, "evidence_reference"),
        ({"evidence_reference": "x" * 501}, "evidence_reference"),
        ({"adapted_defence": "y" * 1001}, "adapted_defence"),
        ({"reason": ""}, "reason"),
        ({"reason": "z" * 2001}, "reason"),
        ({"diagnosis": "not ours to keep"}, "diagnosis"),
    ],
)
def test_an_invalid_grant_is_422_naming_the_field_and_records_nothing(
    app: Any, change: dict[str, Any], field: str
) -> None:
    cid = _enrol(app)
    assert refused_fields(_grant(app, cid, {**GRANT, **change})) == {field}
    assert app.outbox(ev.ACCOMMODATION_GRANTED) == []
    assert _listed(app, cid) == []


def test_a_grant_without_extra_time_or_evidence_is_422_naming_them(app: Any) -> None:
    cid = _enrol(app)
    body = {k: v for k, v in GRANT.items() if k not in ("extra_time_factor", "evidence_reference")}
    assert refused_fields(_grant(app, cid, body)) == {"extra_time_factor", "evidence_reference"}


@pytest.mark.parametrize("field", ["evidence_reference", "adapted_defence", "reason"])
def test_hostile_text_in_a_grant_is_refused_naming_the_field(app: Any, field: str) -> None:
    cid = _enrol(app)
    for what, value in hostile("MDPH-75", free_text=field != "evidence_reference").items():
        assert refused_fields(_grant(app, cid, {**GRANT, field: value})) == {field}, what
    assert app.outbox(ev.ACCOMMODATION_GRANTED) == []


def test_text_is_trimmed_and_a_format_named_twice_is_kept_once(app: Any) -> None:
    cid = _enrol(app)
    body = {
        **GRANT,
        "evidence_reference": "  MDPH-75-2026-004211 ",
        "adapted_formats": ["screen_reader", "large_print", "screen_reader"],
        "extra_time_factor": 2,
    }
    granted = _grant(app, cid, body).json()
    assert granted["evidence_reference"] == "MDPH-75-2026-004211"
    assert granted["adapted_formats"] == ["screen_reader", "large_print"]
    assert granted["extra_time_factor"] == 2.0
    [event] = app.outbox(ev.ACCOMMODATION_GRANTED)
    assert event.data["adapted_formats"] == ["screen_reader", "large_print"]


def test_a_withdrawn_candidate_gets_no_accommodations(app: Any) -> None:
    cid = _enrol(app)
    left = app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "départ"}, headers=LMS)
    assert left.status_code == 200, left.text
    problem = _problem(_grant(app, cid), 409)
    assert problem["type"].endswith("candidate-withdrawn") and problem["withdrawn_at"]
    assert app.outbox(ev.ACCOMMODATION_GRANTED) == []
    assert _listed(app, cid) == []


def test_an_unknown_candidate_is_404_naming_candidate_id(app: Any) -> None:
    for response in (
        _grant(app, "nobody"),
        app.client.get("/candidates/nobody/accommodations", headers=OFFICER),
    ):
        problem = _problem(response, 404)
        assert {e["field"] for e in problem["errors"]} == {"candidate_id"}
    assert app.outbox() == []
