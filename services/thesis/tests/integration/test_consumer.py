"""candidate.enrolled and candidate.withdrawn through the service's own EventConsumer (no broker: records handed to ``process``).

The inbox makes a redelivered record harmless; a later enrolment event for the same candidate updates
the local copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from certifia_shared.envelope import CloudEvent
from certifia_thesis.adapters.orm import candidates
from certifia_thesis.domain.model import WithdrawalOfUnknownCandidate
from certifia_thesis.service_layer.events import candidate_withdrawn


def _record(event: CloudEvent, offset: int) -> Any:
    return SimpleNamespace(
        topic="certifia.enrolment",
        partition=0,
        offset=offset,
        key=event.subject.encode(),
        headers=event.kafka_headers(),
        value=event.kafka_value(),
    )


def test_enrolled_candidates_become_known_once_even_when_redelivered(
    sqlite_app: Any, make_enrolled: Any
) -> None:
    consumer = sqlite_app.ctx.runtime.consumer
    assert consumer is not None and consumer.topics == ["certifia.enrolment"]
    assert sqlite_app.thesis("cand-9").status_code == 404
    event = make_enrolled("cand-9", lms_client="moodle")
    consumer.process(_record(event, 0))
    consumer.process(_record(event, 0))  # at-least-once delivery: the same record again
    assert sqlite_app.count(candidates) == 1
    assert sqlite_app.count(sqlite_app.ctx.tables.inbox) == 1
    thesis = sqlite_app.thesis("cand-9")
    assert thesis.status_code == 200 and thesis.json()["status"] == "no_mission"


def test_a_later_enrolment_event_updates_the_local_copy(sqlite_app: Any, make_enrolled: Any) -> None:
    consumer = sqlite_app.ctx.runtime.consumer
    consumer.process(_record(make_enrolled("cand-9", path="formation"), 0))
    consumer.process(_record(make_enrolled("cand-9", path="vae"), 1))
    assert sqlite_app.count(candidates) == 1
    assert sqlite_app.thesis("cand-9").json()["path"] == "vae"


def test_other_event_types_on_the_topic_are_ignored(sqlite_app: Any) -> None:
    other = CloudEvent(
        type="fr.certifia.enrolment.candidate.option_chosen.v1",
        source="/certifia/enrolment",
        subject="cand-9",
        data={"candidate_id": "cand-9", "option": "5A", "chosen_at": "2026-09-01T10:00:00+00:00"},
    )
    sqlite_app.ctx.runtime.consumer.process(_record(other, 0))
    assert sqlite_app.count(candidates) == 0 and sqlite_app.count(sqlite_app.ctx.tables.inbox) == 0


def _withdrawn(candidate_id: str, at: str) -> CloudEvent:
    return CloudEvent(
        type="fr.certifia.enrolment.candidate.withdrawn.v1",
        source="/certifia/enrolment",
        subject=candidate_id,
        data={
            "candidate_id": candidate_id,
            "withdrawn_at": at,
            "reason": "Raisons personnelles.",
            "withdrawn_by_role": "lms",
        },
    )


def test_candidate_withdrawn_is_recorded_once_the_first_counts(sqlite_app: Any, make_enrolled: Any) -> None:
    sqlite_app.enrol("cand-9")
    with sqlite_app.ctx.uow() as uow:
        candidate_withdrawn(_withdrawn("cand-9", "2026-11-20T10:00:00Z"), uow)
        uow.commit()
    with sqlite_app.ctx.uow() as uow:  # another withdrawal later (or a replay): the first one stays
        candidate_withdrawn(_withdrawn("cand-9", "2026-11-25T10:00:00+01:00"), uow)
        uow.commit()
    thesis = sqlite_app.thesis("cand-9").json()
    assert datetime.fromisoformat(thesis["withdrawn_at"]) == datetime(2026, 11, 20, 10, tzinfo=UTC)
    # a later candidate.enrolled (new details) does not undo the withdrawal
    consumer = sqlite_app.ctx.runtime.consumer
    consumer.process(_record(make_enrolled("cand-9", path="vae"), 5))
    assert sqlite_app.thesis("cand-9").json()["withdrawn_at"] is not None


def test_candidate_withdrawn_through_the_consumer_is_applied_once(sqlite_app: Any) -> None:
    consumer = sqlite_app.ctx.runtime.consumer
    sqlite_app.enrol("cand-9")
    event = _withdrawn("cand-9", "2026-11-20T10:00:00+00:00")
    consumer.process(_record(event, 0))
    consumer.process(_record(event, 0))  # redelivered
    assert sqlite_app.count(sqlite_app.ctx.tables.inbox) == 1
    assert sqlite_app.thesis("cand-9").json()["withdrawn_at"] is not None


def test_candidate_withdrawn_for_an_unknown_candidate_fails_loudly(sqlite_app: Any) -> None:
    with sqlite_app.ctx.uow() as uow, pytest.raises(WithdrawalOfUnknownCandidate, match="cand-404"):
        candidate_withdrawn(_withdrawn("cand-404", "2026-11-20T10:00:00+00:00"), uow)
