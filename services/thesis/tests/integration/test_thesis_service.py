"""The thesis service: mission eligibility (4 months FTE), defence outcomes, bad input, on SQLite and on
the real PostgreSQL; the candidate learnt from candidate.enrolled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from certifia_shared import event_types as ev
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, enrolled_event, fresh_pg_url
from certifia_thesis.adapters.orm import messaging
from certifia_thesis.bootstrap import create_application
from certifia_thesis.config import Settings
from certifia_thesis.service_layer.events import candidate_enrolled

OFFICER = auth("officer", subject="officer-1")
JURY = auth("jury", subject="jury-1")


def _client(database_url: str, deposits: Path) -> TestClient:
    settings = Settings(
        database_url=database_url,
        deposits_dir=str(deposits),
        run_background_workers=False,
    )
    return TestClient(create_application(settings))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'thesis.db'}" if request.param == "sqlite" else fresh_pg_url("thesis")
    with _client(url, tmp_path / "files") as c:
        yield c


def enrol(client: TestClient, candidate_id: str = "cand-1") -> None:
    ctx: ServiceContext = client.app.state.ctx  # type: ignore[attr-defined]
    event = enrolled_event(candidate_id)
    with ctx.uow() as uow:
        candidate_enrolled(event, uow)
        uow.commit()


def outbox(client: TestClient) -> list[tuple[str, dict[str, object]]]:
    ctx: ServiceContext = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.uow() as uow:
        rows = uow.session.execute(
            select(messaging.outbox.c.type, messaging.outbox.c.payload).order_by(messaging.outbox.c.seq)
        ).all()
    return [(t, json.loads(p)) for t, p in rows]


def mission(client: TestClient, start: str, end: str, fte: float = 1.0, candidate_id: str = "cand-1"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/candidates/{candidate_id}/missions",
        headers=OFFICER,
        json={"company": "Acme", "start_date": start, "end_date": end, "fte": fte},
    )


def test_an_eligible_mission_is_registered_and_announced(client: TestClient) -> None:
    enrol(client)
    response = mission(client, "2026-01-05", "2026-06-30")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["months_fte"] >= 4
    [(event_type, payload)] = outbox(client)
    assert event_type == ev.MISSION_REGISTERED
    assert payload["mission_id"] == body["id"] and payload["months_fte"] == body["months_fte"]


def test_part_time_over_eight_months_counts_and_under_four_months_fte_is_refused(client: TestClient) -> None:
    enrol(client)
    assert mission(client, "2026-01-01", "2026-08-31", fte=0.5).status_code == 201
    short = mission(client, "2026-01-01", "2026-08-31", fte=0.4)
    assert short.status_code == 422
    problem = short.json()
    assert problem["errors"][0]["field"] in {"fte", "end_date"}
    assert "4" in problem["detail"]
    assert len(outbox(client)) == 1  # only the eligible one


def test_end_before_start_and_unknown_candidate_are_refused_and_nothing_is_emitted(
    client: TestClient,
) -> None:
    enrol(client)
    backwards = mission(client, "2026-06-01", "2026-01-01")
    assert backwards.status_code == 422
    assert backwards.headers["content-type"].startswith("application/problem+json")
    assert "end_date" in backwards.json()["errors"][0]["field"]
    unknown = mission(client, "2026-01-01", "2026-12-31", candidate_id="nobody")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "candidate_id"
    assert outbox(client) == []


def test_defence_outcomes_resit_after_failure_and_no_second_pass(client: TestClient) -> None:
    enrol(client)
    mission_id = mission(client, "2026-01-05", "2026-06-30").json()["id"]
    clock = {"now": datetime(2026, 12, 1, 9, tzinfo=UTC)}
    client.app.state.clock = lambda: clock["now"]  # type: ignore[attr-defined]
    deposit = client.post(
        "/candidates/cand-1/thesis/deposit",
        headers=auth("candidate", candidate_id="cand-1"),
        data={"title": "Ma thèse professionnelle", "abstract": "x" * 60, "mission_id": mission_id},
        files={"file": ("these.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    )
    assert deposit.status_code == 201, deposit.text

    def schedule() -> None:
        response = client.post(
            "/candidates/cand-1/defence/schedule",
            headers=OFFICER,
            json={
                "scheduled_at": (clock["now"] + timedelta(days=10)).isoformat(),
                "location": "https://visio.example.org/soutenance",
                "jury": [{"name": "Dr A", "role": "president"}, {"name": "Dr B", "role": "member"}],
            },
        )
        assert response.status_code == 201, response.text
        clock["now"] += timedelta(days=11)

    def defend(outcome: str, grade: float = 12.0):  # type: ignore[no-untyped-def]
        return client.post(
            "/candidates/cand-1/defence",
            headers=JURY,
            json={"mission_id": mission_id, "outcome": outcome, "grade": grade, "jury": ["Dr A", "Dr B"]},
        )

    schedule()
    assert defend("failed", 8.0).status_code == 201
    schedule()  # the resit
    assert defend("passed").status_code == 201
    assert defend("passed").status_code == 200  # the same outcome again (a retry): recorded once
    assert defend("passed", 13.0).status_code == 409  # a passed thesis is final: never a second one
    defended = [p for t, p in outbox(client) if t == ev.THESIS_DEFENDED]
    assert [p["outcome"] for p in defended] == ["failed", "passed"]
    thesis = client.get("/candidates/cand-1/thesis", headers=auth("candidate", candidate_id="cand-1"))
    assert thesis.status_code == 200
    assert (
        client.get("/candidates/cand-1/thesis", headers=auth("candidate", candidate_id="other")).status_code
        == 403
    )
    unknown_mission = client.post(
        "/candidates/cand-1/defence",
        headers=JURY,
        json={"mission_id": "nope", "outcome": "passed", "jury": ["Dr A"]},
    )
    assert unknown_mission.status_code == 404
    assert unknown_mission.json()["errors"][0]["field"] == "mission_id"


def test_only_officers_and_lms_register_missions(client: TestClient) -> None:
    enrol(client)
    response = client.post(
        "/candidates/cand-1/missions",
        headers=auth("candidate", candidate_id="cand-1"),
        json={"company": "Acme", "start_date": "2026-01-01", "end_date": "2026-12-31"},
    )
    assert response.status_code == 403
