"""The thesis API, on SQLite (unmarked) and on the real PostgreSQL (``-m integration``, same tests).

Every refusal is problem+json naming the field, and writes nothing: no mission, no outbox row.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.testing import auth
from certifia_thesis.adapters.orm import defences, missions

JURY = auth("jury", subject="jury-1")


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def _fields(problem: dict[str, Any]) -> set[str]:
    return {e["field"] for e in problem.get("errors", [])}


# -- missions -------------------------------------------------------------------------------------
def test_an_eligible_mission_is_registered_with_its_event_in_the_outbox(app: Any) -> None:
    app.enrol()
    response = app.mission(title="ML engineer", tutor="Grace Hopper", fte=0.8)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["months_fte"] == 4.8 and body["fte"] == 0.8 and body["candidate_id"] == "cand-1"
    [event] = app.outbox()
    assert event.type == ev.MISSION_REGISTERED and event.subject == "cand-1"
    contract(ev.MISSION_REGISTERED).validate(event.data)
    assert event.data == {
        "mission_id": body["id"],
        "candidate_id": "cand-1",
        "company": "Acme",
        "start_date": "2026-01-01",
        "end_date": "2026-06-30",
        "fte": 0.8,
        "months_fte": 4.8,
        "registered_at": event.data["registered_at"],
    }
    thesis = app.thesis().json()
    assert thesis["status"] == "mission_registered" and thesis["path"] == "formation"
    assert [m["id"] for m in thesis["missions"]] == [body["id"]]


def test_the_same_mission_twice_is_one_mission_and_one_event(app: Any) -> None:
    app.enrol()
    first = app.mission(role="Data scientist")  # 'role' is accepted for 'title'
    again = app.mission(title="Data scientist")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() and again.json()["title"] == "Data scientist"
    assert app.count(missions) == 1 and len(app.outbox()) == 1


def test_the_same_mission_with_other_details_is_409_naming_them_and_writes_nothing(app: Any) -> None:
    app.enrol()
    assert app.mission().status_code == 201
    problem = _problem(app.mission(fte=0.9), 409)
    assert _fields(problem) == {"fte"}
    assert app.count(missions) == 1 and len(app.outbox()) == 1


def test_under_four_months_fte_is_422_naming_fte_with_minimum_and_value_and_writes_nothing(app: Any) -> None:
    app.enrol()
    problem = _problem(app.mission(end_date="2026-04-30", fte=0.975), 422)
    [error] = problem["errors"]
    assert error["field"] == "fte" and error["months_fte"] == "3.90" and error["minimum_months_fte"] == "4"
    assert "3.90 months full-time equivalent" in problem["detail"] and "minimum is 4" in problem["detail"]
    assert app.count(missions) == 0 and app.outbox() == []


def test_too_short_dates_and_end_before_start_are_422_naming_end_date(app: Any) -> None:
    app.enrol()
    short = _problem(app.mission(end_date="2026-04-29"), 422)
    assert _fields(short) == {"end_date"} and short["errors"][0]["months_fte"] == "3.95"
    backwards = _problem(app.mission(start_date="2026-06-01", end_date="2026-01-01"), 422)
    assert _fields(backwards) == {"end_date"} and "before start_date" in backwards["detail"]
    assert app.count(missions) == 0 and app.outbox() == []


def test_part_time_over_eight_months_is_exactly_enough(app: Any) -> None:
    app.enrol()
    response = app.mission(start_date="2026-01-01", end_date="2026-08-31", fte=0.5)
    assert response.status_code == 201 and response.json()["months_fte"] == 4.0


def test_malformed_missions_are_422_naming_the_field(app: Any) -> None:
    app.enrol()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"fte": 0}, "fte"),
        ({"fte": 1.5}, "fte"),
        ({"company": "  "}, "company"),
        ({"start_date": "01/02/2026"}, "start_date"),
        ({"end_date": None}, "end_date"),
        ({"salary": 1}, "salary"),
    ]
    for body, field in cases:
        assert field in _fields(_problem(app.mission(**body), 422)), body
    assert app.count(missions) == 0 and app.outbox() == []


def test_unknown_candidate_is_404_naming_candidate_id_everywhere(app: Any) -> None:
    for response in (
        app.mission("nobody"),
        app.defend("m-1", candidate_id="nobody"),
        app.thesis("nobody"),
    ):
        assert _fields(_problem(response, 404)) == {"candidate_id"}
    assert app.outbox() == []


# -- defences (outcomes of scheduled defences) ---------------------------------------------------
def test_a_failed_defence_then_a_resit_passed_then_no_more(app: Any) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    failed = app.defend(mission_id, outcome="failed", grade=8, jury=["Dr A", "Pr B"])
    assert failed.status_code == 201, failed.text
    assert app.thesis().json()["status"] == "defended_failed"
    # the resit is a new oral defence: scheduled first
    assert _problem(app.defend(mission_id, outcome="passed"), 409)["type"].endswith("defence-not-scheduled")
    resit = app.schedule()
    assert resit.status_code == 201 and resit.json()["defence_id"] != failed.json()["id"]
    assert app.thesis().json()["status"] == "defence_scheduled"
    app.later(days=9)
    passed = app.defend(mission_id, outcome="passed", grade=15)
    assert passed.status_code == 201
    assert passed.json()["id"] == resit.json()["defence_id"]
    assert app.thesis().json()["status"] == "defended_passed"
    for outcome, grade in (("passed", 14.5), ("failed", 9.5)):
        problem = _problem(app.defend(mission_id, outcome=outcome, grade=grade), 409)
        assert problem["type"].endswith("thesis-already-passed")
    events = app.outbox(ev.THESIS_DEFENDED)
    assert [e.data["outcome"] for e in events] == ["failed", "passed"]
    for event in events:
        contract(ev.THESIS_DEFENDED).validate(event.data)
    assert events[0].data["jury"] == ["Dr A", "Pr B"] and events[0].data["grade"] == 8
    assert [e.data["recorded_by"] for e in events] == ["jury-1", "jury-1"]  # who, for the audit trail
    assert events[1].data["defence_id"] == passed.json()["id"]
    thesis = app.thesis(headers=auth("candidate", candidate_id="cand-1")).json()
    assert [d["outcome"] for d in thesis["defences"]] == ["failed", "passed"]


def test_the_same_defence_sent_again_is_recorded_once(app: Any) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    held = (app.now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    body = {"outcome": "passed", "defended_at": held.isoformat(), "jury": ["Dr A"]}
    first = app.defend(mission_id, **body)
    again = app.defend(mission_id, **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert datetime.fromisoformat(first.json()["defended_at"]) == held
    assert app.count(defences) == 1 and len(app.outbox(ev.THESIS_DEFENDED)) == 1


def test_the_outcome_defaults_to_the_scheduled_jury_time_and_mission(app: Any) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    scheduled = app.thesis().json()["scheduled_defence"]
    response = app.client.post("/candidates/cand-1/defence", json={"outcome": "passed"}, headers=JURY)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == scheduled["defence_id"] and body["mission_id"] == mission_id
    assert body["jury"] == ["Pr Durand", "Dr Martin", "M. Petit"]
    assert datetime.fromisoformat(body["defended_at"]) == datetime.fromisoformat(scheduled["scheduled_at"])
    [event] = app.outbox(ev.THESIS_DEFENDED)
    assert event.data["jury"] == ["Pr Durand", "Dr Martin", "M. Petit"]
    assert app.thesis().json()["scheduled_defence"] is None


def test_an_outcome_without_a_scheduled_defence_is_409_and_writes_nothing(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    problem = _problem(app.defend(mission_id), 409)
    assert problem["type"].endswith("defence-not-scheduled")
    assert "schedule the defence first (POST /candidates/cand-1/defence/schedule)" in problem["detail"]
    assert app.deposit(mission_id).status_code == 201
    assert _problem(app.defend(mission_id), 409)["type"].endswith("defence-not-scheduled")
    assert app.count(defences) == 0 and app.outbox(ev.THESIS_DEFENDED) == []


def test_an_outcome_before_the_scheduled_time_is_409_naming_it(app: Any) -> None:
    app.enrol()
    mission_id = app.mission().json()["id"]
    app.deposit(mission_id)
    scheduled_at = app.schedule().json()["scheduled_at"]
    app.later(days=7)
    problem = _problem(app.defend(mission_id), 409)
    assert problem["type"].endswith("defence-not-held-yet")
    assert datetime.fromisoformat(problem["scheduled_at"]) == datetime.fromisoformat(scheduled_at)
    assert app.count(defences) == 0 and app.outbox(ev.THESIS_DEFENDED) == []


def test_a_mission_of_another_candidate_is_404_naming_mission_id(app: Any) -> None:
    app.enrol("cand-1")
    app.enrol("cand-2")
    app.scheduled_and_held("cand-1")
    other_mission = app.mission("cand-2").json()["id"]
    for mission_id in (other_mission, "no-such-mission"):
        assert _fields(_problem(app.defend(mission_id), 404)) == {"mission_id"}
    assert app.count(defences) == 0 and app.outbox(ev.THESIS_DEFENDED) == []


def test_another_mission_of_the_candidate_than_the_deposited_one_is_422(app: Any) -> None:
    app.enrol()
    app.scheduled_and_held()
    other = app.mission(company="Globex").json()["id"]
    assert _fields(_problem(app.defend(other), 422)) == {"mission_id"}
    assert app.count(defences) == 0


def test_malformed_defences_are_422_naming_the_field_and_write_nothing(app: Any) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    future = (app.now + timedelta(days=2)).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"jury": []}, "jury"),
        ({"jury": [" "]}, "jury.0"),
        ({"grade": 20.5}, "grade"),
        ({"outcome": "maybe"}, "outcome"),
        ({"defended_at": "2026-10-01T14:00:00"}, "defended_at"),  # no time zone
        ({"defended_at": future}, "defended_at"),
    ]
    for body, field in cases:
        assert field in _fields(_problem(app.defend(mission_id, **body), 422)), body
    assert app.count(defences) == 0 and app.outbox(ev.THESIS_DEFENDED) == []


# -- who may do what ------------------------------------------------------------------------------
def test_who_may_call_what(app: Any) -> None:
    app.enrol(lms_client="moodle")
    own_lms = auth("lms", client_id="moodle")
    assert app.mission(headers=own_lms).status_code == 201
    assert _fields(_problem(app.mission(headers=auth("lms", client_id="canvas")), 404)) == {"candidate_id"}
    _problem(app.mission(headers=auth("candidate", candidate_id="cand-1")), 403)
    _problem(app.mission(headers=auth("jury")), 403)
    _problem(app.client.post("/candidates/cand-1/missions", json={}), 401)
    mission_id = app.thesis().json()["missions"][0]["id"]
    lms_defence = app.client.post(
        "/candidates/cand-1/defence",
        json={"mission_id": mission_id, "outcome": "passed", "jury": ["Dr A"]},
        headers=own_lms,
    )
    _problem(lms_defence, 403)
    for headers in (own_lms, auth("jury"), auth("candidate", candidate_id="cand-1")):
        _problem(app.schedule(headers=headers), 403)
    for headers in (own_lms, auth("jury")):
        _problem(app.deposit(mission_id, headers=headers), 403)
    _problem(app.deposit(mission_id, headers=auth("candidate", candidate_id="cand-2")), 403)
    _problem(lms_defence, 403)
    assert app.thesis(headers=auth("candidate", candidate_id="cand-1")).status_code == 200
    _problem(app.thesis(headers=auth("candidate", candidate_id="cand-2")), 403)
    assert app.thesis(headers=auth("jury")).status_code == 200
    assert app.thesis(headers=own_lms).status_code == 200
    assert app.thesis(headers=auth("admin")).status_code == 200


def test_a_candidate_without_mission_has_status_no_mission(app: Any) -> None:
    app.enrol(path="vae")
    thesis = app.thesis().json()
    assert thesis == {
        "candidate_id": "cand-1",
        "path": "vae",
        "status": "no_mission",
        "withdrawn_at": None,
        "missions": [],
        "deposit": None,
        "deposits": [],
        "scheduled_defence": None,
        "scheduled_defences": [],
        "defences": [],
        "appeals": [],
    }


def test_health_and_readiness(app: Any) -> None:
    assert app.client.get("/healthz").json() == {"status": "ok"}
    ready = app.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}


def test_identical_missions_at_once_register_one(app: Any) -> None:
    """Measured before: 4 of 10 identical concurrent registrations answered 500 (the unique key fired at
    the INSERT, outside the retry). Now: one 201, the others the idempotent 200, one event."""
    from concurrent.futures import ThreadPoolExecutor

    app.enrol("cand-1")
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _i: app.mission("cand-1"), range(10)))
    assert sorted(r.status_code for r in answers) == [200] * 9 + [201], [r.text[:200] for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert len(app.outbox("fr.certifia.thesis.mission.registered.v1")) == 1


def test_the_200_of_a_replayed_mission_defence_deposit_or_schedule_is_documented(app: Any) -> None:
    """Found by the fuzz suite (enrolment's twin): these routes answer 201, and 200 to the same request again
    (or to a reschedule), which OpenAPI did not list."""
    app.enrol()
    assert (app.mission().status_code, app.mission().status_code) == (201, 200)
    paths = app.client.get("/openapi.json").json()["paths"]
    for path in ("missions", "defence", "thesis/deposit", "defence/schedule"):
        responses = paths[f"/candidates/{{candidate_id}}/{path}"]["post"]["responses"]
        assert responses["200"]["content"] == responses["201"]["content"], path
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"], path
