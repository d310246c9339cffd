"""candidate.enrolled through the service's own EventConsumer (no broker: records handed to ``process``).

The inbox makes a redelivered record harmless; a later enrolment event for the same candidate updates
the local copy.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from certifia_shared.envelope import CloudEvent
from certifia_thesis.adapters.orm import candidates


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
