"""VAE jury rulings on a bloc (issue 17, item 3): audited like jury decisions (who, when, comment, evidence),
validated / partially_validated / rejected, one option bloc only, repeats idempotent. Measured before: a VAE
bloc was passed with no comment, no evidence and only the role recorded; 5A and 5B could both be passed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from certifia_assessment.service_layer.events import on_option_chosen
from certifia_shared import event_types as ev
from certifia_shared.contracts import contract
from certifia_shared.envelope import CloudEvent
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, outbox_events

REF = load_referential()
JURY = auth("jury", subject="jury-7")
CID = "vae-1"
COMMENT = "Livret 2 et entretien : les activités du bloc sont maîtrisées en poste depuis trois ans."
EVIDENCE = "VAE-2026-014/livret-2+entretien-2026-11-20"


def rule(client: TestClient, bloc: str, outcome: str | None = None, cid: str = CID, **body: Any) -> Any:
    payload: dict[str, Any] = {"bloc": bloc, "comment": COMMENT, "evidence_reference": EVIDENCE, **body}
    if outcome:
        payload["outcome"] = outcome
    return client.post(f"/candidates/{cid}/vae-decisions", json=payload, headers=JURY)


def problem(response: Any, status: int, type: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://certifia.fr/problems/{type}", body
    if field:
        assert [e["field"] for e in body["errors"]] == [field], body
    return body


def test_a_validation_is_recorded_in_the_jury_members_name_with_its_comment_and_evidence(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    response = rule(client, "2", "validated")
    assert response.status_code == 201, response.text
    body = response.json()
    decision = body["decision"]
    assert (body["bloc_passed"], body["via"]) == (True, "vae")
    assert (decision["decided_by"], decision["decided_by_role"]) == ("jury-7", "jury")
    assert (decision["comment"], decision["evidence_reference"]) == (COMMENT, EVIDENCE)
    [decided] = outbox_events(ctx, ev.VAE_DECIDED)
    contract(ev.VAE_DECIDED).validate(decided.data)
    assert decided.subject == CID
    assert decided.data["decision_id"] == decision["id"] and decided.data["outcome"] == "validated"
    assert decided.data["competencies_validated"] == [c.id for c in REF.bloc("2").competencies]
    assert (decided.data["decided_by"], decided.data["evidence_reference"]) == ("jury-7", EVIDENCE)
    [passed] = outbox_events(ctx, ev.BLOC_PASSED)
    contract(ev.BLOC_PASSED).validate(passed.data)
    assert passed.data["via"] == "vae" and passed.data["earned_at"] == decided.data["decided_at"]
    [audited] = [
        e for e in client.get(f"/candidates/{CID}/audit", headers=JURY).json() if e["kind"] == "vae_decision"
    ]
    assert (audited["account"], audited["evidence_reference"], audited["reason"]) == (
        "jury-7",
        EVIDENCE,
        COMMENT,
    )
    # the same ruling again records nothing
    again = rule(client, "2", "validated")
    assert again.status_code == 200 and again.json()["decision"]["id"] == decision["id"]
    assert len(outbox_events(ctx)) == 2


def test_a_ruling_needs_a_comment_of_20_characters_and_an_evidence_reference(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    post = client.post
    url = f"/candidates/{CID}/vae-decisions"
    problem(
        post(url, json={"bloc": "1", "evidence_reference": EVIDENCE}, headers=JURY),
        422,
        "validation",
        "comment",
    )
    short = {"bloc": "1", "comment": "trop court", "evidence_reference": EVIDENCE}
    problem(post(url, json=short, headers=JURY), 422, "validation", "comment")
    blank = {"bloc": "1", "comment": " " * 30, "evidence_reference": EVIDENCE}
    problem(post(url, json=blank, headers=JURY), 422, "validation", "comment")
    problem(
        post(url, json={"bloc": "1", "comment": COMMENT}, headers=JURY),
        422,
        "validation",
        "evidence_reference",
    )
    no_ref = {"bloc": "1", "comment": COMMENT, "evidence_reference": ""}
    problem(post(url, json=no_ref, headers=JURY), 422, "validation", "evidence_reference")
    assert outbox_events(ctx) == []


def test_a_partial_validation_validates_the_competencies_named_and_the_bloc_once_complete(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    competencies = REF.bloc("4").competencies
    first = rule(client, "4", "partially_validated", competencies=[competencies[0].code, competencies[1].id])
    assert first.status_code == 201, first.text
    assert first.json()["bloc_passed"] is False and first.json()["passed_at"] is None
    validated = outbox_events(ctx, ev.COMPETENCY_VALIDATED)
    assert [e.data["competency_id"] for e in validated] == [competencies[0].id, competencies[1].id]
    for e in validated:
        contract(ev.COMPETENCY_VALIDATED).validate(e.data)
    assert outbox_events(ctx, ev.BLOC_PASSED) == []
    rest = [c.id for c in competencies[1:]]  # the second again: validated once
    second = rule(client, "4", "partially_validated", competencies=rest)
    assert second.status_code == 201 and second.json()["bloc_passed"] is True
    assert len(outbox_events(ctx, ev.COMPETENCY_VALIDATED)) == len(competencies)
    [passed] = outbox_events(ctx, ev.BLOC_PASSED)
    assert passed.data["via"] == "vae"
    decided = outbox_events(ctx, ev.VAE_DECIDED)
    assert [d.data["outcome"] for d in decided] == ["partially_validated", "partially_validated"]
    assert client.get(f"/candidates/{CID}/progress", headers=JURY).json()["blocs_passed"] == ["4"]


def test_competencies_must_fit_the_ruling(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    body = problem(
        rule(client, "4", "partially_validated", competencies=["A9-C9"]),
        422,
        "vae-competencies",
        "competencies",
    )
    assert "A9-C9" in body["detail"] and "/referential/blocs/4" in body["detail"]
    problem(
        rule(client, "4", "partially_validated", competencies=["1.A1.C1"]),
        422,
        "vae-competencies",
        "competencies",
    )
    problem(rule(client, "4", "partially_validated"), 422, "vae-competencies", "competencies")
    problem(rule(client, "4", "validated", competencies=["A1-C1"]), 422, "vae-competencies", "competencies")
    assert outbox_events(ctx) == []


def test_a_rejection_validates_nothing_and_a_repeat_is_idempotent(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    first = rule(client, "3", "rejected")
    assert first.status_code == 201 and first.json()["bloc_passed"] is False
    assert first.json()["decision"]["outcome"] == "rejected"
    assert [e.type for e in outbox_events(ctx)] == [ev.VAE_DECIDED]
    again = rule(client, "3", "rejected")
    assert again.status_code == 200 and again.json()["decision"]["id"] == first.json()["decision"]["id"]
    # new evidence, a new ruling
    later = rule(client, "3", "validated", evidence_reference="VAE-2026-014/complement")
    assert later.status_code == 201 and later.json()["bloc_passed"] is True
    assert [e.type for e in outbox_events(ctx)] == [ev.VAE_DECIDED, ev.VAE_DECIDED, ev.BLOC_PASSED]


def test_a_passed_bloc_cannot_be_rejected_afterwards(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    assert rule(client, "1").status_code == 201
    body = problem(rule(client, "1", "rejected"), 409, "bloc-already-passed", "outcome")
    assert "a pass is final" in body["detail"]
    assert len(outbox_events(ctx, ev.VAE_DECIDED)) == 1


def test_only_one_option_bloc_can_be_passed(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    assert rule(client, "5A").status_code == 201
    body = problem(rule(client, "5B"), 409, "other-option-bloc", "bloc")
    assert (body["option_bloc"], body["because"]) == ("5A", "passed")
    problem(
        rule(client, "5B", "partially_validated", competencies=["A1-C1"]), 409, "other-option-bloc", "bloc"
    )
    # chosen in enrolment: the other option bloc is refused before anything is passed
    enrol("vae-2", "vae")
    chosen = CloudEvent(
        type=ev.OPTION_CHOSEN,
        source="/certifia/enrolment",
        subject="vae-2",
        data={"candidate_id": "vae-2", "option": "5B", "chosen_at": "2026-10-01T08:00:00+00:00"},
    )
    with ctx.uow() as uow:
        on_option_chosen(chosen, uow)
        uow.commit()
    body = problem(rule(client, "5A", cid="vae-2"), 409, "other-option-bloc", "bloc")
    assert (body["option_bloc"], body["because"]) == ("5B", "chosen") and "5B" in body["detail"]
    assert rule(client, "5B", cid="vae-2").status_code == 201
    assert [e.data["bloc"] for e in outbox_events(ctx, ev.BLOC_PASSED)] == ["5A", "5B"]
