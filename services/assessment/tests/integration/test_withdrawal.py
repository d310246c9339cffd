"""A withdrawn candidate (candidate.withdrawn from enrolment): nothing new is assessed; what was handed in
before still lands. On SQLite and (``-m integration``) PostgreSQL: see the ``client`` fixture."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from certifia_assessment.domain.candidates import UnknownCandidate
from certifia_assessment.service_layer.events import grading_handlers, on_candidate_withdrawn
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.problems import candidate_withdrawn
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth, outbox_events

REF = load_referential()
JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
CID = "cand-w"
ME = auth("candidate", subject="account-w", candidate_id=CID)


def _withdrawn(cid: str = CID) -> CloudEvent:
    data = {
        "candidate_id": cid,
        "withdrawn_at": "2026-11-29T08:00:00+00:00",
        "reason": "départ",
        "withdrawn_by_role": "lms",
    }
    return CloudEvent(type=ev.CANDIDATE_WITHDRAWN, source="/certifia/enrolment", subject=cid, data=data)


def _apply(ctx: ServiceContext, event: CloudEvent) -> None:
    handler = {ev.CANDIDATE_WITHDRAWN: on_candidate_withdrawn, **grading_handlers(REF)}[event.type]
    with ctx.uow() as uow:
        handler(event, uow)
        uow.commit()


def _problem(response: Any, status: int = 409) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("candidate-withdrawn") and "2026-11-29" in body["detail"]
    return body


def test_nothing_new_is_assessed_for_a_withdrawn_candidate(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID)
    rejected = client.post(
        f"/candidates/{CID}/decisions",
        json={"criterion_id": "2.A1.C1.E1", "outcome": "rejected", "comment": "j"},
        headers=JURY,
    )
    assert rejected.status_code == 201
    before = len(outbox_events(ctx))
    _apply(ctx, _withdrawn())
    _apply(ctx, _withdrawn())  # a replay under a new id changes nothing more

    decision = {"criterion_id": "2.A1.C1.E2", "outcome": "validated", "comment": "j"}
    _problem(client.post(f"/candidates/{CID}/decisions", json=decision, headers=JURY))
    files = {"file": ("s.zip", b"PK\x03\x04 archive", "application/zip")}
    _problem(
        client.post(
            f"/candidates/{CID}/submissions", data={"evaluation_id": "2.EV1"}, files=files, headers=ME
        )
    )
    appeal = {"decision_id": rejected.json()["id"], "grounds": "Le jeu de test caché contenait des doublons."}
    _problem(client.post(f"/candidates/{CID}/appeals", json=appeal, headers=ME))
    assert len(outbox_events(ctx)) == before  # nothing emitted
    # the record stays readable
    assert client.get(f"/candidates/{CID}/decisions", headers=ME).status_code == 200


def test_a_vae_jury_cannot_validate_a_bloc_of_a_withdrawn_candidate(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol(CID, "vae")
    _apply(ctx, _withdrawn())
    vae = {"bloc": "1", "comment": "Livret 2 complet et entretien probant.", "evidence_reference": "VAE-1"}
    _problem(client.post(f"/candidates/{CID}/vae-decisions", json=vae, headers=OFFICER))
    assert outbox_events(ctx, ev.BLOC_PASSED) == []


def test_the_withdrawn_candidate_is_answered_as_enrolment_and_thesis_answer(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    """One problem for a withdrawn candidate in every service (enrolment and thesis assert the same): the
    shared type, title and ``withdrawn_at`` extension, and the shared detail."""
    enrol(CID)
    _apply(ctx, _withdrawn())
    decision = {"criterion_id": "2.A1.C1.E1", "outcome": "validated", "comment": "j"}
    body = _problem(client.post(f"/candidates/{CID}/decisions", json=decision, headers=JURY))
    shared = candidate_withdrawn(CID, datetime(2026, 11, 29, 8, tzinfo=UTC)).body(
        f"/candidates/{CID}/decisions"
    )
    assert body == shared
    assert (body["type"], body["title"]) == (
        "https://certifia.fr/problems/candidate-withdrawn",
        "Candidate withdrawn",
    )
    assert body["withdrawn_at"] == "2026-11-29T08:00:00+00:00"


def test_a_withdrawal_before_the_enrolment_is_a_gap_the_consumer_retries(
    client: TestClient, ctx: ServiceContext
) -> None:
    with pytest.raises(UnknownCandidate):
        _apply(ctx, _withdrawn("never-enrolled"))
