"""A verdict counts only for the archive that was handed in (issue 12: assessment did not cross-check
grading.completed's ``submission_digest`` against the digest it stored, which is what the jury and an appeal
read), and an infrastructure failure costs the candidate no attempt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from certifia_assessment.service_layer.events import grading_handlers
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth

from .jury_helpers import apply, policy_for_1ev3

REF = load_referential()
JURY = auth("jury", subject="jury-1")
OWN = auth("candidate", subject="account-1", candidate_id="cand-1")

FINAL = policy_for_1ev3(policy="automated_final")


def hand_in(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/candidates/cand-1/submissions",
        data={"evaluation_id": "1.EV3", "pack_id": "b1_bias_mitigation"},
        files={"file": ("solution.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")},
        headers=OWN,
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def completed(submission: dict[str, Any], digest: str) -> CloudEvent:
    data = {
        "submission_id": submission["id"],
        "candidate_id": "cand-1",
        "pack_id": "b1_bias_mitigation",
        "pack_version": "1.1.0",
        "dataset_seed": 4242,
        "submission_digest": digest,
        "criteria": [
            {
                "criterion_id": "1.A4.C7.E4",
                "verdict": "validated",
                "metric": "accuracy",
                "value": 0.9,
                "threshold": 0.8,
                "comparator": ">=",
                "explanation": "accuracy = 0.9000 (attendu >= 0.8)",
            }
        ],
        "metrics": {"accuracy": 0.9},
        "duration_s": 1.0,
        "completed_at": utcnow().isoformat(),
    }
    return CloudEvent(type=ev.GRADING_COMPLETED_V2, source="/certifia/grading", subject="cand-1", data=data)


def test_a_verdict_on_another_archive_than_the_one_handed_in_is_not_recorded(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    submission = hand_in(client)
    apply(ctx, completed(submission, "f" * 64), FINAL)
    assert client.get("/candidates/cand-1/decisions", headers=JURY).json() == []
    stored = client.get(f"/submissions/{submission['id']}", headers=JURY).json()
    assert stored["status"] == "failed" and "digest mismatch" in stored["failure_reason"]
    # the same verdict on the archive handed in is recorded
    again = hand_in(client)
    apply(ctx, completed(again, again["digest"]), FINAL)
    [decision] = client.get("/candidates/cand-1/decisions", headers=JURY).json()
    assert decision["criterion_id"] == "1.A4.C7.E4" and decision["outcome"] == "validated"


def test_an_infrastructure_failure_costs_no_attempt(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    first, second = hand_in(client), hand_in(client)
    for submission, cause in ((first, "infrastructure"), (second, "submission")):
        data = {
            "submission_id": submission["id"],
            "candidate_id": "cand-1",
            "pack_id": "b1_bias_mitigation",
            "reason": "test",
            "cause": cause,
            "failed_at": utcnow().isoformat(),
        }
        event = CloudEvent(type=ev.GRADING_FAILED, source="/certifia/grading", subject="cand-1", data=data)
        with ctx.uow() as uow:
            grading_handlers(REF, FINAL)[ev.GRADING_FAILED](event, uow)
            uow.commit()
    with ctx.uow() as uow:
        assert uow.submissions.graded_attempts("cand-1") == {"1.EV3": 1}
