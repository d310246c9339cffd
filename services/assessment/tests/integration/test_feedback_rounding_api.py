"""Feedback that teaches without leaking, and attempt limits (issue 12, item 4), through the API: the
candidate reads the grading rounded and the jury exactly; the sixth graded submission is refused. The rounding
itself: tests/unit/test_feedback_rounding.py."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from certifia_assessment.service_layer.events import grading_handlers
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth

from ..unit.test_feedback_rounding import REF, report

OWN = auth("candidate", subject="c1", candidate_id="cand-1")
ZIP = b"PK\x05\x06" + b"\0" * 18


# -- through the API -----------------------------------------------------------------------------------
def submit(
    client: TestClient, key: str | None = None, evaluation: str = "2.EV1", pack: str | None = "b2"
) -> Any:
    headers = {**OWN, **({"Idempotency-Key": key} if key else {})}
    data = {"evaluation_id": evaluation, **({"pack_id": pack} if pack else {})}
    return client.post(
        "/candidates/cand-1/submissions",
        data=data,
        files={"file": ("solution.zip", ZIP, "application/zip")},
        headers=headers,
    )


def test_the_candidate_reads_the_grading_rounded_and_the_jury_exactly(
    client: TestClient, ctx: ServiceContext, enrol: Any
) -> None:
    enrol("cand-1")
    submitted = submit(client).json()
    completed = CloudEvent(
        type=ev.GRADING_COMPLETED_V2,
        source="/certifia/grading",
        subject="cand-1",
        data={**report(submitted["id"]), "submission_digest": submitted["digest"]},
    )
    with ctx.uow() as uow:
        grading_handlers(REF)[ev.GRADING_COMPLETED_V2](completed, uow)
        uow.commit()
    path = f"/submissions/{submitted['id']}"
    own = client.get(path, headers=OWN).json()
    [listed] = client.get("/candidates/cand-1/submissions", headers=OWN).json()
    jury = client.get(path, headers=auth("jury")).json()
    assert own["status"] == "graded" and listed["report"] == own["report"]
    [criterion] = own["report"]["criteria"]
    assert criterion["value"] == 0.84 and "accuracy = 0.84 (attendu >= 0.85" in criterion["explanation"]
    assert "metrics" not in own["report"] and "dataset_seed" not in own["report"]
    assert "0.849963" not in str(own) and "0.01235" not in str(own)
    assert jury["report"]["metrics"]["tp"] == 87.0 and jury["report"]["criteria"][0]["value"] == 0.849963
    # 2.EV1 is under jury review (jury_policy.yaml: a written report): a jury member confirms the verdict;
    # the decision (the candidate reads it, criterion.rejected carries it) quotes the grading rounded
    [proposal] = client.get("/proposals", headers=auth("jury")).json()
    confirmed = client.post(
        f"/proposals/{proposal['id']}/review", json={"action": "confirm"}, headers=auth("jury")
    )
    assert confirmed.status_code == 200, confirmed.text
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert decision["decided_by_role"] == "jury"
    assert "accuracy = 0.84 (attendu >= 0.85" in decision["comment"]
    assert "0.849963" not in decision["comment"]


def test_the_sixth_graded_submission_for_an_evaluation_is_refused_naming_the_limit(
    client: TestClient, enrol: Any, outbox: Any
) -> None:
    enrol("cand-1")
    answers = [submit(client, key=f"k{i}") for i in range(5)]
    assert [a.status_code for a in answers] == [201] * 5
    sent = len(outbox())
    refused = submit(client, key="k5")
    assert refused.status_code == 409, refused.text
    assert answers[-1].json()["grading_attempts"] == {"used": 5, "limit": 5, "left": 0}
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("attempt-limit-reached")
    assert (problem["limit"], problem["used"], problem["evaluation_id"]) == (5, 5, "2.EV1")
    assert "GRADING_MAX_ATTEMPTS_PER_EVALUATION" in problem["detail"] and "appeals" in problem["detail"]
    assert len(outbox()) == sent  # no submission.received, no grading.requested
    assert len(client.get("/candidates/cand-1/submissions", headers=OWN).json()) == 5
    # what the limit does not stop: a replay of a hand-in made, another evaluation, an ungraded deliverable
    assert submit(client, key="k4").status_code == 200
    assert submit(client, evaluation="2.EV2").status_code == 201
    assert submit(client, pack=None).status_code == 201
    [first, *_] = client.get("/candidates/cand-1/submissions", headers=OWN).json()
    assert first["grading_attempts"] == {"used": 5, "limit": 5, "left": 0}
