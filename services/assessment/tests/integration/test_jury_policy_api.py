"""Jury review of automated verdicts (issue 17 item 1), through the API on SQLite: grading.completed for an
evaluation under jury_confirms or second_reader (or with an implausible value) records a proposal, not a
decision; a jury member confirms or overrides it and the decision is recorded in their name.

Measured before: 1.EV3 (a written risk-strategy document) was validated by automated grading for a plain
LogisticRegression with no mitigation, and a submission that rebuilt the labels (accuracy 1.0) too."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from certifia_assessment.domain.jury_policy import JuryPolicy
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, outbox_events

from .jury_helpers import apply, policy_for_1ev3

REF = load_referential()
JURY = auth("jury", subject="jury-1")
JURY_2 = auth("jury", subject="jury-2")
OFFICER = auth("officer", subject="officer-1")
OWN = auth("candidate", subject="account-1", candidate_id="cand-1")
CRITERION = "1.A4.C7.E4"
PACK = "b1_bias_mitigation@1.0.0"
WHY = "Le document ne propose aucune mesure d'atténuation des risques identifiés."


def grade(
    client: TestClient,
    ctx: ServiceContext,
    *,
    outcome: str = "validated",
    accuracy: float = 0.86,
    policy: JuryPolicy | None = None,
    candidate: str = "cand-1",
) -> dict[str, Any]:
    """Hand in work for 1.EV3 and apply grading-compute's grading.completed.v2 the way the consumer does."""
    headers = auth("candidate", subject=f"account-{candidate}", candidate_id=candidate)
    submitted = client.post(
        f"/candidates/{candidate}/submissions",
        data={"evaluation_id": "1.EV3", "pack_id": "b1_bias_mitigation"},
        files={"file": ("solution.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")},
        headers=headers,
    ).json()
    data = {
        "submission_id": submitted["id"],
        "candidate_id": candidate,
        "pack_id": "b1_bias_mitigation",
        "pack_version": "1.0.0",
        "dataset_seed": 4242,
        "submission_digest": submitted["digest"],
        "criteria": [
            {
                "criterion_id": CRITERION,
                "verdict": outcome,
                "metric": "accuracy",
                "value": accuracy,
                "threshold": 0.8,
                "comparator": ">=",
                "explanation": f"accuracy = {accuracy:.4f} (attendu >= 0.8)",
            }
        ],
        "metrics": {"accuracy": accuracy, "demographic_parity_difference": 0.21},
        "duration_s": 1.0,
        "completed_at": utcnow().isoformat(),
    }
    contract(ev.GRADING_COMPLETED_V2).validate(data)
    apply(
        ctx,
        CloudEvent(type=ev.GRADING_COMPLETED_V2, source="/certifia/grading", subject=candidate, data=data),
        policy,
    )
    return dict(submitted)


def pending(client: TestClient, **query: str) -> list[dict[str, Any]]:
    response = client.get("/proposals", params=query, headers=JURY)
    assert response.status_code == 200, response.text
    return list(response.json())


def review(client: TestClient, proposal_id: str, headers: dict[str, str] = JURY, **body: Any) -> Any:
    return client.post(f"/proposals/{proposal_id}/review", json=body, headers=headers)


def types(ctx: ServiceContext) -> list[str]:
    return [e.type for e in outbox_events(ctx)]


def problem(response: Any, status: int, type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(type), body
    body["field"] = body["errors"][0]["field"] if body.get("errors") else None  # the input at fault
    return body


def test_a_1ev3_verdict_is_a_pending_proposal_with_its_evidence_and_no_decision(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    submitted = grade(client, ctx)
    assert client.get("/candidates/cand-1/decisions", headers=OWN).json() == []
    assert ev.CRITERION_VALIDATED not in types(ctx) and types(ctx)[-1] == ev.VERDICT_PROPOSED
    [proposal] = pending(client, evaluation_id="1.EV3", candidate_id="cand-1")
    assert proposal["criterion_id"] == CRITERION and proposal["proposed_outcome"] == "validated"
    assert (proposal["policy"], proposal["policy_version"]) == ("jury_confirms", "1.0.0")
    assert proposal["review_reasons"] == ["jury_confirms"] and proposal["grader"] == PACK
    evidence = proposal["evidence"]
    assert evidence["submission_digest"] == submitted["digest"] and evidence["pack_version"] == "1.0.0"
    assert evidence["metrics"]["demographic_parity_difference"] == 0.21  # exact, for staff
    assert evidence["explanation"] == "accuracy = 0.8600 (attendu >= 0.8)"
    [proposed] = outbox_events(ctx, ev.VERDICT_PROPOSED)
    assert proposed.data["proposal_id"] == proposal["id"] and proposed.data["policy_version"] == "1.0.0"
    # the candidate sees it under jury review, without the proposed outcome or any metric
    progress = client.get("/candidates/cand-1/progress", headers=OWN).json()
    [waiting] = progress["under_jury_review"]
    assert waiting["status"] == "under jury review" and waiting["criterion_id"] == CRITERION
    assert "proposed_outcome" not in waiting and "metrics" not in waiting and "evidence" not in waiting
    assert pending(client, evaluation_id="2.EV1") == [] and pending(client, status="decided") == []


def test_a_jury_confirm_validates_the_criterion_in_the_jury_members_name(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx)
    [proposal] = pending(client)
    before = len(types(ctx))
    confirmed = review(client, proposal["id"], action="confirm", comment="Stratégie lue, conforme.")
    assert confirmed.status_code == 200, confirmed.text
    assert (
        confirmed.json()["status"] == "decided" and confirmed.json()["reviews"][0]["reviewed_by"] == "jury-1"
    )
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert (decision["outcome"], decision["decided_by"], decision["decided_by_role"]) == (
        "validated",
        "jury-1",
        "jury",
    )
    assert (decision["proposed_by"], decision["policy"]) == (PACK, "jury_confirms")
    assert decision["comment"].startswith(f"Confirms the automated proposal of {PACK}")
    assert decision["id"] == confirmed.json()["decision_id"]
    received = client.get(f"/submissions/{proposal['submission_id']}", headers=JURY).json()["received_at"]
    assert decision["earned_at"] == received  # earned when the work was handed in, not when confirmed
    new = types(ctx)[before:]  # the usual cascade (A4-C7 has this one criterion), then the review
    assert new == [ev.CRITERION_VALIDATED, ev.COMPETENCY_VALIDATED, ev.VERDICT_REVIEWED]
    [reviewed] = outbox_events(ctx, ev.VERDICT_REVIEWED)
    assert reviewed.data["decision_id"] == decision["id"] and reviewed.data["reviewed_by"] == "jury-1"
    assert client.get("/candidates/cand-1/progress", headers=OWN).json()["under_jury_review"] == []
    # the same review again: 200, nothing new; anything else: 409 naming the decision
    after = len(types(ctx))
    again = review(client, proposal["id"], action="confirm", comment="Stratégie lue, conforme.")
    assert again.status_code == 200 and len(types(ctx)) == after
    other = problem(review(client, proposal["id"], JURY_2, action="confirm"), 409, "proposal-already-decided")
    assert other["decision_id"] == decision["id"] and decision["id"] in other["detail"]
    problem(
        review(client, proposal["id"], action="override", outcome="rejected", comment=WHY),
        409,
        "already-reviewed",
    )
    assert len(types(ctx)) == after


def test_an_override_rejects_the_criterion_and_must_say_why(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx)
    [proposal] = pending(client)
    assert (
        problem(
            review(client, proposal["id"], action="override", outcome="rejected", comment="non"),
            422,
            "invalid-review",
        )["field"]
        == "comment"
    )
    assert (
        problem(
            review(client, proposal["id"], action="override", outcome="validated", comment=WHY),
            422,
            "invalid-review",
        )["field"]
        == "outcome"
    )
    assert (
        problem(review(client, proposal["id"], action="override", comment=WHY), 422, "invalid-review")[
            "field"
        ]
        == "outcome"
    )
    assert (
        problem(review(client, proposal["id"], action="confirm", outcome="rejected"), 422, "invalid-review")[
            "field"
        ]
        == "outcome"
    )
    assert problem(
        review(client, proposal["id"], action="second_opinion", outcome="rejected", comment=WHY),
        409,
        "second-opinion-not-expected",
    )
    overridden = review(client, proposal["id"], JURY_2, action="override", outcome="rejected", comment=WHY)
    assert overridden.status_code == 200, overridden.text
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert (decision["outcome"], decision["decided_by"]) == ("rejected", "jury-2")
    assert decision["comment"] == (
        f"Overrides the automated proposal of {PACK} (validated -> rejected): {WHY} — automated grading: "
        "accuracy = 0.8 (attendu >= 0.8)"  # rounded to the threshold's precision, as the candidate reads it
    )
    [reviewed] = outbox_events(ctx, ev.VERDICT_REVIEWED)
    assert (reviewed.data["action"], reviewed.data["outcome"]) == ("override", "rejected")
    assert ev.CRITERION_REJECTED in types(ctx)


def test_only_a_jury_member_reviews_officers_and_admins_read(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx)
    [proposal] = pending(client)
    assert client.get(f"/proposals/{proposal['id']}", headers=OFFICER).json()["id"] == proposal["id"]
    for who in (OFFICER, auth("admin", subject="admin-1"), OWN, auth("lms", client_id="moodle")):
        assert review(client, proposal["id"], who, action="confirm").status_code == 403
        assert (
            client.post(
                "/proposals/reviews", json={"proposal_ids": [proposal["id"]]}, headers=who
            ).status_code
            == 403
        )
    problem(review(client, "no-such-proposal", action="confirm"), 404, "not-found")
    assert pending(client)[0]["status"] == "pending"


def test_bulk_confirm_is_all_or_nothing(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    for cid in ("cand-1", "cand-2", "cand-3"):
        enrol(cid)
        grade(client, ctx, candidate=cid)
    ids = [p["id"] for p in pending(client)]
    assert len(ids) == 3
    # one decided by another jury member refuses the batch, naming it; the others stay pending
    assert review(client, ids[2], JURY_2, action="confirm").status_code == 200
    refused = client.post("/proposals/reviews", json={"proposal_ids": ids, "comment": "lu"}, headers=JURY)
    assert problem(refused, 409, "proposal-already-decided")["proposal_id"] == ids[2]
    unknown = client.post("/proposals/reviews", json={"proposal_ids": [ids[0], "nope"]}, headers=JURY)
    assert unknown.status_code == 404
    assert [p["id"] for p in pending(client)] == ids[:2]
    too_many = client.post("/proposals/reviews", json={"proposal_ids": ["p"] * 201}, headers=JURY)
    assert too_many.status_code == 422
    done = client.post("/proposals/reviews", json={"proposal_ids": ids[:2], "comment": "lu"}, headers=JURY)
    assert done.status_code == 200, done.text
    assert done.json()["confirmed"] == 2 and pending(client) == []
    for cid in ("cand-1", "cand-2"):
        [decision] = client.get(f"/candidates/{cid}/decisions", headers=JURY).json()
        assert (decision["decided_by"], decision["outcome"]) == ("jury-1", "validated")
    again = client.post("/proposals/reviews", json={"proposal_ids": ids[:2], "comment": "lu"}, headers=JURY)
    assert again.status_code == 200 and again.json()["confirmed"] == 0


def test_second_reader_agreeing_records_the_decision_in_the_readers_name(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx, policy=policy_for_1ev3(policy="second_reader"))
    [proposal] = pending(client)
    assert proposal["policy"] == "second_reader" and proposal["policy_version"] == "9.9.9"
    problem(review(client, proposal["id"], action="confirm"), 409, "second-opinion-required")
    agreed = review(client, proposal["id"], action="second_opinion", outcome="validated", comment="Lu")
    assert agreed.status_code == 200 and agreed.json()["status"] == "decided"
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert (decision["decided_by"], decision["policy"]) == ("jury-1", "second_reader")
    assert decision["comment"].startswith(f"Second reader agrees with the automated proposal of {PACK}")


def test_second_reader_disagreeing_escalates_to_another_jury_member(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx, policy=policy_for_1ev3(policy="second_reader"))
    [proposal] = pending(client)
    problem(
        review(client, proposal["id"], action="second_opinion", outcome="rejected", comment="non"),
        422,
        "invalid-review",
    )
    escalated = review(client, proposal["id"], action="second_opinion", outcome="rejected", comment=WHY)
    assert escalated.status_code == 200 and escalated.json()["status"] == "escalated"
    [reviewed] = outbox_events(ctx, ev.VERDICT_REVIEWED)
    assert reviewed.data["decision_id"] is None and reviewed.data["action"] == "second_opinion"
    assert client.get("/candidates/cand-1/decisions", headers=OWN).json() == []
    assert pending(client) == [] and [p["id"] for p in pending(client, status="escalated")] == [
        proposal["id"]
    ]
    # the reader may not decide it too; a second opinion is not asked twice
    problem(
        review(client, proposal["id"], action="override", outcome="rejected", comment=WHY),
        409,
        "already-reviewed",
    )
    problem(
        review(client, proposal["id"], JURY_2, action="second_opinion", outcome="rejected", comment=WHY),
        409,
        "second-opinion-not-expected",
    )
    decided = review(client, proposal["id"], JURY_2, action="override", outcome="rejected", comment=WHY)
    assert decided.status_code == 200 and decided.json()["status"] == "decided"
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert (decision["outcome"], decision["decided_by"]) == ("rejected", "jury-2")


def test_an_implausible_accuracy_is_flagged_even_under_automated_final(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    final = policy_for_1ev3(policy="automated_final", plausible={"accuracy": {"max": 0.98}})
    grade(client, ctx, policy=final, accuracy=0.9)  # plausible: today's path, decided by the grader
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert decision["decided_by_role"] == "grading"
    assert (decision["proposed_by"], decision["policy"]) == (PACK, "automated_final")
    enrol("cand-2")
    grade(client, ctx, policy=final, accuracy=1.0, candidate="cand-2")  # rebuilt labels
    assert client.get("/candidates/cand-2/decisions", headers=JURY).json() == []
    [proposal] = pending(client, candidate_id="cand-2")
    assert (proposal["policy"], proposal["review_reasons"]) == ("automated_final", ["implausible"])
    assert proposal["evidence"]["plausible"] == {"accuracy": {"min": None, "max": 0.98}}
    confirmed = review(client, proposal["id"], action="override", outcome="rejected", comment=WHY)
    assert confirmed.status_code == 200, confirmed.text


def test_the_shipped_policy_flags_1ev3_at_accuracy_1(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx, accuracy=1.0)
    [proposal] = pending(client)
    assert proposal["review_reasons"] == ["jury_confirms", "implausible"]


def test_a_replayed_grading_completed_adds_nothing(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx)
    [event] = [e for e in outbox_events(ctx) if e.type == ev.VERDICT_PROPOSED]
    [first] = pending(client)
    submission = client.get(f"/submissions/{first['submission_id']}", headers=JURY).json()
    replay = CloudEvent(
        type=ev.GRADING_COMPLETED_V2, source="/certifia/grading", subject="cand-1", data=submission["report"]
    )
    before = types(ctx)
    apply(ctx, replay)
    assert types(ctx) == before and pending(client) == [first]
    assert event.data["proposal_id"] == first["id"]


def test_another_lms_cannot_see_the_proposals_of_a_candidate(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")  # enrolled by moodle (certifia_shared.testing.enrolled_event)
    grade(client, ctx)
    [proposal] = pending(client)
    other = auth("lms", subject="lms-other-sa", client_id="lms-other")
    owner = auth("lms", subject="demo-lms-sa", client_id="moodle")
    for lms in (other, owner):  # staff only, exact metrics included
        assert client.get("/proposals", params={"candidate_id": "cand-1"}, headers=lms).status_code == 403
        assert client.get(f"/proposals/{proposal['id']}", headers=lms).status_code == 403
    assert client.get("/candidates/cand-1/progress", headers=other).status_code == 404
    seen = client.get("/candidates/cand-1/progress", headers=owner).json()["under_jury_review"]
    assert [p["proposal_id"] for p in seen] == [proposal["id"]] and "evidence" not in seen[0]


def test_the_candidate_sees_under_jury_review_and_then_who_decided(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    enrol("cand-1")
    grade(client, ctx)
    [proposal] = pending(client)
    [waiting] = client.get("/candidates/cand-1/progress", headers=OWN).json()["under_jury_review"]
    assert waiting["status"] == "under jury review"
    assert client.get("/proposals", headers=OWN).status_code == 403
    assert review(client, proposal["id"], action="confirm").status_code == 200
    progress = client.get("/candidates/cand-1/progress", headers=OWN).json()
    assert progress["under_jury_review"] == []
    bloc1 = next(b for b in progress["blocs"] if b["code"] == "1")
    assert bloc1["criteria_validated"] == 1
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    assert (decision["decided_by"], decision["proposed_by"]) == ("jury-1", PACK)


def test_jury_members_confirming_at_once_record_one_decision(
    client: TestClient, ctx: ServiceContext, enrol: Callable[..., None]
) -> None:
    """The same jury member twice (a double click) and another at the same moment: one decision, one
    verdict.reviewed; the repeat answers 200, the other member 409 naming the decision, never a 500."""
    enrol("cand-1")
    grade(client, ctx)
    [proposal] = pending(client)
    callers = [JURY, JURY, JURY_2, JURY_2, JURY]
    with ThreadPoolExecutor(len(callers)) as pool:
        answers = list(pool.map(lambda h: review(client, proposal["id"], h, action="confirm"), callers))
    assert {r.status_code for r in answers} <= {200, 409}, [r.text[:200] for r in answers]
    [decision] = client.get("/candidates/cand-1/decisions", headers=OWN).json()
    winner = decision["decided_by"]
    for caller, answer in zip(callers, answers, strict=True):
        mine = caller["Authorization"] == (JURY if winner == "jury-1" else JURY_2)["Authorization"]
        assert answer.status_code == (200 if mine else 409), answer.text
    assert len(outbox_events(ctx, ev.VERDICT_REVIEWED)) == 1
    assert len(outbox_events(ctx, ev.CRITERION_VALIDATED)) == 1
