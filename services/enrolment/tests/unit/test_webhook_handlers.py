"""The webhook use cases over the fake unit of work (no database): subscriptions, their read models, the
fan-out of consumed events into deliveries, and the delivery worker with a scripted sender."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from certifia_enrolment.domain.model import Candidate
from certifia_enrolment.domain.webhooks import (
    WEBHOOK_EVENTS,
    Attempt,
    Delivery,
    Subscription,
    SubscriptionDeleted,
    UnknownDelivery,
    UnknownSubscription,
    WebhookRefused,
)
from certifia_enrolment.service_layer import views
from certifia_enrolment.service_layer import webhooks as service
from certifia_enrolment.service_layer.webhooks import DeliveryWorker, WebhookPolicy, event_handlers, fan_out
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent, utcnow

from .fakes import FakeEnrolmentUnitOfWork

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
POLICY = WebhookPolicy(retry_seconds=(10, 60), secret_overlap=timedelta(hours=24))
URL = "https://lms.example.org/certifia/hooks"


def _candidate(cid: str = "c-1", lms_client: str = "moodle") -> Candidate:
    return Candidate(
        id=cid,
        lms_client=lms_client,
        external_id=f"ext-{cid}",
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.org",
        path="formation",
        cohort=None,
        enrolled_at=T0,
    )


def _subscribe(uow: FakeEnrolmentUnitOfWork, lms_client: str = "moodle", **changes: Any) -> Subscription:
    fields: dict[str, Any] = {"lms_client": lms_client, "url": URL, "events": None, "description": None}
    return service.subscribe(service.Subscribe(**{**fields, **changes}), uow=uow, policy=POLICY)


def _event(type: str = ev.BLOC_PASSED, candidate_id: str = "c-1", **data: Any) -> CloudEvent:
    return CloudEvent(
        type=type,
        source="/certifia/assessment",
        subject=candidate_id,
        data={"candidate_id": candidate_id, **data},
    )


def _consume(uow: FakeEnrolmentUnitOfWork, event: CloudEvent, handler: Any = fan_out) -> None:
    """As the consumer runs a handler: inside its unit of work, then commit."""
    with uow:
        handler(event, uow)
        uow.commit()


def _deliveries(uow: FakeEnrolmentUnitOfWork) -> list[Delivery]:
    return sorted(uow.webhooks.delivery_rows.values(), key=lambda d: d.subscription_id)


# -- subscriptions ----------------------------------------------------------------------------------
def test_a_subscription_is_stored_active_with_a_fresh_secret_and_every_event_by_default() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow, description="prod")
    assert uow.webhooks.subscription(sub.id) == sub and uow.committed == 1
    assert sub.active and sub.events == ("*",) and sub.secret.startswith("whsec_")
    assert (sub.lms_client, sub.url, sub.description) == ("moodle", URL, "prod")
    assert _subscribe(uow).secret != sub.secret
    assert uow.events() == []  # a subscription is enrolment's own business: no event


def test_a_subscription_keeps_the_events_it_asked_for_each_once() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow, events=["candidate.option_chosen", "bloc.passed", "candidate.option_chosen"])
    assert sub.events == ("bloc.passed", "candidate.option_chosen")


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"url": "http://lms.example.org/hooks"}, "url"), ({"events": ["no.such.event"]}, "events")],
)
def test_a_refused_subscription_stores_nothing(changes: dict[str, Any], field: str) -> None:
    uow = FakeEnrolmentUnitOfWork()
    with pytest.raises(WebhookRefused) as refused:
        _subscribe(uow, **changes)
    assert refused.value.field == field
    assert uow.webhooks.subscription_rows == {} and uow.committed == 0


def _pending(
    uow: FakeEnrolmentUnitOfWork, sub: Subscription, event_id: str, status: str = "pending"
) -> Delivery:
    delivery = Delivery(
        id=f"d-{event_id}",
        subscription_id=sub.id,
        event_id=event_id,
        event_name="bloc.passed",
        candidate_id="c-1",
        status=status,  # type: ignore[arg-type]
        attempts=0 if status == "pending" else 3,
        created_at=T0,
        next_attempt_at=T0 if status == "pending" else None,
        body=b"{}",
    )
    uow.webhooks.delivery_rows[delivery.id] = delivery
    return delivery


def test_unsubscribing_deactivates_and_fails_what_was_pending_but_leaves_the_delivered() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow)
    pending = _pending(uow, sub, "e-1")
    delivered = _pending(uow, sub, "e-2", status="delivered")
    service.unsubscribe(sub.id, uow=uow, lms_client="moodle")
    assert uow.webhooks.subscription(sub.id).active is False  # type: ignore[union-attr]
    cancelled = uow.webhooks.delivery(pending.id)
    assert cancelled is not None and cancelled.status == "failed" and cancelled.next_attempt_at is None
    assert cancelled.last_outcome == "subscription deleted before delivery"
    assert uow.webhooks.delivery(delivered.id) == delivered


def test_another_lms_cannot_see_or_touch_a_subscription_but_staff_can() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow)
    for refused in (
        lambda: views.subscription(sub.id, uow=uow, lms_client="canvas"),
        lambda: service.unsubscribe(sub.id, uow=uow, lms_client="canvas"),
        lambda: service.rotate_secret(sub.id, uow=uow, policy=POLICY, lms_client="canvas"),
        lambda: views.deliveries(sub.id, uow=uow, lms_client="canvas", status=None, limit=10, offset=0),
        lambda: service.retry_delivery(service.RetryDelivery(sub.id, "d-1", "canvas"), uow=uow),
        lambda: views.subscription("nope", uow=uow, lms_client="moodle"),
    ):
        with pytest.raises(UnknownSubscription):
            refused()
    assert uow.webhooks.subscription(sub.id) == sub  # nothing changed
    assert views.subscription(sub.id, uow=uow, lms_client=None) == sub  # staff see every LMS's
    assert views.subscription(sub.id, uow=uow, lms_client="moodle") == sub


def test_the_subscription_list_is_one_lms_or_all() -> None:
    uow = FakeEnrolmentUnitOfWork()
    mine = _subscribe(uow)
    theirs = _subscribe(uow, lms_client="canvas")
    assert views.subscriptions(uow=uow, lms_client="moodle") == [mine]
    assert {s.id for s in views.subscriptions(uow=uow, lms_client=None)} == {mine.id, theirs.id}


def test_rotating_the_secret_keeps_the_old_one_signing_for_the_overlap() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow)
    before = utcnow()
    rotated = service.rotate_secret(sub.id, uow=uow, policy=POLICY, lms_client="moodle")
    assert rotated.secret != sub.secret and rotated.previous_secret == sub.secret
    assert rotated.previous_secret_until is not None
    assert before + timedelta(hours=24) <= rotated.previous_secret_until <= utcnow() + timedelta(hours=24)
    assert uow.webhooks.subscription(sub.id) == rotated
    assert rotated.signing_secrets(utcnow()) == [rotated.secret, sub.secret]


def test_a_deleted_subscription_cannot_be_rotated() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow)
    service.unsubscribe(sub.id, uow=uow, lms_client=None)
    with pytest.raises(SubscriptionDeleted):
        service.rotate_secret(sub.id, uow=uow, policy=POLICY, lms_client="moodle")
    assert uow.webhooks.subscription(sub.id).secret == sub.secret  # type: ignore[union-attr]


def test_a_failed_delivery_is_retried_now_and_a_delivered_one_is_left_alone() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow)
    failed = _pending(uow, sub, "e-1", status="failed")
    delivered = _pending(uow, sub, "e-2", status="delivered")
    before = utcnow()
    again = service.retry_delivery(service.RetryDelivery(sub.id, failed.id, "moodle"), uow=uow)
    assert again.status == "pending" and again.next_attempt_at is not None and again.next_attempt_at >= before
    assert uow.webhooks.delivery(failed.id) == again
    assert service.retry_delivery(service.RetryDelivery(sub.id, delivered.id, None), uow=uow) == delivered


def test_retrying_an_unknown_or_anothers_delivery_is_refused_and_a_deleted_subscriptions_is_409() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow)
    other = _subscribe(uow)
    foreign = _pending(uow, other, "e-9", status="failed")
    for delivery_id in ("nope", foreign.id):
        with pytest.raises(UnknownDelivery) as refused:
            service.retry_delivery(service.RetryDelivery(sub.id, delivery_id, "moodle"), uow=uow)
        assert refused.value.delivery_id == delivery_id
    mine = _pending(uow, sub, "e-1", status="failed")
    service.unsubscribe(sub.id, uow=uow, lms_client="moodle")
    with pytest.raises(SubscriptionDeleted):
        service.retry_delivery(service.RetryDelivery(sub.id, mine.id, "moodle"), uow=uow)
    assert uow.webhooks.delivery(mine.id).status == "failed"  # type: ignore[union-attr]


def test_the_delivery_list_is_newest_first_filtered_and_paginated() -> None:
    uow = FakeEnrolmentUnitOfWork()
    sub = _subscribe(uow)
    old = _pending(uow, sub, "e-1", status="failed")
    new = replace(_pending(uow, sub, "e-2"), created_at=T0 + timedelta(minutes=1))
    uow.webhooks.delivery_rows[new.id] = new
    listed = views.deliveries(sub.id, uow=uow, lms_client="moodle", status=None, limit=10, offset=0)
    assert [d.id for d in listed] == [new.id, old.id]
    assert views.deliveries(sub.id, uow=uow, lms_client=None, status="failed", limit=10, offset=0) == [old]
    assert views.deliveries(sub.id, uow=uow, lms_client="moodle", status=None, limit=1, offset=1) == [old]


# -- fan-out ----------------------------------------------------------------------------------------
def test_an_event_becomes_one_delivery_per_interested_subscription_of_the_candidates_lms() -> None:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    everything = _subscribe(uow)
    wants_it = _subscribe(uow, events=["bloc.passed"])
    _subscribe(uow, events=["candidate.option_chosen"])  # another event
    _subscribe(uow, lms_client="canvas")  # another LMS
    stopped = _subscribe(uow)
    service.unsubscribe(stopped.id, uow=uow, lms_client=None)
    event = _event(bloc="3")
    _consume(uow, event)
    made = _deliveries(uow)
    assert sorted(d.subscription_id for d in made) == sorted([everything.id, wants_it.id])
    for d in made:
        assert (d.event_id, d.event_name, d.candidate_id, d.status, d.attempts) == (
            event.id,
            "bloc.passed",
            "c-1",
            "pending",
            0,
        )
        assert d.next_attempt_at == d.created_at
        body = json.loads(d.body)
        assert body["type"] == "bloc.passed" and body["event_id"] == event.id
        assert body["candidate"] == {"id": "c-1", "external_id": "ext-c-1"}
        assert body["data"] == event.data
    _consume(uow, event)  # redelivered: nothing more
    assert len(uow.webhooks.delivery_rows) == 2


def test_an_event_about_a_candidate_not_enrolled_here_makes_no_delivery() -> None:
    uow = FakeEnrolmentUnitOfWork()
    _subscribe(uow)
    _consume(uow, _event(candidate_id="elsewhere"))
    assert uow.webhooks.delivery_rows == {}


def test_every_webhook_event_has_a_handler_and_a_diploma_also_freezes_the_option() -> None:
    handlers = event_handlers()
    assert set(handlers) == set(WEBHOOK_EVENTS)
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    sub = _subscribe(uow)
    issued = CloudEvent(
        type=ev.DIPLOMA_ISSUED,
        source="/certifia/certification",
        subject="c-1",
        data={
            "diploma_id": "dip-1",
            "candidate_id": "c-1",
            "option": "5A",
            "issued_at": "2026-12-01T10:00:00Z",
        },
    )
    _consume(uow, issued, handlers[ev.DIPLOMA_ISSUED])
    assert uow.diplomas.in_force("c-1") is not None
    revoked = CloudEvent(
        type=ev.DIPLOMA_REVOKED,
        source="/certifia/certification",
        subject="c-1",
        data={"diploma_id": "dip-1", "candidate_id": "c-1", "revoked_at": "2026-12-02T10:00:00Z"},
    )
    _consume(uow, revoked, handlers[ev.DIPLOMA_REVOKED])
    assert uow.diplomas.in_force("c-1") is None
    _consume(uow, _event(ev.OPTION_CHOSEN, option="5B"), handlers[ev.OPTION_CHOSEN])
    names = sorted(d.event_name for d in uow.webhooks.delivery_rows.values() if d.subscription_id == sub.id)
    assert names == sorted(["diploma.issued", "diploma.revoked", WEBHOOK_EVENTS[ev.OPTION_CHOSEN]])


# -- the delivery worker ----------------------------------------------------------------------------
class ScriptedSender:
    """Answers each POST with the next scripted status (then 204), and keeps what it was sent."""

    def __init__(self, *statuses: int | None) -> None:
        self.statuses = list(statuses)
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        self.sent.append((url, body, headers))
        status = self.statuses.pop(0) if self.statuses else 204
        return Attempt(status, None if status else "connection refused")


def _worker(uow: FakeEnrolmentUnitOfWork, sender: ScriptedSender) -> DeliveryWorker:
    return DeliveryWorker(uow_factory=lambda: uow, sender=sender, policy=POLICY, concurrency=1)


def _one_pending() -> tuple[FakeEnrolmentUnitOfWork, Subscription, Delivery]:
    uow = FakeEnrolmentUnitOfWork([_candidate()])
    sub = _subscribe(uow)
    _consume(uow, _event(bloc="3"))
    [delivery] = _deliveries(uow)
    return uow, sub, delivery


def test_the_worker_posts_a_due_delivery_signed_and_records_it_delivered() -> None:
    uow, sub, delivery = _one_pending()
    sender = ScriptedSender()
    assert _worker(uow, sender).deliver_due() == 1
    [(url, body, headers)] = sender.sent
    assert url == URL and body == delivery.body and headers["webhook-id"] == delivery.id
    Webhook(sub.secret).verify(body, headers)  # raises unless signed with the subscription's secret
    done = uow.webhooks.delivery(delivery.id)
    assert done is not None and (done.status, done.attempts, done.last_outcome) == (
        "delivered",
        1,
        "HTTP 204",
    )
    assert done.delivered_at is not None and done.next_attempt_at is None
    assert _worker(uow, sender).deliver_due() == 0 and len(sender.sent) == 1


def test_a_failing_endpoint_is_retried_on_the_schedule_then_the_delivery_fails() -> None:
    uow, _sub, delivery = _one_pending()
    sender = ScriptedSender(500, None, 503)
    worker = _worker(uow, sender)
    before = utcnow()
    assert worker.deliver_due() == 1
    retrying = uow.webhooks.delivery(delivery.id)
    assert retrying is not None and (retrying.status, retrying.attempts) == ("pending", 1)
    assert retrying.last_outcome == "HTTP 500" and retrying.next_attempt_at is not None
    assert retrying.next_attempt_at >= before + timedelta(seconds=10)
    assert worker.deliver_due() == 0  # not due yet
    for attempts in (2, 3):  # time passes
        row = uow.webhooks.delivery_rows[delivery.id]
        uow.webhooks.delivery_rows[delivery.id] = replace(
            row, next_attempt_at=utcnow() - timedelta(seconds=1)
        )
        assert worker.deliver_due() == 1
        assert uow.webhooks.delivery(delivery.id).attempts == attempts  # type: ignore[union-attr]
    failed = uow.webhooks.delivery(delivery.id)
    assert failed is not None and (failed.status, failed.next_attempt_at) == ("failed", None)
    assert failed.last_outcome == "HTTP 503" and len(sender.sent) == 3
    assert {h["webhook-id"] for _u, _b, h in sender.sent} == {delivery.id}  # the same id on every attempt


def test_a_leased_delivery_is_left_to_the_worker_holding_it_until_the_lease_runs_out() -> None:
    uow, _sub, delivery = _one_pending()
    crashed, other = _worker(uow, ScriptedSender()), ScriptedSender()
    now = utcnow()
    assert crashed._claim(delivery.id, now)
    assert _worker(uow, other).deliver_due() == 0 and other.sent == []
    uow.webhooks.leases[delivery.id] = now - timedelta(seconds=1)  # the lease runs out
    assert _worker(uow, other).deliver_due() == 1 and len(other.sent) == 1


def test_a_delivery_whose_subscription_was_deleted_meanwhile_fails_without_being_sent() -> None:
    uow, sub, delivery = _one_pending()
    uow.webhooks.subscription_rows[sub.id] = replace(sub, active=False)  # deleted after the lease
    sender = ScriptedSender()
    worker = _worker(uow, sender)
    assert worker._claim(delivery.id, utcnow())
    worker.attempt(delivery.id)
    assert sender.sent == []
    failed = uow.webhooks.delivery(delivery.id)
    assert failed is not None and failed.status == "failed" and failed.last_outcome == "subscription deleted"
