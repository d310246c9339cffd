"""Thesis deposit, its file, defence scheduling and withdrawal through the API, on SQLite and on the real
PostgreSQL (``-m integration``). Every refusal is problem+json and writes nothing (no row, no event)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from certifia_shared import event_types as ev
from certifia_shared import problems
from certifia_shared.contracts import contract
from certifia_shared.testing import auth
from certifia_thesis.adapters.orm import defence_schedules, thesis_deposits
from certifia_thesis.service_layer.events import candidate_withdrawn

CANDIDATE = auth("candidate", subject="ext-cand-1", candidate_id="cand-1")
JURY = auth("jury", subject="jury-1")
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def _fields(problem: dict[str, Any]) -> set[str]:
    return {e["field"] for e in problem.get("errors", [])}


def _withdraw(app: Any, candidate_id: str = "cand-1", at: str = "2026-11-20T10:00:00+00:00") -> None:
    from certifia_shared.envelope import CloudEvent

    event = CloudEvent(
        type=ev.CANDIDATE_WITHDRAWN,
        source="/certifia/enrolment",
        subject=candidate_id,
        data={
            "candidate_id": candidate_id,
            "withdrawn_at": at,
            "reason": "Réorientation.",
            "withdrawn_by_role": "candidate",
        },
    )
    with app.ctx.uow() as uow:
        candidate_withdrawn(event, uow)
        uow.commit()


# -- deposit --------------------------------------------------------------------------------------
def test_the_candidate_deposits_a_pdf_stored_by_digest_with_thesis_submitted(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    response = app.deposit(mission_id, headers=CANDIDATE, file=PDF)
    assert response.status_code == 201, response.text
    body = response.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert body["version"] == 1 and body["sha256"] == digest and body["size_bytes"] == len(PDF)
    assert body["filename"] == "these.pdf" and body["mission_id"] == mission_id
    [event] = app.outbox(ev.THESIS_SUBMITTED)
    contract(ev.THESIS_SUBMITTED).validate(event.data)
    assert event.subject == "cand-1"
    assert event.data == {
        "candidate_id": "cand-1",
        "deposit_id": body["id"],
        "mission_id": mission_id,
        "version": 1,
        "title": "Détection d'anomalies",
        "sha256": digest,
        "size_bytes": len(PDF),
        "submitted_at": event.data["submitted_at"],
    }
    thesis = app.thesis(headers=CANDIDATE).json()
    assert thesis["status"] == "thesis_deposited" and thesis["deposit"]["id"] == body["id"]
    for headers in (CANDIDATE, JURY, auth("officer"), auth("admin")):
        file = app.client.get(body["file_url"], headers=headers)
        assert file.status_code == 200 and file.content == PDF
        assert file.headers["content-type"] == "application/pdf"
    latest = app.client.get("/candidates/cand-1/thesis/deposit/file", headers=JURY)
    assert latest.content == PDF and latest.headers["etag"] == f'"{digest}"'


def test_who_may_deposit_and_read_the_file(app: Any) -> None:
    app.enrol("cand-1")
    app.enrol("cand-2")
    mission_id = app.mission().json()["id"]
    other = auth("candidate", candidate_id="cand-2")
    _problem(app.deposit(mission_id, headers=other), 403)
    _problem(app.deposit(mission_id, headers=auth("lms", client_id="moodle")), 403)
    _problem(app.deposit(mission_id, headers=JURY), 403)
    assert app.deposit(mission_id, headers=auth("admin")).status_code == 201
    url = "/candidates/cand-1/thesis/deposit/file"
    _problem(app.client.get(url, headers=other), 403)
    _problem(app.client.get(url, headers=auth("lms", client_id="moodle")), 403)
    _problem(app.client.get(url), 401)
    assert _fields(_problem(app.client.get("/candidates/cand-2/thesis/deposit/file", headers=JURY), 404)) == {
        "candidate_id"
    }
    assert _fields(_problem(app.client.get(url + "?version=7", headers=JURY), 404)) == {"version"}


def test_a_new_deposit_is_a_new_version_until_the_defence_is_scheduled(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    first = app.deposit(mission_id, file=PDF).json()
    again = app.deposit(mission_id, file=PDF)  # the same deposit sent again: no new version
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    second = app.deposit(mission_id, file=PDF + b"% v2\n", title="Détection d'anomalies, v2")
    assert second.status_code == 201 and second.json()["version"] == 2
    thesis = app.thesis().json()
    assert [d["version"] for d in thesis["deposits"]] == [1, 2] and thesis["deposit"]["version"] == 2
    old = app.client.get(first["file_url"], headers=JURY)
    assert old.content == PDF
    assert app.schedule().status_code == 201
    problem = _problem(app.deposit(mission_id, file=PDF + b"% v3\n"), 409)
    assert problem["type"].endswith("defence-already-scheduled") and "scheduled_at" in problem
    assert app.count(thesis_deposits) == 2
    assert [e.data["version"] for e in app.outbox(ev.THESIS_SUBMITTED)] == [1, 2]
    [scheduled] = app.outbox(ev.DEFENCE_SCHEDULED)
    assert scheduled.data["deposit_id"] == second.json()["id"]


def test_after_a_failed_defence_a_revised_thesis_may_be_deposited(app: Any) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    assert app.defend(mission_id, outcome="failed", grade=7).status_code == 201
    revised = app.deposit(mission_id, file=PDF + b"% revised\n")
    assert revised.status_code == 201 and revised.json()["version"] == 2
    assert app.defend(mission_id, outcome="passed").status_code == 409  # the resit is not scheduled yet


def test_bad_deposits_are_refused_naming_the_field_and_write_nothing(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    for kwargs, status, field in [
        ({"file": b"PK\x03\x04 a zip"}, 422, "file"),
        ({"file": b""}, 422, "file"),
        ({"file": b"%PDF-" + b"x" * 2048}, 413, "file"),  # the test service allows 1024 bytes
        ({"title": "Thès"}, 422, "title"),
        ({"title": "x" * 301}, 422, "title"),
        ({"abstract": "trop court"}, 422, "abstract"),
        ({"abstract": "x" * 5001}, 422, "abstract"),
    ]:
        problem = _problem(app.deposit(mission_id, **kwargs), status)
        assert field in _fields(problem), kwargs
    missing = app.client.post(
        "/candidates/cand-1/thesis/deposit",
        data={"title": "Ma thèse", "abstract": "x" * 60, "mission_id": mission_id},
        headers=auth("officer"),
    )
    assert "file" in _fields(_problem(missing, 422))
    assert app.count(thesis_deposits) == 0 and app.outbox(ev.THESIS_SUBMITTED) == []


def test_the_mission_must_be_the_candidates_and_the_candidate_known(app: Any) -> None:
    app.enrol("cand-1")
    app.enrol("cand-2")
    theirs = app.mission("cand-2").json()["id"]
    for mission_id in (theirs, "no-such-mission"):
        assert _fields(_problem(app.deposit(mission_id), 404)) == {"mission_id"}
    assert _fields(_problem(app.deposit(theirs, candidate_id="nobody"), 404)) == {"candidate_id"}
    assert app.count(thesis_deposits) == 0 and app.outbox(ev.THESIS_SUBMITTED) == []


# -- scheduling -----------------------------------------------------------------------------------
def test_an_officer_schedules_the_defence_with_defence_scheduled(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    deposit = app.deposit(mission_id).json()
    at = "2026-12-15T14:00:00+01:00"
    response = app.schedule(scheduled_at=at)
    assert response.status_code == 201, response.text
    body = response.json()
    assert datetime.fromisoformat(body["scheduled_at"]) == datetime.fromisoformat(at)
    assert body["deposit_id"] == deposit["id"] and [m["role"] for m in body["jury"]] == [
        "president",
        "member",
        "company_tutor",
    ]
    [event] = app.outbox(ev.DEFENCE_SCHEDULED)
    contract(ev.DEFENCE_SCHEDULED).validate(event.data)
    assert event.data["defence_id"] == body["defence_id"] and event.data["location"] == "Salle B204"
    assert datetime.fromisoformat(event.data["scheduled_at"]) == datetime.fromisoformat(at)
    assert event.data["jury"][0] == {"name": "Pr Durand", "role": "president"}
    assert event.data["scheduled_by"] == "officer-1"  # who, for the audit trail
    thesis = app.thesis().json()
    assert thesis["status"] == "defence_scheduled"
    assert thesis["scheduled_defence"]["defence_id"] == body["defence_id"]


def test_rescheduling_replaces_the_schedule_and_emits_again_the_same_request_twice_does_not(app: Any) -> None:
    app.enrol()
    app.deposit(app.mission().json()["id"])
    first = app.schedule().json()
    assert app.schedule().status_code == 200  # the same schedule again: a retry
    moved = app.schedule(
        scheduled_at=(app.now + timedelta(days=20)).isoformat(),
        location="https://visio.example.org/soutenance-42",
        jury=[{"name": "Pr Durand", "role": "president"}, {"name": "Dr Roux", "role": "member"}],
    )
    assert moved.status_code == 200 and moved.json()["defence_id"] == first["defence_id"]
    assert moved.json()["first_scheduled_at"] == first["first_scheduled_at"]
    assert app.count(defence_schedules) == 1
    events = app.outbox(ev.DEFENCE_SCHEDULED)
    assert [e.data["defence_id"] for e in events] == [first["defence_id"]] * 2
    assert events[1].data["location"] == "https://visio.example.org/soutenance-42"
    assert app.thesis().json()["scheduled_defence"]["jury"][1]["name"] == "Dr Roux"


def test_scheduling_needs_a_deposit(app: Any) -> None:
    app.enrol()
    app.mission()
    problem = _problem(app.schedule(), 409)
    assert problem["type"].endswith("no-thesis-deposit") and "thesis/deposit" in problem["detail"]
    assert app.outbox(ev.DEFENCE_SCHEDULED) == []


def test_bad_schedules_are_422_naming_the_field_and_write_nothing(app: Any) -> None:
    app.enrol()
    app.deposit(app.mission().json()["id"])
    president = {"name": "Pr Durand", "role": "president"}
    member = {"name": "Dr Martin", "role": "member"}
    for body, field in [
        ({"scheduled_at": (app.now + timedelta(days=3)).isoformat()}, "scheduled_at"),  # jury cannot read it
        ({"scheduled_at": (app.now - timedelta(hours=1)).isoformat()}, "scheduled_at"),  # past
        ({"scheduled_at": "2026-12-20T14:00:00"}, "scheduled_at"),  # no offset
        ({"location": ""}, "location"),
        ({"location": "x" * 301}, "location"),
        ({"jury": [president]}, "jury"),
        ({"jury": [president, member, *[{"name": f"M{i}", "role": "member"} for i in range(5)]]}, "jury"),
        ({"jury": [member, {"name": "Dr Roux", "role": "member"}]}, "jury"),  # no president
        ({"jury": [president, {**president, "name": "Pr Other"}]}, "jury"),  # two presidents
        ({"jury": [president, member, {"name": "dr  MARTIN", "role": "company_tutor"}]}, "jury"),  # twice
        ({"jury": [president, {"name": "X", "role": "chair"}]}, "jury.1.role"),
        ({"jury": [president, {"name": " ", "role": "member"}]}, "jury.1.name"),
    ]:
        assert field in _fields(_problem(app.schedule(**body), 422)), body
    assert app.count(defence_schedules) == 0 and app.outbox(ev.DEFENCE_SCHEDULED) == []


def test_scheduling_after_a_pass_is_409(app: Any) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    assert app.defend(mission_id).status_code == 201
    assert _problem(app.schedule(), 409)["type"].endswith("thesis-already-passed")
    assert _problem(app.deposit(mission_id, file=PDF), 409)["type"].endswith("thesis-already-passed")


# -- withdrawal -----------------------------------------------------------------------------------
def test_a_withdrawn_candidate_can_neither_deposit_nor_be_scheduled_nor_get_an_outcome(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    app.deposit(mission_id)
    app.schedule()
    app.later(days=9)
    _withdraw(app)
    for response in (app.deposit(mission_id, file=PDF), app.schedule(), app.defend(mission_id)):
        problem = _problem(response, 409)
        assert problem["type"].endswith("candidate-withdrawn")
        assert "withdrew from the certification on 2026-11-20T10:00:00+00:00" in problem["detail"]
        assert problem["withdrawn_at"] == "2026-11-20T10:00:00+00:00"
    assert app.thesis().json()["withdrawn_at"].startswith("2026-11-20T10:00:00")
    assert len(app.outbox(ev.THESIS_SUBMITTED)) == 1 and app.outbox(ev.THESIS_DEFENDED) == []


def test_a_withdrawn_candidate_starts_no_new_mission(app: Any) -> None:
    app.enrol()
    _withdraw(app)
    problem = _problem(app.mission(), 409)
    assert problem["type"].endswith("candidate-withdrawn")
    assert app.outbox(ev.MISSION_REGISTERED) == []


def test_the_withdrawn_candidate_is_answered_as_enrolment_and_assessment_answer(app: Any) -> None:
    """One problem for a withdrawn candidate in every service (enrolment and assessment assert the same): the
    shared type, title and ``withdrawn_at`` extension, and the shared detail."""
    app.enrol()
    _withdraw(app)
    body = _problem(app.mission(), 409)
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert body == problems.candidate_withdrawn("cand-1", when).body("/candidates/cand-1/missions")
    assert (body["type"], body["title"]) == (
        "https://certifia.fr/problems/candidate-withdrawn",
        "Candidate withdrawn",
    )
    assert body["withdrawn_at"] == "2026-11-20T10:00:00+00:00"
