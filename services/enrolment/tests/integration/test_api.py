"""The enrolment REST API, on SQLite and (``-m integration``) on PostgreSQL: see the ``app`` fixture."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event

from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.problems import candidate_withdrawn
from certifia_shared.testing import auth

LMS = auth("lms", subject="moodle-client", client_id="moodle")
OTHER_LMS = auth("lms", subject="canvas-client", client_id="canvas")
OFFICER = auth("officer")
BODY = {
    "external_id": "moodle-42",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "email": "ada@example.org",
    "path": "formation",
    "cohort": "2025-A",
}


def _enrol(app: Any, body: dict[str, Any] | None = None, headers: dict[str, str] = LMS) -> Any:
    return app.client.post("/candidates", json=body or BODY, headers=headers)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def _fields(problem: dict[str, Any]) -> set[str]:
    return {e["field"] for e in problem.get("errors", [])}


def test_enrol_creates_one_candidate_and_one_event(app: Any) -> None:
    response = _enrol(app)
    assert response.status_code == 201, response.text
    candidate = response.json()
    assert response.headers["location"] == f"/candidates/{candidate['id']}"
    assert {k: candidate[k] for k in BODY} == BODY
    assert candidate["lms_client"] == "moodle" and candidate["option"] is None
    [event] = app.outbox()
    assert event.type == ev.CANDIDATE_ENROLLED and event.subject == candidate["id"]
    assert event.data["candidate_id"] == candidate["id"] and event.data["external_id"] == "moodle-42"
    contract(ev.CANDIDATE_ENROLLED).validate(event.data)


def test_enrol_twice_gives_one_candidate(app: Any) -> None:
    first = _enrol(app)
    second = _enrol(app)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert len(app.outbox()) == 1
    listed = app.client.get("/candidates", headers=LMS).json()
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_an_enrolment_is_two_statements_and_a_repeat_writes_nothing(app: Any) -> None:
    """Issue 15, item 2: reading the (LMS, external id) key before inserting was one more round trip per
    enrolment; the insert now gives way to an existing candidate, which only a repeat reads."""
    seen: list[str] = []
    sa_event.listen(
        app.ctx.db_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: seen.append(" ".join(statement.split())),
    )
    assert _enrol(app).status_code == 201
    assert [s.split(" (")[0] for s in seen] == ["INSERT INTO candidates", "INSERT INTO outbox"], seen
    seen.clear()

    assert _enrol(app).status_code == 200
    assert [s.split(" ")[0] for s in seen] == ["INSERT", "SELECT"], seen  # the insert gave way
    assert len(app.outbox()) == 1


def test_enrol_again_with_other_data_is_409_naming_the_fields(app: Any) -> None:
    _enrol(app)
    response = _enrol(app, {**BODY, "email": "ada@other.org", "family_name": "Byron"})
    problem = _problem(response, 409)
    assert _fields(problem) == {"email", "family_name"}
    assert "moodle-42" in problem["detail"]
    assert len(app.outbox()) == 1


def test_invalid_enrolment_is_422_naming_the_fields_and_writes_nothing(app: Any) -> None:
    problem = _problem(_enrol(app, {**BODY, "email": "not-an-email", "path": "apprentissage"}), 422)
    assert _fields(problem) == {"email", "path"}
    missing = {k: v for k, v in BODY.items() if k != "external_id"}
    assert _fields(_problem(_enrol(app, missing), 422)) == {"external_id"}
    assert "unexpected" in _fields(_problem(_enrol(app, {**BODY, "unexpected": 1}), 422))
    assert app.outbox() == []
    assert app.client.get("/candidates", headers=OFFICER).json() == []


def test_choose_option_emits_option_chosen(app: Any) -> None:
    cid = _enrol(app).json()["id"]
    response = app.client.put(f"/candidates/{cid}/option", json={"option": "5B"}, headers=LMS)
    assert response.status_code == 200, response.text
    assert response.json()["option"] == "5B"
    assert app.client.get(f"/candidates/{cid}", headers=LMS).json()["option"] == "5B"
    [event] = app.outbox(ev.OPTION_CHOSEN)
    assert event.data["option"] == "5B" and event.subject == cid
    contract(ev.OPTION_CHOSEN).validate(event.data)
    # the same choice again changes nothing and emits nothing
    assert app.client.put(f"/candidates/{cid}/option", json={"option": "5B"}, headers=LMS).status_code == 200
    assert len(app.outbox(ev.OPTION_CHOSEN)) == 1


def test_option_other_than_5a_5b_is_422_naming_option_and_emits_nothing(app: Any) -> None:
    cid = _enrol(app).json()["id"]
    for option in ("5C", "5", "", None, "5a"):
        problem = _problem(
            app.client.put(f"/candidates/{cid}/option", json={"option": option}, headers=LMS), 422
        )
        assert _fields(problem) == {"option"}, option
        assert "option" in problem["detail"]
    assert app.outbox(ev.OPTION_CHOSEN) == []
    assert [e.type for e in app.outbox()] == [ev.CANDIDATE_ENROLLED]
    assert app.client.get(f"/candidates/{cid}", headers=LMS).json()["option"] is None


def test_unknown_candidate_is_404_naming_candidate_id(app: Any) -> None:
    problem = _problem(app.client.get("/candidates/nobody", headers=OFFICER), 404)
    assert _fields(problem) == {"candidate_id"} and "nobody" in problem["detail"]
    problem = _problem(app.client.put("/candidates/nobody/option", json={"option": "5A"}, headers=LMS), 404)
    assert _fields(problem) == {"candidate_id"}
    assert app.outbox() == []


def test_candidate_token_sees_only_own_record(app: Any) -> None:
    ada = _enrol(app).json()["id"]
    bob = _enrol(app, {**BODY, "external_id": "moodle-43", "given_name": "Bob"}).json()["id"]
    own = auth("candidate", subject="ada", candidate_id=ada)
    assert app.client.get(f"/candidates/{ada}", headers=own).json()["id"] == ada
    _problem(app.client.get(f"/candidates/{bob}", headers=own), 403)
    _problem(app.client.put(f"/candidates/{bob}/option", json={"option": "5A"}, headers=own), 403)
    _problem(app.client.get("/candidates", headers=own), 403)  # no listing for candidates
    assert app.client.put(f"/candidates/{ada}/option", json={"option": "5A"}, headers=own).status_code == 200
    assert app.outbox(ev.OPTION_CHOSEN)[0].subject == ada


def test_lms_client_sees_only_its_own_candidates(app: Any) -> None:
    mine = _enrol(app).json()["id"]
    theirs = _enrol(app, headers=OTHER_LMS).json()["id"]  # same external id, other LMS: other candidate
    assert mine != theirs
    assert [c["id"] for c in app.client.get("/candidates", headers=LMS).json()] == [mine]
    assert [c["id"] for c in app.client.get("/candidates", headers=OTHER_LMS).json()] == [theirs]
    assert {c["id"] for c in app.client.get("/candidates", headers=OFFICER).json()} == {mine, theirs}
    _problem(app.client.get(f"/candidates/{theirs}", headers=LMS), 404)  # not disclosed
    _problem(app.client.put(f"/candidates/{theirs}/option", json={"option": "5A"}, headers=LMS), 404)
    assert app.outbox(ev.OPTION_CHOSEN) == []


def test_who_may_call_what(app: Any) -> None:
    _problem(app.client.post("/candidates", json=BODY), 401)
    _problem(app.client.post("/candidates", json=BODY, headers={"Authorization": "Bearer nope"}), 401)
    _problem(_enrol(app, headers=auth("jury")), 403)
    _problem(_enrol(app, headers=auth("candidate", candidate_id="x")), 403)
    _problem(_enrol(app, headers=auth("admin", subject="ops")), 403)  # no tenant: an LMS enrols


def test_listing_is_paginated(app: Any) -> None:
    ids = [_enrol(app, {**BODY, "external_id": f"e-{i}"}).json()["id"] for i in range(5)]
    page = app.client.get("/candidates?limit=2&offset=2", headers=LMS).json()
    assert [c["id"] for c in page] == ids[2:4]
    assert _fields(_problem(app.client.get("/candidates?limit=0", headers=LMS), 422)) == {"limit"}


def test_health_and_readiness(app: Any) -> None:
    assert app.client.get("/healthz").json() == {"status": "ok"}
    ready = app.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"


def test_a_candidate_withdraws_once_and_the_event_says_who_and_why(app: Any) -> None:
    cid = _enrol(app).json()["id"]
    me = auth("candidate", candidate_id=cid)
    response = app.client.post(
        f"/candidates/{cid}/withdrawal", json={"reason": "  Réorientation  "}, headers=me
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (
        body["status"] == "withdrawn"
        and body["withdrawal_reason"] == "Réorientation"
        and body["withdrawn_at"]
    )
    [event] = app.outbox(ev.CANDIDATE_WITHDRAWN)
    contract(ev.CANDIDATE_WITHDRAWN).validate(event.data)
    assert event.subject == cid and event.data["withdrawn_by_role"] == "candidate"
    assert event.data["reason"] == "Réorientation"
    # a repeat (by the LMS this time) returns the first withdrawal and emits nothing
    again = app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "autre"}, headers=LMS)
    assert again.status_code == 200 and again.json()["withdrawn_at"] == body["withdrawn_at"]
    assert again.json()["withdrawal_reason"] == "Réorientation"
    assert len(app.outbox(ev.CANDIDATE_WITHDRAWN)) == 1
    assert app.client.get(f"/candidates/{cid}", headers=LMS).json()["status"] == "withdrawn"


def test_a_withdrawn_candidate_can_no_longer_change_option(app: Any) -> None:
    cid = _enrol(app).json()["id"]
    assert (
        app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "départ"}, headers=OFFICER).json()[
            "status"
        ]
        == "withdrawn"
    )
    [event] = app.outbox(ev.CANDIDATE_WITHDRAWN)
    assert event.data["withdrawn_by_role"] == "officer"
    problem = _problem(app.client.put(f"/candidates/{cid}/option", json={"option": "5A"}, headers=LMS), 409)
    # the shared shape (it said "withdrew on <date> (<reason>)" before assessment and thesis answered alike)
    assert problem["type"].endswith("candidate-withdrawn")
    assert "withdrew from the certification on" in problem["detail"] and problem["withdrawn_at"]
    assert app.outbox(ev.OPTION_CHOSEN) == []


def test_the_withdrawn_candidate_is_answered_as_assessment_and_thesis_answer(app: Any) -> None:
    """One problem for a withdrawn candidate in every service (assessment and thesis assert the same): the
    shared type, title and ``withdrawn_at`` extension, and the shared detail."""
    cid = _enrol(app).json()["id"]
    withdrawn = app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "départ"}, headers=LMS)
    when = datetime.fromisoformat(withdrawn.json()["withdrawn_at"])
    body = _problem(app.client.put(f"/candidates/{cid}/option", json={"option": "5B"}, headers=LMS), 409)
    assert body == candidate_withdrawn(cid, when).body(f"/candidates/{cid}/option")
    assert (body["type"], body["title"]) == (
        "https://certifia.fr/problems/candidate-withdrawn",
        "Candidate withdrawn",
    )
    assert datetime.fromisoformat(body["withdrawn_at"]) == when and when.tzinfo is not None
    assert "départ" not in body["detail"]  # the reason is the candidate's record, not every refusal's


def test_withdrawal_checks_who_asks_and_the_reason(app: Any) -> None:
    cid = _enrol(app).json()["id"]
    other = auth("candidate", candidate_id="someone-else")
    _problem(app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "x"}, headers=other), 403)
    _problem(app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "x"}, headers=OTHER_LMS), 404)
    _problem(
        app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "x"}, headers=auth("jury")), 403
    )
    blank = _problem(
        app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "  "}, headers=LMS), 422
    )
    assert _fields(blank) == {"reason"}
    assert app.outbox(ev.CANDIDATE_WITHDRAWN) == []
    assert app.client.get(f"/candidates/{cid}", headers=LMS).json()["status"] == "enrolled"


def test_an_offset_beyond_any_page_is_422_naming_offset_not_a_500(app: Any) -> None:
    """Measured before: offset=9223372036854775808 raised OverflowError binding it (500)."""
    for url in ("/candidates", "/webhooks/x/deliveries"):
        for offset in ("9223372036854775808", "1000001", "-1"):
            response = app.client.get(url, params={"offset": offset}, headers=LMS)
            assert "offset" in _fields(_problem(response, 422)), (url, offset)


def test_a_repeated_enrolment_answers_a_documented_200(app: Any) -> None:
    """Found by the fuzz suite: the same enrolment again answers 200 with the candidate, which OpenAPI did not
    list (only 201)."""
    assert _enrol(app).status_code == 201
    assert _enrol(app).status_code == 200
    responses = app.client.get("/openapi.json").json()["paths"]["/candidates"]["post"]["responses"]
    assert responses["200"]["content"] == responses["201"]["content"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CandidateOut"
    }


def test_only_an_lms_enrols_a_candidate(app: Any) -> None:
    """Found by the fuzzer: an admin could enrol, and the candidate's LMS was then the admin's subject."""
    for roles in (("admin",), ("officer",)):
        _problem(_enrol(app, headers=auth(*roles, subject="admin-1")), 403)
    assert _enrol(app).status_code == 201


def test_the_withdrawal_records_the_account_that_asked_and_staff_see_it(app: Any) -> None:
    """Measured before (issue 17, item 7): only withdrawn_by_role was stored; who withdrew was lost."""
    by_whom: dict[str, tuple[Callable[[str], dict[str, str]], str]] = {
        "moodle-50": (lambda cid: auth("candidate", subject="ada-account", candidate_id=cid), "ada-account"),
        "moodle-51": (lambda _cid: LMS, "moodle"),  # the LMS client id, not its service account's subject
        "moodle-52": (lambda _cid: auth("officer", subject="officer-9"), "officer-9"),
    }
    for external_id, (caller, account) in by_whom.items():
        cid = _enrol(app, {**BODY, "external_id": external_id}).json()["id"]
        response = app.client.post(
            f"/candidates/{cid}/withdrawal", json={"reason": "départ"}, headers=caller(cid)
        )
        assert response.status_code == 200, response.text
        [event] = [e for e in app.outbox(ev.CANDIDATE_WITHDRAWN) if e.subject == cid]
        contract(ev.CANDIDATE_WITHDRAWN).validate(event.data)
        assert event.data["withdrawn_by"] == account, external_id
        assert app.client.get(f"/candidates/{cid}", headers=OFFICER).json()["withdrawn_by"] == account
        assert app.client.get(f"/candidates/{cid}", headers=auth("jury")).json()["withdrawn_by"] == account
        # the LMS and the candidate see that they withdrew and why, not the staff's record of the account
        assert app.client.get(f"/candidates/{cid}", headers=LMS).json()["withdrawn_by"] is None
        own = auth("candidate", subject="someone", candidate_id=cid)
        assert app.client.get(f"/candidates/{cid}", headers=own).json()["withdrawn_by"] is None
    listed = {
        c["external_id"]: c["withdrawn_by"] for c in app.client.get("/candidates", headers=OFFICER).json()
    }
    assert listed == {e: account for e, (_, account) in by_whom.items()}
    # a repeat by someone else keeps the first account
    cid = app.client.get("/candidates", headers=OFFICER).json()[1]["id"]
    app.client.post(f"/candidates/{cid}/withdrawal", json={"reason": "autre"}, headers=OFFICER)
    assert app.client.get(f"/candidates/{cid}", headers=OFFICER).json()["withdrawn_by"] == "moodle"
