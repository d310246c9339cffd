"""Appeals through the API, on SQLite and (``-m integration``) PostgreSQL: who may open and resolve, the
rules' refusals as problem+json, upheld appeals validating through the usual decision path, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from certifia_assessment.adapters.orm import decisions
from certifia_assessment.service_layer.events import grading_handlers
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, outbox_events

REF = load_referential()
JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
OWN = auth("candidate", subject="account-1", candidate_id="cand-1")
GROUNDS = "Le jeu de test caché contenait des doublons que l'énoncé interdisait."
REASONING = "Après revue du rapport, les doublons faussaient la mesure : recours fondé."
CRITERION = "2.A1.C1.E1"


def decide(client: TestClient, cid: str, criterion: str, outcome: str, headers: dict[str, str] = JURY) -> str:
    response = client.post(
        f"/candidates/{cid}/decisions",
        json={"criterion_id": criterion, "outcome": outcome, "comment": "jury"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def appeal(client: TestClient, cid: str, decision_id: str, headers: dict[str, str] = OWN, **body: Any) -> Any:
    payload = {"decision_id": decision_id, "grounds": GROUNDS, **body}
    return client.post(f"/candidates/{cid}/appeals", json=payload, headers=headers)


def resolve(
    client: TestClient, appeal_id: str, outcome: str, headers: dict[str, str] = OFFICER, **body: Any
) -> Any:
    payload = {"outcome": outcome, "reasoning": REASONING, **body}
    return client.post(f"/appeals/{appeal_id}/resolution", json=payload, headers=headers)


def events(ctx: ServiceContext, type: str | None = None) -> list[CloudEvent]:
    return outbox_events(ctx, type)


def problem(response: Any, status: int, type: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://certifia.fr/problems/{type}"
    if field:
        assert [e["field"] for e in body["errors"]] == [field]
    return body


def test_a_candidate_contests_the_rejection_in_force(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    rejection = decide(client, "cand-1", CRITERION, "rejected")
    response = appeal(client, "cand-1", rejection, grounds=f"  {GROUNDS}  ")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/appeals/{body['id']}"
    assert body["status"] == "open" and body["resolution"] is None
    assert (body["decision_id"], body["criterion_id"], body["bloc"]) == (rejection, CRITERION, "2")
    assert (body["grounds"], body["opened_by"], body["opened_by_role"]) == (GROUNDS, "account-1", "candidate")
    [opened] = events(ctx, ev.APPEAL_OPENED)
    contract(ev.APPEAL_OPENED).validate(opened.data)
    assert opened.subject == "cand-1"
    assert opened.data["appeal_id"] == body["id"] and opened.data["decision_id"] == rejection
    assert client.get(f"/appeals/{body['id']}", headers=OWN).json() == body
    assert client.get("/candidates/cand-1/appeals", headers=OWN).json() == [body]
    [listed] = client.get("/candidates/cand-1/progress", headers=OWN).json()["appeals"]
    assert (listed["id"], listed["status"], listed["outcome"]) == (body["id"], "open", None)


def test_an_officer_may_open_an_appeal_on_the_candidates_behalf(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    rejection = decide(client, "cand-1", CRITERION, "rejected")
    response = appeal(client, "cand-1", rejection, headers=auth("officer", subject="officer-2"))
    assert response.status_code == 201
    assert (response.json()["opened_by"], response.json()["opened_by_role"]) == ("officer-2", "officer")


def test_only_the_candidate_or_an_officer_opens_and_only_on_the_candidates_own_decisions(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    enrol("cand-2")
    theirs = decide(client, "cand-2", CRITERION, "rejected")
    other = auth("candidate", subject="account-2", candidate_id="cand-2")
    problem(appeal(client, "cand-2", theirs, headers=OWN), 403, "forbidden")
    problem(appeal(client, "cand-1", theirs, headers=other), 403, "forbidden")
    problem(appeal(client, "cand-2", theirs, headers=JURY), 403, "forbidden")
    problem(appeal(client, "cand-2", theirs, headers=auth("lms", client_id="moodle")), 403, "forbidden")
    assert appeal(client, "cand-2", theirs, headers={}).status_code == 401
    # a candidate naming someone else's decision under their own id learns nothing about it
    problem(appeal(client, "cand-1", theirs), 422, "unknown-decision", "decision_id")
    problem(appeal(client, "nobody", theirs, headers=OFFICER), 404, "not-found", "candidate_id")
    assert events(ctx, ev.APPEAL_OPENED) == []


def test_a_validation_cannot_be_contested(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    validation = decide(client, "cand-1", CRITERION, "validated")
    body = problem(appeal(client, "cand-1", validation), 422, "decision-not-a-rejection", "decision_id")
    assert "only a rejection can be contested" in body["detail"]
    assert events(ctx, ev.APPEAL_OPENED) == []


def test_only_the_latest_decision_can_be_contested(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    first = decide(client, "cand-1", CRITERION, "rejected")
    second = decide(client, "cand-1", CRITERION, "rejected")  # a resit, rejected again
    body = problem(appeal(client, "cand-1", first), 422, "decision-superseded", "decision_id")
    assert body["decision_in_force"] == second
    assert appeal(client, "cand-1", second).status_code == 201
    validated_later = decide(client, "cand-1", "2.A1.C2.E3", "rejected")
    decide(client, "cand-1", "2.A1.C2.E3", "validated")
    problem(appeal(client, "cand-1", validated_later), 422, "decision-superseded", "decision_id")


def _backdate(ctx: ServiceContext, decision_id: str, days: float) -> None:
    with ctx.uow() as uow:
        uow.session.execute(
            update(decisions)
            .where(decisions.c.id == decision_id)
            .values(decided_at=utcnow() - timedelta(days=days))
        )
        uow.commit()


def test_a_rejection_is_contested_within_30_days_only(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    late = decide(client, "cand-1", CRITERION, "rejected")
    _backdate(ctx, late, 30.01)
    body = problem(appeal(client, "cand-1", late), 422, "appeal-window-closed", "decision_id")
    assert "the window has closed" in body["detail"] and body["deadline"]
    in_time = decide(client, "cand-1", "2.A1.C2.E3", "rejected")
    _backdate(ctx, in_time, 29.99)
    assert appeal(client, "cand-1", in_time).status_code == 201


def test_a_decision_is_contested_once(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    rejection = decide(client, "cand-1", CRITERION, "rejected")
    first = appeal(client, "cand-1", rejection).json()
    body = problem(
        appeal(client, "cand-1", rejection, headers=OFFICER), 409, "already-appealed", "decision_id"
    )
    assert (body["appeal_id"], body["appeal_status"]) == (first["id"], "open")
    assert first["id"] in body["detail"]
    assert resolve(client, first["id"], "dismissed").status_code == 200
    body = problem(appeal(client, "cand-1", rejection), 409, "already-appealed", "decision_id")
    assert (body["appeal_id"], body["appeal_status"]) == (first["id"], "resolved")
    assert len(events(ctx, ev.APPEAL_OPENED)) == 1


def _all_but_last_validated_then_rejected(client: TestClient, cid: str) -> str:
    criteria = REF.bloc("3").criteria
    for criterion in criteria[:-1]:
        decide(client, cid, criterion.id, "validated")
    return decide(client, cid, criteria[-1].id, "rejected")


VOLATILE = {"candidate_id", "decision_id", "decided_by", "decided_by_role", "comment"}
VOLATILE |= {"decided_at", "validated_at", "passed_at", "earned_at"}


def _shape(evts: list[CloudEvent]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, {k: v for k, v in e.data.items() if k not in VOLATILE}) for e in evts]


def test_an_upheld_appeal_validates_the_criterion_with_the_same_cascade_as_a_jury(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("by-jury")
    rejection = _all_but_last_validated_then_rejected(client, "by-jury")
    before = len(events(ctx))
    decide(client, "by-jury", REF.bloc("3").criteria[-1].id, "validated")
    by_jury = events(ctx)[before:]

    enrol("cand-1")
    rejection = _all_but_last_validated_then_rejected(client, "cand-1")
    opened = appeal(client, "cand-1", rejection).json()
    before = len(events(ctx))
    response = resolve(client, opened["id"], "upheld")
    assert response.status_code == 200, response.text
    by_appeal = events(ctx)[before:]

    assert [e.type for e in by_jury][-1] == ev.BLOC_PASSED
    assert [e.type for e in by_appeal] == [e.type for e in by_jury] + [ev.APPEAL_RESOLVED]
    assert _shape(by_appeal[:-1]) == _shape(by_jury)
    validated, resolved = by_appeal[0], by_appeal[-1]
    for e in by_appeal:
        contract(e.type).validate(e.data)
        assert e.subject == "cand-1"
    assert (validated.data["decided_by"], validated.data["decided_by_role"]) == ("officer-1", "officer")
    assert validated.data["comment"] == f"Appeal {opened['id']} upheld: {REASONING}"
    assert resolved.data["outcome"] == "upheld"
    assert resolved.data["resolution_decision_id"] == validated.data["decision_id"]
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolution"]["decision_id"] == validated.data["decision_id"]
    assert body["resolution"]["resolved_by"] == "officer-1"
    progress = client.get("/candidates/cand-1/progress", headers=OWN).json()
    assert progress["blocs_passed"] == ["3"]
    assert progress["appeals"][0]["outcome"] == "upheld"
    latest = client.get("/candidates/cand-1/decisions", headers=OWN).json()[-1]
    assert (latest["id"], latest["outcome"]) == (validated.data["decision_id"], "validated")


def test_a_dismissed_appeal_changes_nothing_else(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    rejection = decide(client, "cand-1", CRITERION, "rejected")
    opened = appeal(client, "cand-1", rejection).json()
    decisions_before = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    before = len(events(ctx))
    response = resolve(client, opened["id"], "dismissed")
    assert response.status_code == 200
    assert response.json()["resolution"]["outcome"] == "dismissed"
    assert response.json()["resolution"]["decision_id"] is None
    [resolved] = events(ctx)[before:]
    assert resolved.type == ev.APPEAL_RESOLVED and resolved.data["resolution_decision_id"] is None
    contract(ev.APPEAL_RESOLVED).validate(resolved.data)
    assert client.get("/candidates/cand-1/decisions", headers=OWN).json() == decisions_before
    b2 = next(
        b for b in client.get("/candidates/cand-1/progress", headers=OWN).json()["blocs"] if b["code"] == "2"
    )
    assert (b2["criteria_rejected"], b2["criteria_validated"]) == (1, 0)


def test_whoever_took_the_contested_decision_may_not_resolve_the_appeal(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    jury_and_officer = auth("jury", "officer", subject="jury-1")
    rejection = decide(client, "cand-1", CRITERION, "rejected")  # by jury-1
    opened = appeal(client, "cand-1", rejection).json()
    body = problem(resolve(client, opened["id"], "upheld", headers=jury_and_officer), 403, "not-impartial")
    assert rejection in body["detail"] and "another officer" in body["detail"]
    officer_2 = auth("officer", subject="officer-2")
    own_rejection = decide(client, "cand-1", "2.A1.C2.E3", "rejected", headers=officer_2)
    second = appeal(client, "cand-1", own_rejection).json()
    problem(resolve(client, second["id"], "dismissed", headers=officer_2), 403, "not-impartial")
    assert events(ctx, ev.APPEAL_RESOLVED) == []
    assert client.get(f"/appeals/{opened['id']}", headers=OWN).json()["status"] == "open"


def test_a_resolution_is_final_and_the_same_request_again_is_answered_with_it(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    rejection = decide(client, "cand-1", CRITERION, "rejected")
    opened = appeal(client, "cand-1", rejection).json()
    first = resolve(client, opened["id"], "dismissed")
    assert first.status_code == 200
    assert_before = events(ctx)
    again = resolve(client, opened["id"], "dismissed")
    assert again.status_code == 200 and again.json() == first.json()
    body = problem(resolve(client, opened["id"], "upheld"), 409, "appeal-already-resolved")
    assert (body["appeal_id"], body["outcome"]) == (opened["id"], "dismissed")
    other_officer = auth("officer", subject="officer-2")
    problem(resolve(client, opened["id"], "dismissed", headers=other_officer), 409, "appeal-already-resolved")
    assert [e.id for e in events(ctx)] == [e.id for e in assert_before]
    assert client.get(f"/appeals/{opened['id']}", headers=OWN).json() == first.json()


def test_bad_bodies_are_refused_naming_the_field(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    rejection = decide(client, "cand-1", CRITERION, "rejected")
    post = client.post
    cases = [
        (post("/candidates/cand-1/appeals", json={"grounds": GROUNDS}, headers=OWN), "decision_id"),
        (appeal(client, "cand-1", rejection, grounds="trop court"), "grounds"),
        (appeal(client, "cand-1", rejection, grounds=" " * 25), "grounds"),
        (appeal(client, "cand-1", rejection, grounds="x" * 4001), "grounds"),
        (appeal(client, "cand-1", ""), "decision_id"),
        (appeal(client, "cand-1", rejection, urgent=True), "urgent"),
    ]
    for response, field in cases:
        problem(response, 422, "validation", field)
    opened = appeal(client, "cand-1", rejection).json()
    cases = [
        (resolve(client, opened["id"], "maybe"), "outcome"),
        (resolve(client, opened["id"], "upheld", reasoning="non."), "reasoning"),
        (
            post(f"/appeals/{opened['id']}/resolution", json={"outcome": "upheld"}, headers=OFFICER),
            "reasoning",
        ),
    ]
    for response, field in cases:
        problem(response, 422, "validation", field)
    problem(resolve(client, "no-such-appeal", "upheld"), 404, "not-found", "appeal_id")
    assert [e.type for e in events(ctx)] == [ev.CRITERION_REJECTED, ev.APPEAL_OPENED]


def test_who_reads_and_who_resolves(client: TestClient, enrol: Callable[..., None]) -> None:
    enrol("cand-1")
    enrol("cand-2")
    opened = appeal(client, "cand-1", decide(client, "cand-1", CRITERION, "rejected")).json()
    other = auth("candidate", subject="account-2", candidate_id="cand-2")
    for reader in (
        OWN,
        JURY,
        OFFICER,
        auth("admin"),
        auth("lms", client_id="moodle"),
    ):  # lms reads as it reads decisions
        assert client.get(f"/appeals/{opened['id']}", headers=reader).status_code == 200
        assert len(client.get("/candidates/cand-1/appeals", headers=reader).json()) == 1
    # another candidate's appeal, by its id: not disclosed (as an unknown one)
    problem(client.get(f"/appeals/{opened['id']}", headers=other), 404, "not-found", "appeal_id")
    problem(client.get("/candidates/cand-1/appeals", headers=other), 403, "forbidden")
    problem(client.get(f"/appeals/{opened['id']}", headers=auth("service")), 403, "forbidden")
    problem(client.get("/appeals/nope", headers=OFFICER), 404, "not-found", "appeal_id")
    problem(client.get("/candidates/nobody/appeals", headers=OFFICER), 404, "not-found", "candidate_id")
    for resolver in (OWN, JURY, auth("lms", client_id="moodle")):
        problem(resolve(client, opened["id"], "upheld", headers=resolver), 403, "forbidden")
    admin = resolve(client, opened["id"], "upheld", headers=auth("admin", subject="admin-1"))
    assert admin.status_code == 200 and admin.json()["resolution"]["resolved_by_role"] == "admin"


def test_an_automated_grading_rejection_can_be_contested(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    submitted = client.post(
        "/candidates/cand-1/submissions",
        data={"evaluation_id": "2.EV1", "pack_id": "b2_data_cleaning"},
        files={"file": ("solution.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")},
        headers=OWN,
    ).json()
    verdict = {
        "criterion_id": CRITERION,
        "verdict": "rejected",
        "metric": "accuracy",
        "value": 0.5,
        "threshold": 0.9,
        "comparator": ">=",
        "explanation": "accuracy 0.5 < 0.9",
    }
    completed = CloudEvent(
        type=ev.GRADING_COMPLETED_V2,
        source="/certifia/grading",
        subject="cand-1",
        data={
            "submission_id": submitted["id"],
            "candidate_id": "cand-1",
            "pack_id": "b2_data_cleaning",
            "pack_version": "1.0.0",
            "dataset_seed": 7,
            "submission_digest": submitted["digest"],
            "criteria": [verdict],
            "metrics": {"accuracy": 0.5},
            "duration_s": 1.0,
            "completed_at": utcnow().isoformat(),
        },
    )
    with ctx.uow() as uow:
        grading_handlers(REF)[ev.GRADING_COMPLETED_V2](completed, uow)
        uow.commit()
    # 2.EV1 is under jury review (jury_policy.yaml): the rejection is the jury's once confirmed
    [proposal] = client.get("/proposals", headers=JURY).json()
    confirm = client.post(f"/proposals/{proposal['id']}/review", json={"action": "confirm"}, headers=JURY)
    assert confirm.status_code == 200, confirm.text
    [rejection] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert (rejection["decided_by"], rejection["proposed_by"]) == ("jury-1", "b2_data_cleaning@1.0.0")
    opened = appeal(client, "cand-1", rejection["id"])
    assert opened.status_code == 201
    assert resolve(client, opened.json()["id"], "upheld").status_code == 200
    [*_, validated] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert (validated["outcome"], validated["decided_by"]) == ("validated", "officer-1")
