"""Every candidate-scoped route of assessment, called by every kind of caller (certifia_shared.tenancy_matrix):
an LMS reaches only the candidates it enrolled (measured before: another LMS read decisions, progress,
submissions and appeals, and submitted work that was graded), a candidate only themself, staff everyone."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi.testclient import TestClient

from certifia_assessment.service_layer.events import grading_handlers, on_candidate_enrolled
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import load_referential
from certifia_shared.tenancy_matrix import Matrix, assert_holds
from certifia_shared.testing import auth, enrolled_event, outbox_events

from ..conftest import ctx_of

REF = load_referential()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("solution.py", "print(1)\n")
    return buffer.getvalue()


def test_the_tenancy_rule_holds_on_every_candidate_scoped_route(client: TestClient) -> None:
    with ctx_of(client).uow() as uow:
        on_candidate_enrolled(enrolled_event("cand-1", lms_client="lms-a"), uow)
        uow.commit()
    own = auth("candidate", subject="account-self", candidate_id="cand-1")
    jury = auth("jury", subject="jury-1")
    decision = client.post(
        "/candidates/cand-1/decisions",
        headers=jury,
        json={"criterion_id": "2.A1.C1.E1", "outcome": "rejected", "comment": "incomplet"},
    ).json()
    appeal = client.post(
        "/candidates/cand-1/appeals",
        headers=own,
        json={
            "decision_id": decision["id"],
            "grounds": "Le jeu de test caché contenait des doublons interdits.",
        },
    ).json()
    submission = client.post(
        "/candidates/cand-1/submissions",
        data={"evaluation_id": "2.EV1"},
        files={"file": ("solution.zip", _zip(), "application/zip")},
        headers=own,
    ).json()
    proposal = _proposal_of(client, submission)
    matrix = Matrix(
        client,
        candidate_id="cand-1",
        owner_lms="lms-a",
        resources={"submission_id": submission["id"], "appeal_id": appeal["id"], "proposal_id": proposal},
        not_candidate_scoped={"/referential/blocs/{code}", "/referential/{kind}/{global_id}"},
    )
    assert_holds(matrix)


def _proposal_of(client: TestClient, submission: dict[str, Any]) -> str:
    """Grade the submission (2.EV1 is under jury review: jury_policy.yaml) and return its proposal's id."""
    verdict = {
        "criterion_id": "2.A1.C1.E1",
        "verdict": "validated",
        "metric": "imputation_nrmse",
        "value": 0.1,
        "threshold": 0.2,
        "comparator": "<=",
        "explanation": "imputation_nrmse = 0.1 (attendu <= 0.2)",
    }
    data = {
        "submission_id": submission["id"],
        "candidate_id": "cand-1",
        "pack_id": "b2_data_cleaning",
        "pack_version": "1.1.0",
        "dataset_seed": 7,
        "submission_digest": submission["digest"],
        "criteria": [verdict],
        "completed_at": utcnow().isoformat(),
    }
    event = CloudEvent(type=ev.GRADING_COMPLETED_V2, source="/certifia/grading", subject="cand-1", data=data)
    with ctx_of(client).uow() as uow:
        grading_handlers(REF)[ev.GRADING_COMPLETED_V2](event, uow)
        uow.commit()
    [proposal] = client.get("/proposals", headers=auth("jury")).json()
    return str(proposal["id"])


def test_another_lms_cannot_hand_in_work_for_a_candidate_it_did_not_enrol(client: TestClient) -> None:
    """Measured before: lms-other POSTed a submission for demo-lms's candidate; it was graded and validated
    six criteria. Now it is refused as if the candidate did not exist, and nothing is stored or emitted."""
    with ctx_of(client).uow() as uow:
        on_candidate_enrolled(enrolled_event("cand-1", lms_client="demo-lms"), uow)
        uow.commit()
    response = client.post(
        "/candidates/cand-1/submissions",
        data={"evaluation_id": "2.EV1", "pack_id": "b2_data_cleaning"},
        files={"file": ("solution.zip", _zip(), "application/zip")},
        headers=auth("lms", subject="lms-other-sa", client_id="lms-other"),
    )
    assert response.status_code == 404 and response.json()["title"] == "Candidate not found"
    assert outbox_events(ctx_of(client)) == []
    owner = client.post(
        "/candidates/cand-1/submissions",
        data={"evaluation_id": "2.EV1"},
        files={"file": ("solution.zip", _zip(), "application/zip")},
        headers=auth("lms", subject="demo-lms-sa", client_id="demo-lms"),
    )
    assert owner.status_code == 201, owner.text
