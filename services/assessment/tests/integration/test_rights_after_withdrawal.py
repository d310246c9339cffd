"""Rights earned before a withdrawal survive it (issue 17, item 2). Measured before: an appeal opened before a
withdrawal and upheld after it, and a submission handed in before and graded after, passed blocs in assessment,
but bloc.passed carried only the resolution/grading time, so certification issued nothing; and a rejection
decided before the withdrawal could no longer be contested after it (409). On SQLite and (``-m integration``)
PostgreSQL: see the ``client`` fixture."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from certifia_assessment.domain.jury_policy import load_jury_policy
from certifia_assessment.service_layer.events import grading_handlers, on_candidate_withdrawn
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, outbox_events

REF = load_referential()
JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
CID = "cand-r"
ME = auth("candidate", subject="account-r", candidate_id=CID)
GROUNDS = "Le jeu de test caché contenait des doublons que l'énoncé interdisait."
REASONING = "Après revue du rapport, les doublons faussaient la mesure : recours fondé."
# every verdict final as graded, whatever jury_policy.yaml says: this is about time, not about who answers
AUTOMATED = load_jury_policy(
    'version: "test"\ndefault: {human_deliverables: [], otherwise: automated_final}\n', REF
)


def decide(client: TestClient, criterion: str, outcome: str, comment: str = "vu par le jury") -> str:
    body = {"criterion_id": criterion, "outcome": outcome, "comment": comment}
    response = client.post(f"/candidates/{CID}/decisions", json=body, headers=JURY)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def withdraw(ctx: ServiceContext, at: datetime | None = None, **extra: str) -> datetime:
    when = at or utcnow()
    data = {
        "candidate_id": CID,
        "withdrawn_at": when.isoformat(),
        "reason": "Réorientation professionnelle.",
        "withdrawn_by_role": "officer",
        **extra,
    }
    event = CloudEvent(type=ev.CANDIDATE_WITHDRAWN, source="/certifia/enrolment", subject=CID, data=data)
    contract(ev.CANDIDATE_WITHDRAWN).validate(data)
    with ctx.uow() as uow:
        on_candidate_withdrawn(event, uow)
        uow.commit()
    return when


def decided_at(client: TestClient, decision_id: str) -> datetime:
    decisions = client.get(f"/candidates/{CID}/decisions", headers=ME).json()
    [at] = [d["decided_at"] for d in decisions if d["id"] == decision_id]
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def bloc_passed(ctx: ServiceContext) -> dict[str, Any]:
    [passed] = outbox_events(ctx, ev.BLOC_PASSED)
    contract(ev.BLOC_PASSED).validate(passed.data)
    return passed.data


def graded(ctx: ServiceContext, submission: dict[str, Any], criteria: list[str]) -> None:
    verdicts = [
        {
            "criterion_id": c,
            "verdict": "validated",
            "metric": "f1",
            "value": 0.93,
            "threshold": 0.8,
            "comparator": ">=",
            "explanation": f"Validé — {c}. Mesures : f1 = 0.93 (attendu >= 0.8).",
        }
        for c in criteria
    ]
    data = {
        "submission_id": submission["id"],
        "candidate_id": CID,
        "pack_id": "b3_pack",
        "pack_version": "1.0.0",
        "dataset_seed": 7,
        "submission_digest": submission["digest"],
        "criteria": verdicts,
        "metrics": {"f1": 0.93},
        "completed_at": utcnow().isoformat(),
    }
    event = CloudEvent(type=ev.GRADING_COMPLETED_V2, source="/certifia/grading", subject=CID, data=data)
    with ctx.uow() as uow:
        grading_handlers(REF, AUTOMATED)[ev.GRADING_COMPLETED_V2](event, uow)
        uow.commit()


def test_work_handed_in_before_a_withdrawal_and_graded_after_passes_the_bloc_as_earned_before_it(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    evaluation = REF.evaluation("3.EV3")
    graded_criteria = [c.id for c in REF.bloc("3").evaluation_criteria(evaluation)]
    for criterion in REF.bloc("3").criteria:
        if criterion.id not in graded_criteria:
            decide(client, criterion.id, "validated")
    files = {"file": ("work.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")}
    form = {"evaluation_id": evaluation.id, "pack_id": "b3_pack"}
    submission = client.post(f"/candidates/{CID}/submissions", data=form, files=files, headers=ME).json()
    withdrawn_at = withdraw(ctx)

    graded(ctx, submission, graded_criteria)

    passed = bloc_passed(ctx)
    received_at = datetime.fromisoformat(submission["received_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(passed["passed_at"]) > withdrawn_at  # graded after the withdrawal
    assert datetime.fromisoformat(passed["earned_at"]) == received_at < withdrawn_at
    decisions = client.get(f"/candidates/{CID}/decisions", headers=ME).json()
    by_grading = [d for d in decisions if d["submission_id"] == submission["id"]]
    assert len(by_grading) == len(graded_criteria)
    assert all(d["earned_at"] == submission["received_at"] for d in by_grading)


def test_an_appeal_opened_before_a_withdrawal_and_upheld_after_it_is_earned_with_the_rejection(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    *others, last = REF.bloc("3").criteria
    for criterion in others:
        decide(client, criterion.id, "validated")
    rejection = decide(client, last.id, "rejected", "le livrable ne couvre pas la supervision")
    opened = client.post(
        f"/candidates/{CID}/appeals", json={"decision_id": rejection, "grounds": GROUNDS}, headers=ME
    ).json()
    withdrawn_at = withdraw(ctx)

    resolved = client.post(
        f"/appeals/{opened['id']}/resolution",
        json={"outcome": "upheld", "reasoning": REASONING},
        headers=OFFICER,
    )

    assert resolved.status_code == 200, resolved.text
    passed = bloc_passed(ctx)
    assert datetime.fromisoformat(passed["passed_at"]) > withdrawn_at
    assert datetime.fromisoformat(passed["earned_at"]) == decided_at(client, rejection) < withdrawn_at


def test_an_appeal_upheld_before_assessment_learns_of_an_earlier_withdrawal_is_earned_before_it(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    """Measured before (a clean-clone e2e run): the candidate withdrew, opened an appeal on an earlier rejection
    and an officer upheld it before candidate.withdrawn reached assessment; the pass was judged earned at the
    appeal's opening, after the withdrawal, and certification issued no bloc certificate."""
    enrol(CID)
    *others, last = REF.bloc("3").criteria
    for criterion in others:
        decide(client, criterion.id, "validated")
    rejection = decide(client, last.id, "rejected", "le livrable ne couvre pas la supervision")
    withdrawn_at = utcnow()  # enrolment's time; the event is still on its way
    opened = client.post(
        f"/candidates/{CID}/appeals", json={"decision_id": rejection, "grounds": GROUNDS}, headers=ME
    ).json()
    upheld = client.post(
        f"/appeals/{opened['id']}/resolution",
        json={"outcome": "upheld", "reasoning": REASONING},
        headers=OFFICER,
    )
    assert upheld.status_code == 200, upheld.text
    withdraw(ctx, at=withdrawn_at)

    passed = bloc_passed(ctx)
    assert datetime.fromisoformat(opened["opened_at"].replace("Z", "+00:00")) > withdrawn_at
    assert datetime.fromisoformat(passed["earned_at"]) == decided_at(client, rejection) < withdrawn_at


def test_a_rejection_decided_before_a_withdrawal_can_still_be_contested_after_it(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    *others, last = REF.bloc("3").criteria
    for criterion in others:
        decide(client, criterion.id, "validated")
    rejection = decide(client, last.id, "rejected", "le livrable ne couvre pas la supervision")
    withdrawn_at = withdraw(ctx)

    opened = client.post(
        f"/candidates/{CID}/appeals", json={"decision_id": rejection, "grounds": GROUNDS}, headers=ME
    )

    assert opened.status_code == 201, opened.text
    assert [e.data["appeal_id"] for e in outbox_events(ctx, ev.APPEAL_OPENED)] == [opened.json()["id"]]
    upheld = client.post(
        f"/appeals/{opened.json()['id']}/resolution",
        json={"outcome": "upheld", "reasoning": REASONING},
        headers=OFFICER,
    )
    assert upheld.status_code == 200, upheld.text
    # opened after the withdrawal: the right to contest was earned with the rejection, so is the pass
    earned_at = datetime.fromisoformat(bloc_passed(ctx)["earned_at"])
    assert earned_at == decided_at(client, rejection) < withdrawn_at


def test_other_refusals_stay_after_a_withdrawal(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    """A decision taken after the withdrawal's date cannot be contested (nothing new after it); a jury cannot
    decide anything new; and a rejection contested after its window stays refused."""
    enrol(CID)
    rejection = decide(client, "2.A1.C1.E1", "rejected", "incomplet : le nettoyage est absent")
    withdraw(ctx, at=utcnow() - timedelta(days=1))  # dated before the rejection
    refused = client.post(
        f"/candidates/{CID}/appeals", json={"decision_id": rejection, "grounds": GROUNDS}, headers=ME
    )
    assert refused.status_code == 409 and refused.json()["type"].endswith("candidate-withdrawn")
    body = {"criterion_id": "2.A1.C1.E2", "outcome": "validated", "comment": "ok"}
    assert client.post(f"/candidates/{CID}/decisions", json=body, headers=JURY).status_code == 409
    assert outbox_events(ctx, ev.APPEAL_OPENED) == []


def test_the_withdrawal_keeps_who_recorded_it_when_the_event_says(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    withdraw(ctx, withdrawn_by="officer-7")
    [entry] = [
        e for e in client.get(f"/candidates/{CID}/audit", headers=OFFICER).json() if e["kind"] == "withdrawal"
    ]
    assert (entry["account"], entry["role"], entry["reason"]) == (
        "officer-7",
        "officer",
        "Réorientation professionnelle.",
    )
