"""Impartiality, deadlines, reasons and the audit trail (issue 17, items 5 and 8). Measured before: an officer
opened an appeal on a candidate's behalf and upheld it himself (200); appeals had no resolution deadline and
decisions no appeal deadline; a jury rejection with an empty comment was recorded; an accommodation's extra time
did not stretch the appeal window; a criterion with several checks showed only one; there was no audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from certifia_assessment.adapters.orm import appeals, decisions
from certifia_assessment.domain.jury_policy import load_jury_policy
from certifia_assessment.service_layer.events import grading_handlers, on_accommodation_granted
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, outbox_events

REF = load_referential()
JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
OFFICER_2 = auth("officer", subject="officer-2")
CID = "cand-1"
OWN = auth("candidate", subject="account-1", candidate_id=CID)
GROUNDS = "Le jeu de test caché contenait des doublons que l'énoncé interdisait."
REASONING = "Après revue du rapport, les doublons faussaient la mesure : recours fondé."
CRITERION = "2.A1.C1.E1"
AUTOMATED = load_jury_policy(
    'version: "test"\ndefault: {human_deliverables: [], otherwise: automated_final}\n', REF
)


def decide(
    client: TestClient, outcome: str = "rejected", criterion: str = CRITERION, comment: str = "incomplet"
) -> Any:
    body = {"criterion_id": criterion, "outcome": outcome, "comment": comment}
    return client.post(f"/candidates/{CID}/decisions", json=body, headers=JURY)


def appeal(client: TestClient, decision_id: str, headers: dict[str, str] = OWN) -> Any:
    return client.post(
        f"/candidates/{CID}/appeals", json={"decision_id": decision_id, "grounds": GROUNDS}, headers=headers
    )


def resolve(client: TestClient, appeal_id: str, headers: dict[str, str], outcome: str = "upheld") -> Any:
    return client.post(
        f"/appeals/{appeal_id}/resolution", json={"outcome": outcome, "reasoning": REASONING}, headers=headers
    )


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def backdate(ctx: ServiceContext, table: Any, row_id: str, column: str, days: float) -> None:
    with ctx.uow() as uow:
        uow.session.execute(
            update(table).where(table.c.id == row_id).values({column: utcnow() - timedelta(days=days)})
        )
        uow.commit()


def grant(ctx: ServiceContext, factor: float, accommodation_id: str = "acc-1") -> dict[str, Any]:
    data = {
        "accommodation_id": accommodation_id,
        "candidate_id": CID,
        "extra_time_factor": factor,
        "adapted_formats": ["rest_breaks"],
        "evidence_reference": "MDPH-2026-0042",
        "granted_by": "officer-3",
        "granted_by_role": "officer",
        "granted_at": utcnow().isoformat(),
        "reason": "Avis du médecin désigné par la CDAPH.",
    }
    contract(ev.ACCOMMODATION_GRANTED).validate(data)
    event = CloudEvent(type=ev.ACCOMMODATION_GRANTED, source="/certifia/enrolment", subject=CID, data=data)
    with ctx.uow() as uow:
        on_accommodation_granted(event, uow)
        uow.commit()
    return data


# -- impartiality ------------------------------------------------------------------------------------------
def test_the_officer_who_opened_the_appeal_for_the_candidate_may_not_resolve_it(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    opened = appeal(client, decide(client).json()["id"], headers=OFFICER).json()
    assert opened["opened_by"] == "officer-1"
    refused = resolve(client, opened["id"], OFFICER)
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["type"].endswith("/not-impartial") and body["rule"] == "opened-the-appeal"
    assert "on the candidate's behalf" in body["detail"] and "another officer" in body["detail"]
    assert outbox_events(ctx, ev.APPEAL_RESOLVED) == []
    assert resolve(client, opened["id"], OFFICER_2).status_code == 200


def test_the_deciding_jury_member_may_not_resolve_the_appeal_against_their_decision(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    enrol(CID)
    opened = appeal(client, decide(client).json()["id"]).json()
    refused = resolve(client, opened["id"], auth("jury", "officer", subject="jury-1"))
    assert refused.status_code == 403 and refused.json()["rule"] == "took-the-decision"


# -- deadlines ---------------------------------------------------------------------------------------------
def test_an_appeal_shows_when_it_must_be_resolved_and_overdue_ones_come_first(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    recent = appeal(client, decide(client).json()["id"]).json()
    assert at(recent["resolve_by"]) == at(recent["opened_at"]) + timedelta(days=60)  # APPEAL_RESOLUTION_DAYS
    assert recent["overdue"] is False
    old = appeal(client, decide(client, criterion="2.A1.C2.E3").json()["id"]).json()
    backdate(ctx, appeals, old["id"], "opened_at", 61)
    done = appeal(client, decide(client, criterion="2.A1.C1.E2").json()["id"]).json()
    assert resolve(client, done["id"], OFFICER, "dismissed").status_code == 200

    assert client.get(f"/appeals/{old['id']}", headers=OWN).json()["overdue"] is True
    listed = client.get("/appeals", params={"status": "open"}, headers=OFFICER).json()
    assert [(a["id"], a["overdue"]) for a in listed] == [(old["id"], True), (recent["id"], False)]
    overdue = client.get("/appeals", params={"overdue": "true"}, headers=OFFICER).json()
    assert [a["id"] for a in overdue] == [old["id"]]
    assert {a["id"] for a in client.get("/appeals", headers=JURY).json()} == {
        old["id"],
        recent["id"],
        done["id"],
    }
    for reader in (OWN, auth("lms", client_id="moodle")):
        assert client.get("/appeals", headers=reader).status_code == 403


def test_the_resolution_deadline_is_a_setting(client: TestClient, enrol: Callable[..., None]) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    enrol(CID)
    settings.appeal_resolution_days = 10
    opened = appeal(client, decide(client).json()["id"]).json()
    assert at(opened["resolve_by"]) == at(opened["opened_at"]) + timedelta(days=10)


def test_a_rejection_in_force_shows_until_when_it_can_be_contested(
    client: TestClient, enrol: Callable[..., None]
) -> None:
    enrol(CID)
    first = decide(client).json()
    assert at(first["appealable_until"]) == at(first["decided_at"]) + timedelta(days=30)
    assert first["accommodation"] is None
    second = decide(client).json()  # a resit, rejected again: the first is no longer in force
    validation = decide(client, "validated", "2.A1.C2.E3", "ok").json()
    assert validation["appealable_until"] is None
    listed = {d["id"]: d for d in client.get(f"/candidates/{CID}/decisions", headers=OWN).json()}
    assert listed[first["id"]]["appealable_until"] is None
    assert at(listed[second["id"]]["appealable_until"]) == at(second["decided_at"]) + timedelta(days=30)
    assert listed[validation["id"]]["appealable_until"] is None


# -- accommodations ----------------------------------------------------------------------------------------
def test_extra_time_stretches_the_appeal_window_and_the_decision_says_so(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    rejection = decide(client).json()
    backdate(ctx, decisions, rejection["id"], "decided_at", 40)  # past 30 days, within 30 x 1.5 = 45
    grant(ctx, 1.5)
    grant(ctx, 1.5)  # a replay adds nothing
    [listed] = client.get(f"/candidates/{CID}/decisions", headers=OWN).json()
    assert at(listed["appealable_until"]) == at(listed["decided_at"]) + timedelta(days=45)
    assert listed["accommodation"] == {"extra_time_factor": 1.5, "applied_to": ["appeal_window"]}
    assert appeal(client, rejection["id"]).status_code == 201
    grants = [
        e
        for e in client.get(f"/candidates/{CID}/audit", headers=OFFICER).json()
        if e["kind"] == "accommodation_granted"
    ]
    assert [(g["account"], g["evidence_reference"], g["ref"]) for g in grants] == [
        ("officer-3", "MDPH-2026-0042", "acc-1")
    ]


def test_without_extra_time_the_same_rejection_is_out_of_its_window(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    rejection = decide(client).json()
    backdate(ctx, decisions, rejection["id"], "decided_at", 40)
    assert appeal(client, rejection["id"]).json()["type"].endswith("appeal-window-closed")


# -- reasons and checks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("comment", ["", "   ", "\t\n"])
def test_a_rejection_without_a_reason_is_refused_naming_comment(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext, comment: str
) -> None:
    enrol(CID)
    response = decide(client, comment=comment)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["comment"]
    assert "why" in response.json()["detail"]
    assert outbox_events(ctx) == []
    assert decide(client, "validated", comment=comment).status_code == 201  # a validation needs none


EXPLANATION = (
    "Rejeté — Le pipeline nettoie les données. Mesures : duplicate_rate = 0.02 (attendu <= 0.01 ; non atteint : "
    "des doublons restent) ; null_rate = 0 (attendu <= 0.05) ; rows_kept = 0.9712 (attendu >= 0.95)."
)


def test_every_check_of_an_automated_verdict_is_shown_not_only_the_first(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    files = {"file": ("work.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")}
    form = {"evaluation_id": "2.EV1", "pack_id": "b2_data_cleaning"}
    submission = client.post(f"/candidates/{CID}/submissions", data=form, files=files, headers=OWN).json()
    verdict = {
        "criterion_id": CRITERION,
        "verdict": "rejected",
        "metric": "duplicate_rate",
        "value": 0.0213,
        "threshold": 0.01,
        "comparator": "<=",
        "explanation": EXPLANATION,
    }
    data = {
        "submission_id": submission["id"],
        "candidate_id": CID,
        "pack_id": "b2_data_cleaning",
        "pack_version": "1.0.0",
        "dataset_seed": 7,
        "submission_digest": submission["digest"],
        "criteria": [verdict],
        "metrics": {"duplicate_rate": 0.0213, "null_rate": 0.0, "rows_kept": 0.97123},
        "completed_at": utcnow().isoformat(),
    }
    event = CloudEvent(type=ev.GRADING_COMPLETED_V2, source="/certifia/grading", subject=CID, data=data)
    with ctx.uow() as uow:
        grading_handlers(REF, AUTOMATED)[ev.GRADING_COMPLETED_V2](event, uow)
        uow.commit()

    staff = [
        {"metric": "duplicate_rate", "comparator": "<=", "threshold": 0.01, "value": 0.0213, "passed": False},
        {"metric": "null_rate", "comparator": "<=", "threshold": 0.05, "value": 0.0, "passed": True},
        {"metric": "rows_kept", "comparator": ">=", "threshold": 0.95, "value": 0.97123, "passed": True},
    ]
    [decision] = client.get(f"/candidates/{CID}/decisions", headers=JURY).json()
    assert decision["checks"] == staff
    report = client.get(f"/submissions/{submission['id']}", headers=JURY).json()["report"]
    assert report["criteria"][0]["checks"] == staff
    assert report["criteria"][0]["metric"] == "duplicate_rate"  # the old fields stay
    # the candidate reads each value rounded to its threshold's precision, as for the verdict's own
    [own] = client.get(f"/candidates/{CID}/decisions", headers=OWN).json()
    assert [c["value"] for c in own["checks"]] == [0.03, 0.0, 0.97]
    own_report = client.get(f"/submissions/{submission['id']}", headers=OWN).json()["report"]
    assert [c["value"] for c in own_report["criteria"][0]["checks"]] == [0.03, 0.0, 0.97]
