"""Defence governance (issue 17): the outcome agrees with the grade, the resit limit, appeals against a
failed defence, a withdrawal cancels the defence to come, accommodated duration, and who did what.

Through the API and the service's own consumer (records handed to ``process``), on SQLite.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import auth
from certifia_thesis.adapters.orm import defence_appeals, defences, metadata

Thesis = Any  # conftest.Thesis: the app, its client and its clock

OFFICER = auth("officer", subject="officer-1")
JURY = auth("jury", subject="jury-1")
CANDIDATE = auth("candidate", subject="account-cand-1", candidate_id="cand-1")
OFFICER_2 = auth("officer", subject="officer-2")
GROUNDS = "Le jury a évalué une version de la thèse antérieure au dépôt final."
REASONING = "La version évaluée n'était pas celle déposée : l'échec est annulé."


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def _record(event: CloudEvent, offset: int) -> Any:
    return SimpleNamespace(
        topic="certifia.enrolment",
        partition=0,
        offset=offset,
        key=event.subject.encode(),
        headers=event.kafka_headers(),
        value=event.kafka_value(),
    )


def _enrolment_event(type: str, subject: str, **data: Any) -> CloudEvent:
    return CloudEvent(type=type, source="/certifia/enrolment", subject=subject, data=data)


def _withdrawn(at: datetime, candidate_id: str = "cand-1", **extra: Any) -> CloudEvent:
    return _enrolment_event(
        ev.CANDIDATE_WITHDRAWN,
        candidate_id,
        candidate_id=candidate_id,
        withdrawn_at=at.isoformat(),
        reason="Raisons personnelles.",
        withdrawn_by_role="officer",
        **extra,
    )


def _accommodation(
    factor: float, adapted: str | None, at: datetime, candidate_id: str = "cand-1"
) -> CloudEvent:
    return _enrolment_event(
        ev.ACCOMMODATION_GRANTED,
        candidate_id,
        accommodation_id="acc-1",
        candidate_id=candidate_id,
        extra_time_factor=factor,
        adapted_formats=["rest_breaks"],
        adapted_defence=adapted,
        evidence_reference="MDPH 2026-123",
        granted_by="officer-3",
        granted_by_role="officer",
        granted_at=at.isoformat(),
    )


def _failed(app: Thesis, mission_id: str, grade: float = 8.0, headers: dict[str, str] = JURY) -> str:
    """The outcome of the held defence: failed; its id."""
    payload = {"mission_id": mission_id, "outcome": "failed", "grade": grade}
    response = app.client.post("/candidates/cand-1/defence", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    defence_id: str = response.json()["id"]
    return defence_id


def _resit_held(app: Thesis) -> None:
    assert app.schedule().status_code == 201
    app.later(days=9)


def _appeal(app: Thesis, defence_id: str, headers: dict[str, str] = CANDIDATE, grounds: str = GROUNDS) -> Any:
    return app.client.post(f"/defences/{defence_id}/appeal", json={"grounds": grounds}, headers=headers)


def _resolve(app: Thesis, defence_id: str, outcome: str, headers: dict[str, str] = OFFICER_2) -> Any:
    body = {"outcome": outcome, "reasoning": REASONING}
    return app.client.post(f"/defences/{defence_id}/appeal/resolution", json=body, headers=headers)


# -- 1. the outcome agrees with the grade ----------------------------------------------------------------
def test_an_outcome_that_contradicts_the_grade_is_422_naming_grade_and_writes_nothing(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    passed_at_3 = _problem(app.defend(mission_id, outcome="passed", grade=3.0), 422)
    assert passed_at_3["errors"][0]["field"] == "grade"
    assert "at least 10/20" in passed_at_3["detail"] and "record outcome 'failed'" in passed_at_3["detail"]
    failed_at_12 = _problem(app.defend(mission_id, outcome="failed", grade=12), 422)
    assert failed_at_12["errors"][0]["field"] == "grade" and "below 10/20" in failed_at_12["detail"]
    three_decimals = _problem(app.defend(mission_id, outcome="passed", grade=12.345), 422)
    assert three_decimals["errors"][0]["field"] == "grade" and "2 decimals" in three_decimals["detail"]
    assert (
        _problem(app.defend(mission_id, outcome="passed", grade=20.5), 422)["errors"][0]["field"] == "grade"
    )
    assert app.count(defences) == 0 and app.outbox(ev.THESIS_DEFENDED) == []
    assert app.defend(mission_id, outcome="failed", grade=9.99).status_code == 201


def test_the_pass_mark_itself_passes(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    assert app.defend(mission_id, outcome="passed", grade=10.0).status_code == 201


def test_the_pass_mark_is_a_setting(make_app: Any) -> None:
    app = make_app(defence_pass_mark=12.0)
    app.enrol()
    mission_id = app.scheduled_and_held()
    problem = _problem(app.defend(mission_id, outcome="passed", grade=11.5), 422)
    assert "at least 12/20" in problem["detail"]
    assert app.defend(mission_id, outcome="failed", grade=11.5).status_code == 201


# -- 2. the resit limit -------------------------------------------------------------------------------
def test_after_two_failures_no_new_defence_is_scheduled(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    _failed(app, mission_id)
    _resit_held(app)
    _failed(app, mission_id, grade=9)
    problem = _problem(app.schedule(), 409)
    assert problem["type"].endswith("resit-limit-reached")
    assert problem["limit"] == 2 and problem["failures"] == 2
    assert "2 attempts" in problem["detail"] and "DEFENCE_MAX_ATTEMPTS" in problem["detail"]
    assert len(app.outbox(ev.DEFENCE_SCHEDULED)) == 2


def test_the_number_of_attempts_is_a_setting(make_app: Any) -> None:
    app = make_app(defence_max_attempts=3)
    app.enrol()
    mission_id = app.scheduled_and_held()
    _failed(app, mission_id)
    _resit_held(app)
    _failed(app, mission_id)
    assert app.schedule().status_code == 201  # the third attempt
    app.later(days=9)
    _failed(app, mission_id)
    assert _problem(app.schedule(), 409)["limit"] == 3


# -- 3. appeals against a failed defence ---------------------------------------------------------------
def test_the_candidate_contests_a_failed_defence_with_appeal_opened(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    defence_id = _failed(app, mission_id)
    response = _appeal(app, defence_id)
    assert response.status_code == 201, response.text
    appeal = response.json()
    assert response.headers["Location"] == f"/defences/{defence_id}/appeal"
    assert (appeal["defence_id"], appeal["status"], appeal["resolution"]) == (defence_id, "open", None)
    assert (appeal["opened_by"], appeal["opened_by_role"]) == ("account-cand-1", "candidate")
    opened_at = datetime.fromisoformat(appeal["opened_at"])
    assert datetime.fromisoformat(appeal["resolve_by"]) == opened_at + timedelta(days=60)
    [event] = app.outbox(ev.DEFENCE_APPEAL_OPENED)
    contract(ev.DEFENCE_APPEAL_OPENED).validate(event.data)
    assert event.subject == "cand-1" and event.data["appeal_id"] == appeal["id"]
    assert event.data["grounds"] == GROUNDS and event.data["opened_by"] == "account-cand-1"
    assert app.client.get(f"/defences/{defence_id}/appeal", headers=JURY).json() == appeal
    assert app.thesis().json()["appeals"] == [appeal]


def test_an_officer_may_open_the_appeal_on_the_candidates_behalf(app: Thesis) -> None:
    app.enrol()
    defence_id = _failed(app, app.scheduled_and_held())
    appeal = _appeal(app, defence_id, headers=OFFICER).json()
    assert (appeal["opened_by"], appeal["opened_by_role"]) == ("officer-1", "officer")


def test_only_a_failed_outcome_is_contested_once_with_grounds(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    passed = app.defend(mission_id, outcome="passed", grade=14).json()["id"]
    assert _problem(_appeal(app, passed), 409)["type"].endswith("defence-not-failed")
    app.enrol("cand-2")
    mission_2 = app.scheduled_and_held("cand-2")
    body = {"mission_id": mission_2, "outcome": "failed", "grade": 6}
    failed = app.client.post("/candidates/cand-2/defence", json=body, headers=JURY).json()["id"]
    short = _problem(_appeal(app, failed, headers=OFFICER, grounds="Pas d'accord."), 422)
    assert short["errors"][0]["field"].endswith("grounds")
    assert _appeal(app, failed, headers=OFFICER).status_code == 201
    again = _problem(_appeal(app, failed, headers=OFFICER), 409)
    assert again["type"].endswith("already-appealed") and again["appeal_status"] == "open"
    assert app.count(defence_appeals) == 1 and len(app.outbox(ev.DEFENCE_APPEAL_OPENED)) == 1


def test_the_appeal_window_is_inclusive_and_closes(app: Thesis) -> None:
    app.enrol()
    app.enrol("cand-2")
    mission_1 = app.scheduled_and_held()
    defence_1 = _failed(app, mission_1)
    mission_2 = app.scheduled_and_held("cand-2")
    body = {"mission_id": mission_2, "outcome": "failed", "grade": 6}
    defence_2 = app.client.post("/candidates/cand-2/defence", json=body, headers=JURY).json()["id"]

    def recorded(candidate_id: str) -> datetime:
        return datetime.fromisoformat(app.thesis(candidate_id).json()["defences"][0]["recorded_at"])

    app.now = recorded("cand-1") + timedelta(days=30)  # the last moment of the window
    assert _appeal(app, defence_1).status_code == 201
    app.now = recorded("cand-2") + timedelta(days=30, seconds=1)
    closed = _problem(_appeal(app, defence_2, headers=OFFICER), 409)
    assert closed["type"].endswith("appeal-window-closed")
    assert datetime.fromisoformat(closed["deadline"]) == recorded("cand-2") + timedelta(days=30)
    assert app.count(defence_appeals) == 1


def test_extra_time_widens_the_appeal_window(sqlite_app: Thesis) -> None:
    app = sqlite_app
    app.enrol()
    app.ctx.runtime.consumer.process(_record(_accommodation(1.5, None, app.now), 0))
    defence_id = _failed(app, app.scheduled_and_held())
    app.later(days=44)  # 30 days x 1.5 = 45
    assert _appeal(app, defence_id).status_code == 201


def test_an_impartial_officer_upholds_the_appeal_and_a_new_defence_may_be_scheduled(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    _failed(app, mission_id)
    _resit_held(app)
    second = _failed(app, mission_id, grade=9)
    assert _problem(app.schedule(), 409)["type"].endswith("resit-limit-reached")
    assert _appeal(app, second).status_code == 201
    upheld = _resolve(app, second, "upheld")
    assert upheld.status_code == 200, upheld.text
    resolution = upheld.json()["resolution"]
    assert (resolution["outcome"], resolution["resolved_by"], resolution["resolved_by_role"]) == (
        "upheld",
        "officer-2",
        "officer",
    )
    thesis = app.thesis().json()
    annulled = next(d for d in thesis["defences"] if d["id"] == second)
    assert annulled["annulled_by_appeal"] == upheld.json()["id"] and annulled["annulled_at"] is not None
    [event] = app.outbox(ev.DEFENCE_APPEAL_RESOLVED)
    contract(ev.DEFENCE_APPEAL_RESOLVED).validate(event.data)
    assert event.data["outcome"] == "upheld" and event.data["defence_annulled"] is True
    assert event.data["resolved_by"] == "officer-2" and event.data["defence_id"] == second
    # the annulled failure no longer counts: the resit may be scheduled
    assert app.schedule().status_code == 201
    # the same resolution again is a retry; another one is refused: a resolution is final
    assert _resolve(app, second, "upheld").status_code == 200
    assert _problem(_resolve(app, second, "dismissed"), 409)["type"].endswith("appeal-already-resolved")
    assert len(app.outbox(ev.DEFENCE_APPEAL_RESOLVED)) == 1


def test_a_dismissed_appeal_changes_nothing(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    _failed(app, mission_id)
    _resit_held(app)
    second = _failed(app, mission_id, grade=9)
    assert _appeal(app, second).status_code == 201
    dismissed = _resolve(app, second, "dismissed")
    assert dismissed.status_code == 200 and dismissed.json()["resolution"]["outcome"] == "dismissed"
    assert all(d["annulled_at"] is None for d in app.thesis().json()["defences"])
    assert _problem(app.schedule(), 409)["type"].endswith("resit-limit-reached")
    [event] = app.outbox(ev.DEFENCE_APPEAL_RESOLVED)
    assert event.data["outcome"] == "dismissed" and event.data["defence_annulled"] is False


def test_who_may_not_resolve_the_appeal(app: Thesis) -> None:
    app.enrol()
    jury = [
        {"name": "Pr Durand", "role": "president", "account": "officer-7"},
        {"name": "Dr Martin", "role": "member"},
    ]
    mission_id = app.mission().json()["id"]
    assert app.deposit(mission_id).status_code == 201
    assert app.schedule(jury=jury).status_code == 201
    app.later(days=9)
    defence_id = _failed(
        app, mission_id, headers=auth("officer", subject="officer-5")
    )  # recorded by officer-5
    assert _appeal(app, defence_id, headers=auth("officer", subject="officer-6")).status_code == 201
    for subject, why in (
        ("officer-7", "sat on the jury"),
        ("officer-5", "sat on the jury"),
        ("officer-6", "opened"),
    ):
        problem = _problem(_resolve(app, defence_id, "upheld", headers=auth("officer", subject=subject)), 403)
        assert problem["type"].endswith("not-impartial") and why in problem["detail"], subject
    assert (
        _resolve(app, defence_id, "upheld", headers=JURY).status_code == 403
    )  # a jury role resolves nothing
    assert _resolve(app, defence_id, "upheld", headers=CANDIDATE).status_code == 403
    assert app.outbox(ev.DEFENCE_APPEAL_RESOLVED) == []
    assert _resolve(app, defence_id, "upheld").status_code == 200  # officer-2: impartial


def test_appeal_routes_answer_404_for_an_unknown_defence_or_no_appeal(app: Thesis) -> None:
    app.enrol()
    defence_id = _failed(app, app.scheduled_and_held())
    unknown = _problem(_appeal(app, "no-such-defence"), 404)
    assert unknown["title"] == "Defence not found" and unknown["errors"][0]["field"] == "defence_id"
    none = _problem(app.client.get(f"/defences/{defence_id}/appeal", headers=OFFICER), 404)
    assert none["title"] == "Appeal not found" and f"POST /defences/{defence_id}/appeal" in none["detail"]
    assert _problem(_resolve(app, defence_id, "upheld"), 404)["title"] == "Appeal not found"


# -- 4. a withdrawal cancels the defence to come --------------------------------------------------------
def test_a_withdrawal_cancels_the_scheduled_defence_once(sqlite_app: Thesis) -> None:
    app = sqlite_app
    app.enrol()
    mission_id = app.mission().json()["id"]
    assert app.deposit(mission_id).status_code == 201
    scheduled = app.schedule().json()
    consumer = app.ctx.runtime.consumer
    withdrawal = _withdrawn(app.now + timedelta(days=1), withdrawn_by="officer-9")
    consumer.process(_record(withdrawal, 0))
    consumer.process(_record(withdrawal, 0))  # redelivered
    consumer.process(_record(_withdrawn(app.now + timedelta(days=2)), 1))  # another withdrawal later
    [event] = app.outbox(ev.DEFENCE_CANCELLED)
    contract(ev.DEFENCE_CANCELLED).validate(event.data)
    assert event.subject == "cand-1"
    assert event.data["defence_id"] == scheduled["defence_id"]
    assert (event.data["reason"], event.data["cancelled_by"]) == ("candidate_withdrawn", "officer-9")
    thesis = app.thesis(headers=JURY).json()  # what a jury member sees
    assert thesis["scheduled_defence"] is None and thesis["status"] != "defence_scheduled"
    [cancelled] = thesis["scheduled_defences"]
    assert (cancelled["status"], cancelled["cancelled_by"], cancelled["cancel_reason"]) == (
        "cancelled",
        "officer-9",
        "candidate_withdrawn",
    )
    assert cancelled["cancelled_at"] is not None


def test_a_withdrawal_naming_no_account_is_cancelled_by_enrolment(sqlite_app: Thesis) -> None:
    app = sqlite_app
    app.enrol()
    mission_id = app.mission().json()["id"]
    assert app.deposit(mission_id).status_code == 201
    assert app.schedule().status_code == 201
    app.ctx.runtime.consumer.process(_record(_withdrawn(app.now), 0))
    [event] = app.outbox(ev.DEFENCE_CANCELLED)
    assert event.data["cancelled_by"] == "enrolment"


def test_a_defence_already_held_when_the_candidate_withdrew_is_not_cancelled(sqlite_app: Thesis) -> None:
    app = sqlite_app
    app.enrol()
    app.scheduled_and_held()
    app.ctx.runtime.consumer.process(_record(_withdrawn(app.now), 0))
    assert app.outbox(ev.DEFENCE_CANCELLED) == []
    assert app.thesis().json()["scheduled_defences"][0]["cancelled_at"] is None


# -- 5. accommodations ----------------------------------------------------------------------------------
def test_extra_time_lengthens_the_defence_and_shows_the_accommodation(sqlite_app: Thesis) -> None:
    app = sqlite_app
    app.enrol()
    consumer = app.ctx.runtime.consumer
    consumer.process(_record(_accommodation(1.5, "Pauses de 5 minutes toutes les 20 minutes.", app.now), 0))
    mission_id = app.mission().json()["id"]
    assert app.deposit(mission_id).status_code == 201
    scheduled = app.schedule().json()
    assert (scheduled["duration_minutes"], scheduled["standard_duration_minutes"]) == (90, 60)
    assert scheduled["accommodation"] == {
        "extra_time_factor": 1.5,
        "adapted_defence": "Pauses de 5 minutes toutes les 20 minutes.",
        "applied_to": ["defence_duration"],
    }
    # a later grant replaces it, also on the defence waiting for its outcome; an older one changes nothing
    consumer.process(_record(_accommodation(1.25, None, app.now + timedelta(hours=1)), 1))
    consumer.process(_record(_accommodation(2.0, None, app.now - timedelta(days=1)), 2))
    shown = app.thesis(headers=JURY).json()["scheduled_defence"]
    assert shown["duration_minutes"] == 75
    assert shown["accommodation"] == {
        "extra_time_factor": 1.25,
        "adapted_defence": None,
        "applied_to": ["defence_duration"],
    }


def test_without_accommodation_the_defence_lasts_the_standard_duration(make_app: Any) -> None:
    app = make_app(defence_duration_minutes=45)
    app.enrol()
    mission_id = app.mission().json()["id"]
    assert app.deposit(mission_id).status_code == 201
    scheduled = app.schedule().json()
    assert (scheduled["duration_minutes"], scheduled["accommodation"]) == (45, None)


def test_an_accommodation_for_an_unknown_candidate_fails_loudly(sqlite_app: Thesis) -> None:
    from certifia_thesis.domain.model import AccommodationOfUnknownCandidate
    from certifia_thesis.service_layer.events import accommodation_granted

    with sqlite_app.ctx.uow() as uow, pytest.raises(AccommodationOfUnknownCandidate, match="cand-404"):
        accommodation_granted(_accommodation(1.5, None, sqlite_app.now, "cand-404"), uow)


# -- 6. audit: the account, not only the role -----------------------------------------------------------
def test_outcomes_and_schedules_record_the_account(app: Thesis) -> None:
    app.enrol()
    mission_id = app.scheduled_and_held()
    defence = app.defend(mission_id, outcome="passed", grade=14).json()
    assert (defence["recorded_by"], defence["recorded_by_role"]) == ("jury-1", "jury")
    thesis = app.thesis().json()
    assert thesis["defences"][0]["recorded_by"] == "jury-1"
    assert thesis["scheduled_defences"][0]["scheduled_by"] == "officer-1"
    assert thesis["scheduled_defences"][0]["status"] == "held"


# -- the migration and the ORM agree ----------------------------------------------------------------------
def test_the_migrated_database_is_what_the_orm_describes(sqlite_app: Thesis) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with sqlite_app.ctx.db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
