"""The option freezes once the diploma is issued, and thaws when it is revoked (issue 17, item 8).

Measured before: an option change after the diploma was accepted (200), and certification's progress then
listed ``missing: bloc:5B`` while the 5A diploma still verified. Enrolment now records, from certification's
diploma.issued / diploma.revoked (through its real consumer: contract check, inbox, handler), which diploma
the candidate holds, in the consumer's transaction, and refuses another option while one is in force.
"""

from __future__ import annotations

from typing import Any

from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import func, select

from certifia_enrolment.adapters.orm import candidate_diplomas
from certifia_enrolment.service_layer.webhooks import event_handlers
from certifia_shared import event_types as ev
from certifia_shared.bus import bus
from certifia_shared.consumer import EventConsumer
from certifia_shared.envelope import CloudEvent
from certifia_shared.testing import auth

LMS = auth("lms", subject="moodle-client", client_id="moodle")
OFFICER = auth("officer")
TOPIC = "certifia.certification"
ENROLMENT = {"external_id": "moodle-42", "given_name": "Ada", "family_name": "Lovelace", "email": "a@b.fr"}


def _consumer(app: Any) -> EventConsumer:
    """Enrolment's consumer as bootstrap wires it, with no broker behind it (records are handed to it)."""
    sub = bus().subscriptions["enrolment"]
    return EventConsumer(
        service="enrolment",
        group_id=sub.group,
        topics=list(sub.topics),
        handlers=event_handlers(),
        ignored=sub.ignores,
        uow_factory=app.ctx.uow,
        tables=app.ctx.tables,
        consumer_factory=lambda: None,  # type: ignore[arg-type, return-value]
        producer_factory=lambda: None,  # type: ignore[arg-type, return-value]
    )


def _record(event: CloudEvent, offset: int) -> ConsumerRecord:
    body = event.kafka_value()
    key = event.subject.encode()
    return ConsumerRecord(
        TOPIC, 0, -1, offset, 0, 0, key, body, event.kafka_headers(), None, len(key), len(body), -1
    )


def _issued(cid: str, diploma_id: str = "dip-1", option: str = "5A") -> CloudEvent:
    return CloudEvent(
        type=ev.DIPLOMA_ISSUED,
        source="/certifia/certification",
        subject=cid,
        data={
            "diploma_id": diploma_id,
            "candidate_id": cid,
            "path": "formation",
            "option": option,
            "blocs": ["1", "2", "3", "4", option],
            "thesis_defence_id": "def-1",
            "issued_at": "2026-12-01T10:00:00+00:00",
            "verification_url": f"https://certifia.example/verify/{diploma_id}",
        },
    )


def _revoked(cid: str, diploma_id: str = "dip-1") -> CloudEvent:
    return CloudEvent(
        type=ev.DIPLOMA_REVOKED,
        source="/certifia/certification",
        subject=cid,
        data={
            "diploma_id": diploma_id,
            "candidate_id": cid,
            "reason": "Issued for the wrong option bloc",
            "revoked_at": "2026-12-02T09:00:00+00:00",
            "revoked_by": "officer-1",
            "revoked_by_role": "officer",
        },
    )


def _choose(app: Any, cid: str, option: str) -> Any:
    return app.client.put(f"/candidates/{cid}/option", json={"option": option}, headers=LMS)


def _held(app: Any) -> list[tuple[str, bool]]:
    with app.ctx.sessions() as session:
        rows = session.execute(
            select(candidate_diplomas.c.diploma_id, candidate_diplomas.c.revoked_at.is_not(None))
        ).all()
    return [(r[0], bool(r[1])) for r in rows]


def _enrolled_with_5a(app: Any) -> str:
    cid: str = app.client.post("/candidates", json=ENROLMENT, headers=LMS).json()["id"]
    assert _choose(app, cid, "5A").status_code == 200
    return cid


def test_once_the_diploma_is_issued_another_option_is_409_naming_the_diploma(app: Any) -> None:
    cid = _enrolled_with_5a(app)
    _consumer(app).process(_record(_issued(cid), 0))
    response = _choose(app, cid, "5B")
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/candidate-certified") and problem["title"] == "Candidate certified"
    assert "dip-1" in problem["detail"] and "officer must revoke the diploma first" in problem["detail"]
    assert problem["diploma_id"] == "dip-1" and {e["field"] for e in problem["errors"]} == {"option"}
    assert app.client.get(f"/candidates/{cid}", headers=LMS).json()["option"] == "5A"
    assert len(app.outbox(ev.OPTION_CHOSEN)) == 1  # the 5A choice only
    # the option the diploma was issued for is still answered as before: nothing changes, nothing emitted
    assert _choose(app, cid, "5A").status_code == 200
    assert len(app.outbox(ev.OPTION_CHOSEN)) == 1


def test_a_replayed_diploma_issued_changes_nothing(app: Any) -> None:
    cid = _enrolled_with_5a(app)
    consumer = _consumer(app)
    issued = _issued(cid)
    consumer.process(_record(issued, 0))
    consumer.process(_record(issued, 1))  # redelivered: the inbox skips it
    again = CloudEvent(type=issued.type, source=issued.source, subject=cid, data=issued.data)
    assert consumer.replay(_record(again, 2)) == "applied"  # published twice: a new event id, same diploma
    assert _held(app) == [("dip-1", False)]
    assert consumer.state.dead_lettered == 0
    assert _choose(app, cid, "5B").status_code == 409


def test_after_the_revocation_the_option_changes_and_a_late_replay_does_not_freeze_it_again(app: Any) -> None:
    cid = _enrolled_with_5a(app)
    consumer = _consumer(app)
    issued = _issued(cid)
    consumer.process(_record(issued, 0))
    assert _choose(app, cid, "5B").status_code == 409
    consumer.process(_record(_revoked(cid), 1))
    assert _held(app) == [("dip-1", True)]
    changed = _choose(app, cid, "5B")
    assert changed.status_code == 200, changed.text
    assert changed.json()["option"] == "5B"
    assert [e.data["option"] for e in app.outbox(ev.OPTION_CHOSEN)] == ["5A", "5B"]
    # the old diploma.issued replayed (a new copy, past the inbox): the revoked diploma stays revoked
    late = CloudEvent(type=issued.type, source=issued.source, subject=cid, data=issued.data)
    assert consumer.replay(_record(late, 2)) == "applied"
    assert _held(app) == [("dip-1", True)]
    assert _choose(app, cid, "5A").status_code == 200
    # a new diploma (for 5B this time) freezes it again
    assert _choose(app, cid, "5B").status_code == 200
    consumer.process(_record(_issued(cid, "dip-2", "5B"), 3))
    refused = _choose(app, cid, "5A")
    assert refused.status_code == 409 and refused.json()["diploma_id"] == "dip-2"


def test_a_diploma_is_recorded_in_the_consumers_transaction_and_still_reaches_the_webhooks(app: Any) -> None:
    cid = _enrolled_with_5a(app)
    subscription = app.client.post(
        "/webhooks", json={"url": "https://lms.example.org/hooks", "events": ["diploma.issued"]}, headers=LMS
    ).json()
    consumer = _consumer(app)
    consumer.process(_record(_issued(cid), 0))
    deliveries = app.client.get(f"/webhooks/{subscription['id']}/deliveries", headers=LMS).json()
    assert [d["event"] for d in deliveries] == ["diploma.issued"]
    with app.ctx.sessions() as session:
        inbox = session.execute(select(func.count()).select_from(app.ctx.tables.inbox)).scalar_one()
    assert inbox == 1 and _held(app) == [("dip-1", False)]
