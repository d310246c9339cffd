"""A candidate's whole audit trail in one call, thesis included (issue 17, item 8): the thesis service's events
(defence scheduled, outcome recorded, defence appeal opened and resolved, defence cancelled) land in
assessment's audit trail beside its own decisions, oldest first, with who did it; a replayed event adds
nothing; an event about a candidate assessment does not know yet is a gap (retried), not a lost line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from certifia_assessment.adapters.orm import thesis_audit
from certifia_assessment.service_layer.events import UnknownCandidate, event_handlers
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext
from certifia_shared.testing import auth

JURY = auth("jury", subject="jury-1")
OFFICER = auth("officer", subject="officer-1")
OWN = auth("candidate", subject="account-1", candidate_id="cand-1")
GROUNDS = "Le jury a noté un chapitre que le règlement de soutenance excluait."
REASONING = "Le procès-verbal confirme l'erreur de barème : recours fondé, soutenance annulée."
NOW = utcnow()


def _thesis_event(type: str, data: dict[str, Any], *, hours: int) -> CloudEvent:
    time = (NOW + timedelta(hours=hours)).isoformat()
    return CloudEvent(type=type, source="/certifia/thesis", subject="cand-1", data=data, time=time)


def _at(hours: int) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


def scheduled(defence_id: str = "def-1", *, hours: int = 1) -> CloudEvent:
    jury = [{"name": "Pr Durand", "role": "president"}, {"name": "Dr Martin", "role": "member"}]
    data = {
        "candidate_id": "cand-1",
        "defence_id": defence_id,
        "deposit_id": "dep-1",
        "scheduled_at": _at(hours + 200),
        "location": "Salle B204",
        "jury": jury,
        "scheduled_by": "officer-1",
    }
    return _thesis_event(ev.DEFENCE_SCHEDULED, data, hours=hours)


def defended(**extra: Any) -> CloudEvent:
    data = {
        "defence_id": "def-1",
        "candidate_id": "cand-1",
        "mission_id": "mis-1",
        "outcome": "failed",
        "grade": 8,
        "jury": ["Pr Durand", "Dr Martin"],
        "defended_at": _at(2),
        "recorded_by": "jury-2",
        **extra,
    }
    return _thesis_event(ev.THESIS_DEFENDED, data, hours=3)


def appeal_opened() -> CloudEvent:
    data = {
        "appeal_id": "tap-1",
        "candidate_id": "cand-1",
        "defence_id": "def-1",
        "grounds": GROUNDS,
        "opened_by": "account-1",
        "opened_by_role": "candidate",
        "opened_at": _at(4),
    }
    return _thesis_event(ev.DEFENCE_APPEAL_OPENED, data, hours=4)


def appeal_resolved() -> CloudEvent:
    data = {
        "appeal_id": "tap-1",
        "candidate_id": "cand-1",
        "defence_id": "def-1",
        "outcome": "upheld",
        "reasoning": REASONING,
        "resolved_by": "officer-2",
        "resolved_by_role": "officer",
        "resolved_at": _at(5),
        "defence_annulled": True,
    }
    return _thesis_event(ev.DEFENCE_APPEAL_RESOLVED, data, hours=5)


def cancelled() -> CloudEvent:
    data = {
        "defence_id": "def-2",
        "candidate_id": "cand-1",
        "scheduled_at": _at(300),
        "reason": "candidate_withdrawn",
        "cancelled_at": _at(7),
        "cancelled_by": "account-1",
    }
    return _thesis_event(ev.DEFENCE_CANCELLED, data, hours=7)


def _record(event: CloudEvent, offset: int) -> Any:
    """A Kafka record of certifia.thesis as the consumer reads it (no broker)."""
    return SimpleNamespace(
        topic=ev.TOPIC_THESIS,
        partition=0,
        offset=offset,
        key=event.subject.encode(),
        headers=event.kafka_headers(),
        value=event.kafka_value(),
    )


def _deliver(ctx: ServiceContext, *events: CloudEvent) -> None:
    consumer = ctx.runtime.consumer
    assert consumer is not None and ev.TOPIC_THESIS in consumer.topics
    for offset, event in enumerate(events):
        consumer.process(_record(event, offset))


def _rows(ctx: ServiceContext) -> int:
    with ctx.sessions() as session:
        return int(session.execute(select(func.count()).select_from(thesis_audit)).scalar_one())


def test_the_trail_shows_decisions_and_the_defence_in_order_with_their_accounts(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol("cand-1")
    rejection = client.post(
        "/candidates/cand-1/decisions",
        json={"criterion_id": "2.A1.C1.E1", "outcome": "rejected", "comment": "le nettoyage manque"},
        headers=JURY,
    ).json()
    # thesis delivers out of order on purpose: the trail is sorted by when each thing happened
    _deliver(ctx, scheduled(), defended(), appeal_resolved(), appeal_opened(), scheduled("def-2", hours=6))
    _deliver(ctx, cancelled())

    trail = client.get("/candidates/cand-1/audit", headers=OFFICER).json()
    assert [(e["kind"], e["account"], e["role"], e["outcome"]) for e in trail] == [
        ("decision", "jury-1", "jury", "rejected"),
        ("defence_scheduled", "officer-1", None, f"scheduled_for {_at(201)}"),
        ("defence_outcome", "jury-2", None, "failed"),
        ("defence_appeal_opened", "account-1", "candidate", None),
        ("defence_appeal_resolved", "officer-2", "officer", "upheld"),
        ("defence_scheduled", "officer-1", None, f"scheduled_for {_at(206)}"),
        ("defence_cancelled", "account-1", None, None),
    ]
    assert [e["at"] for e in trail] == sorted(e["at"] for e in trail)
    assert trail[0]["ref"] == rejection["id"] and trail[0]["grade"] is None
    outcome, opened, resolved, cancel = trail[2], trail[3], trail[4], trail[6]
    assert (outcome["grade"], outcome["ref"], outcome["defence_id"]) == (8, "def-1", "def-1")
    assert (opened["reason"], opened["ref"], opened["defence_id"]) == (GROUNDS, "tap-1", "def-1")
    assert (resolved["reason"], resolved["ref"], resolved["defence_id"]) == (REASONING, "tap-1", "def-1")
    assert (cancel["reason"], cancel["defence_id"]) == ("candidate_withdrawn", "def-2")
    # the candidate reads theirs, the same; the tenancy rule is the route's as before
    assert client.get("/candidates/cand-1/audit", headers=OWN).json() == trail
    other = auth("candidate", subject="account-2", candidate_id="cand-2")
    assert client.get("/candidates/cand-1/audit", headers=other).status_code == 403


def test_a_replayed_thesis_event_adds_nothing(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol("cand-1")
    event = defended()
    _deliver(ctx, event, event)  # redelivered: the consumer's inbox skips it
    handle = event_handlers(load_referential())[ev.THESIS_DEFENDED]
    with ctx.uow() as uow:  # replayed past the inbox (a dead letter replayed, a rebuilt inbox)
        handle(event, uow)
        handle(event, uow)
        uow.commit()
    assert _rows(ctx) == 1
    trail = client.get("/candidates/cand-1/audit", headers=OFFICER).json()
    assert [e["kind"] for e in trail] == ["defence_outcome"]


def test_an_outcome_written_before_recorded_by_existed_names_no_account(
    client: TestClient, enrol: Callable[..., None], ctx: ServiceContext
) -> None:
    enrol("cand-1")
    old = defended()
    del old.data["recorded_by"]
    _deliver(ctx, old)
    [entry] = client.get("/candidates/cand-1/audit", headers=OFFICER).json()
    assert (entry["kind"], entry["account"], entry["outcome"], entry["grade"]) == (
        "defence_outcome",
        None,
        "failed",
        8,
    )


def test_a_thesis_event_for_a_candidate_not_known_yet_is_a_gap_and_records_nothing(
    client: TestClient, ctx: ServiceContext
) -> None:
    handle = event_handlers(load_referential())[ev.DEFENCE_APPEAL_OPENED]
    with ctx.uow() as uow, pytest.raises(UnknownCandidate):
        handle(appeal_opened(), uow)  # enrolled comes on another topic: retried, then dead-lettered
    assert _rows(ctx) == 0
