"""Feedback that teaches without leaking, and attempt limits (issue 12, item 4).

Measured before: metrics came back to the candidate to 6 decimals with exact confusion counts (a free
label oracle), and a candidate could hand in as many graded attempts as they liked. Now the candidate and
their LMS read each verdict with its metric rounded to the threshold's precision (on the side that keeps
the verdict), without raw metrics or counts; the jury, officers and admins read the exact report; the
sixth graded submission for one evaluation is refused with a problem naming the limit."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_assessment.service_layer.handlers import grading_handlers
from certifia_shared import event_types as ev
from certifia_shared.auth import Principal
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.feedback import (
    candidate_explanation,
    candidate_report,
    report_for,
    round_for_threshold,
    threshold_decimals,
)
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth

REF = load_referential()
OWN = auth("candidate", subject="c1", candidate_id="cand-1")
ZIP = b"PK\x05\x06" + b"\0" * 18
EXPLANATION = (
    "Rejeté — Les données sont nettoyées. Mesures : accuracy = 0.85 (attendu >= 0.85 ; non atteint : "
    "trop d'erreurs) ; mae = 0.01235 (attendu <= 0.05) ; n_rows = 150 (attendu == 150)."
)
METRICS = {
    "accuracy": 0.849963,
    "mae": 0.012345,
    "n_rows": 150.0,
    "tn": 41.0,
    "fp": 9.0,
    "fn": 13.0,
    "tp": 87.0,
}


# -- the rounding: pure --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("threshold", "decimals"), [(0.85, 2), (0.9, 1), (5, 0), (5.0, 0), (100, 0), (1e-3, 3), (0.125, 3)]
)
def test_the_precision_is_the_thresholds_number_of_decimals(threshold: float, decimals: int) -> None:
    assert threshold_decimals(threshold) == decimals


@pytest.mark.parametrize(
    ("value", "threshold", "comparator", "shown"),
    [
        (0.849963, 0.85, ">=", 0.84),  # a near miss never reads as the threshold itself
        (0.850001, 0.85, ">=", 0.85),
        (0.29, 0.29, ">=", 0.29),  # exact at the threshold (0.29 * 100 is 28.999... in floats)
        (0.987654, 0.9, ">=", 0.9),
        (0.050001, 0.05, "<=", 0.06),  # a miss above a maximum reads above it
        (0.012345, 0.05, "<=", 0.02),
        (0.999, 1, "==", 0.0),  # an equality missed reads away from the threshold, either side
        (1.001, 1, "==", 2.0),
        (150.0, 150, "==", 150.0),
        (-0.0312, 0.0, ">=", -1.0),
    ],
)
def test_a_value_is_rounded_on_the_side_that_keeps_its_verdict(
    value: float, threshold: float, comparator: str, shown: float
) -> None:
    assert round_for_threshold(value, threshold, comparator) == shown
    passes = {">=": value >= threshold, "<=": value <= threshold, "==": value == threshold}[comparator]
    shown_passes = {">=": shown >= threshold, "<=": shown <= threshold, "==": shown == threshold}[comparator]
    assert passes == shown_passes


def test_no_value_stays_no_value() -> None:
    assert round_for_threshold(None, 0.5, ">=") is None
    assert round_for_threshold(math.nan, 0.5, ">=") is None
    assert round_for_threshold(1e40, 1, ">=") is None  # beyond what can be rounded: not shown at all


def test_the_explanation_quotes_the_rounded_values_from_the_exact_ones() -> None:
    shown = candidate_explanation(EXPLANATION, METRICS)
    # the grader's own quote "0.85" (4 significant digits) was above the true 0.849963: 0.84 is shown
    assert "accuracy = 0.84 (attendu >= 0.85 ; non atteint : trop d'erreurs)" in shown
    assert "mae = 0.02 (attendu <= 0.05)" in shown and "n_rows = 150 (attendu == 150)" in shown
    assert shown.startswith("Rejeté — Les données sont nettoyées. Mesures : ")
    masked = "latency_ratio = … (attendu <= 0.5)"
    assert candidate_explanation(masked) == masked  # a value the grader masked stays masked


def report(submission_id: str = "sub-1") -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "candidate_id": "cand-1",
        "pack_id": "b2_data_cleaning",
        "pack_version": "1.0.0",
        "dataset_seed": 7,
        "submission_digest": "d" * 64,
        "criteria": [
            {
                "criterion_id": "2.A1.C1.E1",
                "verdict": "rejected",
                "metric": "accuracy",
                "value": 0.849963,
                "threshold": 0.85,
                "comparator": ">=",
                "explanation": EXPLANATION,
            }
        ],
        "metrics": METRICS,
        "duration_s": 1.234,
        "completed_at": utcnow().isoformat(),
    }


def test_a_candidate_report_keeps_the_verdicts_and_drops_the_exact_values() -> None:
    exact = report()
    shown = candidate_report(exact)
    assert shown is not None
    assert set(shown) == {
        "submission_id",
        "candidate_id",
        "pack_id",
        "pack_version",
        "submission_digest",
        "criteria",
        "completed_at",
    }
    [criterion] = shown["criteria"]
    assert (criterion["verdict"], criterion["value"], criterion["threshold"]) == ("rejected", 0.84, 0.85)
    staff = Principal("jury-1", frozenset({"jury"}))
    candidate = Principal("c1", frozenset({"candidate"}), candidate_id="cand-1")
    lms = Principal("lms-a", frozenset({"lms"}), client_id="lms-a")
    assert report_for(staff, exact) == exact
    assert report_for(candidate, exact) == shown == report_for(lms, exact)


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
