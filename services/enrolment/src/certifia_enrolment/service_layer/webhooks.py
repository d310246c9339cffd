"""LMS webhooks: subscriptions, the fan-out of consumed events into deliveries, and the delivery worker.

Exactly-once where it can be, at-least-once where it cannot:
- a consumed event becomes one delivery per interested subscription, written in the consumer's own
  transaction (beside its inbox row): a redelivered event adds nothing;
- the worker leases a due delivery, POSTs it, then records the outcome. A crash between the POST and the
  record sends it again after the lease, with the same ``webhook-id``: receivers dedupe on it.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from opentelemetry import trace
from prometheus_client import Counter, Gauge

from certifia_enrolment.domain.webhooks import (
    WEBHOOK_EVENTS,
    Attempt,
    Delivery,
    NextStep,
    Subscription,
    SubscriptionDeleted,
    UnknownDelivery,
    UnknownSubscription,
    after_attempt,
    check_url,
    new_secret,
    normalise_events,
    signed_headers,
    webhook_body,
)
from certifia_enrolment.service_layer.diplomas import record_diploma_issued, record_diploma_revoked
from certifia_enrolment.service_layer.unit_of_work import EnrolmentUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.journey import mark_candidate
from certifia_shared.polling import PollingLoop
from certifia_shared.telemetry import extract_trace_context, inject_trace_headers, log_fields, tracer

log = logging.getLogger(__name__)

WEBHOOK_DELIVERIES = Counter(
    "certifia_webhook_attempts_total", "Webhook POST attempts by outcome", ["outcome"]
)
WEBHOOKS_PENDING = Gauge(  # one table every WEB_WORKERS process counts: /metrics shows the highest
    "certifia_webhook_deliveries_pending",
    "Webhook deliveries not yet delivered or failed",
    multiprocess_mode="livemax",
)


@dataclass(frozen=True)
class WebhookPolicy:
    """The deployment's webhook rules (from the service's settings)."""

    allow_http: bool = False
    allow_private: bool = False
    retry_seconds: tuple[float, ...] = ()
    secret_overlap: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=60)


# -- subscriptions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subscribe:
    lms_client: str
    url: str
    events: Sequence[str] | None
    description: str | None


def subscribe(cmd: Subscribe, *, uow: EnrolmentUnitOfWork, policy: WebhookPolicy) -> Subscription:
    url = check_url(cmd.url, allow_http=policy.allow_http, allow_private=policy.allow_private)
    subscription = Subscription(
        id=str(uuid.uuid4()),
        lms_client=cmd.lms_client,
        url=url,
        events=normalise_events(cmd.events),
        secret=new_secret(),
        active=True,
        created_at=utcnow(),
        description=cmd.description,
    )
    with uow:
        uow.webhooks.add_subscription(subscription)
        uow.commit()
    return subscription


def visible_subscription(
    uow: EnrolmentUnitOfWork, subscription_id: str, *, lms_client: str | None
) -> Subscription:
    """The subscription as ``lms_client`` may see it (None: staff, who see every LMS's); another LMS's is
    refused as unknown, as if absent. Call inside ``with uow:``."""
    subscription = uow.webhooks.subscription(subscription_id)
    if subscription is None or (lms_client is not None and subscription.lms_client != lms_client):
        raise UnknownSubscription(subscription_id)
    return subscription


def unsubscribe(subscription_id: str, *, uow: EnrolmentUnitOfWork, lms_client: str | None) -> None:
    """Stop the subscription; what was still pending for it is marked failed, not sent."""
    with uow:
        visible_subscription(uow, subscription_id, lms_client=lms_client)
        uow.webhooks.deactivate(subscription_id)
        uow.webhooks.cancel_pending(subscription_id, outcome="subscription deleted before delivery")
        uow.commit()


def rotate_secret(
    subscription_id: str, *, uow: EnrolmentUnitOfWork, policy: WebhookPolicy, lms_client: str | None
) -> Subscription:
    """A new secret; the old one keeps signing beside it for ``policy.secret_overlap``."""
    with uow:
        current = visible_subscription(uow, subscription_id, lms_client=lms_client)
        if not current.active:
            raise SubscriptionDeleted(subscription_id)
        secret = new_secret()
        uow.webhooks.rotate_secret(
            subscription_id, secret=secret, previous=current.secret, until=utcnow() + policy.secret_overlap
        )
        uow.commit()
        rotated = uow.webhooks.subscription(subscription_id)
    assert rotated is not None
    return rotated


@dataclass(frozen=True)
class RetryDelivery:
    subscription_id: str
    delivery_id: str
    lms_client: str | None  # who asks: their LMS, or None for staff


def retry_delivery(cmd: RetryDelivery, *, uow: EnrolmentUnitOfWork) -> Delivery:
    """Send a failed (or pending) delivery again now; a delivered one is left as it is."""
    with uow:
        subscription = visible_subscription(uow, cmd.subscription_id, lms_client=cmd.lms_client)
        delivery = uow.webhooks.delivery(cmd.delivery_id)
        if delivery is None or delivery.subscription_id != subscription.id:
            raise UnknownDelivery(cmd.delivery_id)
        if not subscription.active:
            raise SubscriptionDeleted(subscription.id)
        if delivery.status != "delivered":
            uow.webhooks.retry_now(delivery.id, utcnow())
            uow.commit()
        again = uow.webhooks.delivery(delivery.id)
    assert again is not None
    return again


# -- fan-out (consumer handler) ---------------------------------------------------------------------
def fan_out(event: CloudEvent, uow: EnrolmentUnitOfWork) -> None:
    """One pending delivery per active subscription of the candidate's LMS that wants this event.

    Most events are followed by no one (an LMS that wants milestones does not want each of the ~120
    criterion.validated of a candidate): those cost one read of the subscriptions per unit of work, and no
    lookup of the candidate."""
    name = WEBHOOK_EVENTS[event.type]
    repo = uow.webhooks
    wanting = [s for s in repo.active_subscriptions() if s.wants(name)]
    if not wanting:
        return
    candidate = uow.candidates.get(event.subject)
    if candidate is None:  # not enrolled through an LMS here (or not yet): no one to tell
        log.info("no candidate for event", extra=log_fields(event_id=event.id, subject=event.subject))
        return
    now = utcnow()
    body = webhook_body(
        name=name,
        event_id=event.id,
        event_type=event.type,
        event_time=event.time,
        data=event.data,
        external_id=candidate.external_id,
    )
    trace_headers = json.dumps(inject_trace_headers())
    for subscription in wanting:
        if subscription.lms_client != candidate.lms_client or repo.has_delivery(subscription.id, event.id):
            continue
        repo.add_delivery(
            Delivery(
                id=str(uuid.uuid4()),
                subscription_id=subscription.id,
                event_id=event.id,
                event_name=name,
                candidate_id=candidate.id,
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                body=body,
                trace_headers=trace_headers,
            )
        )


EventHandler = Handler[EnrolmentUnitOfWork]


def _and_fan_out(effect: EventHandler) -> EventHandler:
    """The event's own effect on enrolment, then its webhooks, in the same unit of work."""

    def handler(event: CloudEvent, uow: EnrolmentUnitOfWork) -> None:
        effect(event, uow)
        fan_out(event, uow)

    return handler


def event_handlers() -> dict[str, EventHandler]:
    """Every event an LMS can follow is fanned out to its webhooks; a diploma also freezes the option. The
    consumer applies them in the unit of work bootstrap wired (``EnrolmentUnitOfWork``)."""
    handlers: dict[str, EventHandler] = dict.fromkeys(WEBHOOK_EVENTS, fan_out)
    handlers[ev.DIPLOMA_ISSUED] = _and_fan_out(record_diploma_issued)
    handlers[ev.DIPLOMA_REVOKED] = _and_fan_out(record_diploma_revoked)
    return handlers


# -- the delivery worker ----------------------------------------------------------------------------
class Sender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt: ...


class DeliveryWorker:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], EnrolmentUnitOfWork],
        sender: Sender,
        policy: WebhookPolicy,
        poll_seconds: float = 0.5,
        batch: int = 20,
        concurrency: int = 4,
    ) -> None:
        self._uow = uow_factory
        self._sender = sender
        self._policy = policy
        self._batch = batch
        self._concurrency = concurrency
        self._loop = PollingLoop(self.deliver_due, name="webhook delivery loop", poll_seconds=poll_seconds)

    @property
    def healthy(self) -> bool:
        """The last batch went through (readiness)."""
        return self._loop.healthy

    def deliver_due(self) -> int:
        """Lease and send one batch of due deliveries; returns how many were attempted."""
        now = utcnow()
        with self._uow() as uow:
            due = uow.webhooks.due(now, self._batch)
        claimed = [d for d in due if self._claim(d, now)]
        if len(claimed) <= 1 or self._concurrency <= 1:
            for delivery_id in claimed:
                self.attempt(delivery_id)
        else:
            with ThreadPoolExecutor(min(self._concurrency, len(claimed))) as pool:
                list(pool.map(self.attempt, claimed))
        self._update_pending_gauge()
        return len(claimed)

    def _claim(self, delivery_id: str, now: datetime) -> bool:
        with self._uow() as uow:
            taken = uow.webhooks.claim(delivery_id, now=now, lease_until=now + self._policy.lease)
            uow.commit()
        return taken

    def attempt(self, delivery_id: str) -> None:
        """POST one leased delivery and record what came of it."""
        with self._uow() as uow:
            delivery = uow.webhooks.delivery(delivery_id)
            subscription = uow.webhooks.subscription(delivery.subscription_id) if delivery else None
        if delivery is None or subscription is None:
            return
        parent = extract_trace_context(json.loads(delivery.trace_headers or "{}"))
        with tracer(__name__).start_as_current_span(
            "webhook send", context=parent, kind=trace.SpanKind.CLIENT
        ) as span:
            mark_candidate(delivery.candidate_id, span)
            span.set_attribute("certifia.webhook.delivery_id", delivery.id)
            span.set_attribute("certifia.webhook.event", delivery.event_name)
            span.set_attribute("certifia.webhook.attempt", delivery.attempts + 1)
            result = self._send(delivery, subscription)
            if result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
        now = utcnow()
        step = (
            after_attempt(
                result, attempts_made=delivery.attempts + 1, now=now, retry_seconds=self._policy.retry_seconds
            )
            if subscription.active
            else NextStep("failed", None)
        )
        with self._uow() as uow:
            uow.webhooks.record_attempt(
                delivery.id,
                status=step.status,
                attempts=delivery.attempts + 1,
                at=now,
                outcome=result.describe(),
                next_attempt_at=step.next_attempt_at,
            )
            uow.commit()
        WEBHOOK_DELIVERIES.labels("delivered" if result.succeeded else "error").inc()
        log.log(
            logging.INFO if result.succeeded else logging.WARNING,
            f"webhook {step.status}",
            extra=log_fields(
                delivery_id=delivery.id,
                subscription_id=subscription.id,
                event=delivery.event_name,
                attempt=delivery.attempts + 1,
                outcome=result.describe(),
                next_attempt_at=step.next_attempt_at.isoformat() if step.next_attempt_at else None,
            ),
        )

    def _send(self, delivery: Delivery, subscription: Subscription) -> Attempt:
        if not subscription.active:
            return Attempt(None, "subscription deleted")
        now = utcnow()
        headers = signed_headers(
            subscription.signing_secrets(now),
            webhook_id=delivery.id,
            timestamp=int(now.timestamp()),
            body=delivery.body,
        )
        headers.update(inject_trace_headers())  # the LMS may continue the trace
        return self._sender.post(subscription.url, delivery.body, headers)

    def _update_pending_gauge(self) -> None:
        with self._uow() as uow:
            pending = uow.webhooks.pending_count()
        WEBHOOKS_PENDING.set(pending)

    def run(self, stop: threading.Event) -> None:
        self._loop.run(stop)
