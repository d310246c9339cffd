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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from opentelemetry import trace
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from certifia_enrolment.adapters.orm import webhook_deliveries
from certifia_enrolment.adapters.repository import CandidateRepository
from certifia_enrolment.adapters.webhook_repository import WebhookRepository
from certifia_enrolment.domain.webhooks import (
    WEBHOOK_EVENTS,
    Attempt,
    Delivery,
    NextStep,
    Subscription,
    after_attempt,
    check_url,
    new_secret,
    normalise_events,
    signed_headers,
    webhook_body,
)
from certifia_enrolment.service_layer.diplomas import record_diploma_issued, record_diploma_revoked
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.db import UnitOfWork
from certifia_shared.envelope import CloudEvent, utcnow
from certifia_shared.telemetry import extract_trace_context, inject_trace_headers, log_fields, tracer

log = logging.getLogger(__name__)

WEBHOOK_DELIVERIES = Counter(
    "certifia_webhook_attempts_total", "Webhook POST attempts by outcome", ["outcome"]
)
WEBHOOKS_PENDING = Gauge(
    "certifia_webhook_deliveries_pending", "Webhook deliveries not yet delivered or failed"
)


@dataclass(frozen=True)
class WebhookPolicy:
    """The deployment's webhook rules (from the service's settings)."""

    allow_http: bool = False
    allow_private: bool = False
    retry_seconds: tuple[float, ...] = ()
    secret_overlap: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=60)


class UnknownSubscription(LookupError):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(subscription_id)
        self.subscription_id = subscription_id


class UnknownDelivery(LookupError):
    def __init__(self, delivery_id: str) -> None:
        super().__init__(delivery_id)
        self.delivery_id = delivery_id


class SubscriptionDeleted(Exception):
    """The subscription was deleted: nothing can be sent for it, and its secret no longer rotates."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(subscription_id)
        self.subscription_id = subscription_id


# -- subscriptions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subscribe:
    lms_client: str
    url: str
    events: Sequence[str] | None
    description: str | None


def subscribe(cmd: Subscribe, *, uow: UnitOfWork, policy: WebhookPolicy) -> Subscription:
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
        WebhookRepository(uow.session).add_subscription(subscription)
        uow.commit()
    return subscription


def unsubscribe(subscription_id: str, *, uow: UnitOfWork) -> None:
    """Stop the subscription; what was still pending for it is marked failed, not sent."""
    with uow:
        repo = WebhookRepository(uow.session)
        if repo.subscription(subscription_id) is None:
            raise UnknownSubscription(subscription_id)
        repo.deactivate(subscription_id)
        repo.cancel_pending(subscription_id, outcome="subscription deleted before delivery")
        uow.commit()


def rotate_secret(subscription_id: str, *, uow: UnitOfWork, policy: WebhookPolicy) -> Subscription:
    """A new secret; the old one keeps signing beside it for ``policy.secret_overlap``."""
    with uow:
        repo = WebhookRepository(uow.session)
        current = repo.subscription(subscription_id)
        if current is None:
            raise UnknownSubscription(subscription_id)
        if not current.active:
            raise SubscriptionDeleted(subscription_id)
        secret = new_secret()
        repo.rotate_secret(
            subscription_id, secret=secret, previous=current.secret, until=utcnow() + policy.secret_overlap
        )
        uow.commit()
        rotated = repo.subscription(subscription_id)
    assert rotated is not None
    return rotated


def retry_delivery(delivery_id: str, *, uow: UnitOfWork) -> Delivery:
    """Send a failed (or pending) delivery again now; a delivered one is left as it is."""
    with uow:
        repo = WebhookRepository(uow.session)
        delivery = repo.delivery(delivery_id)
        if delivery is None:
            raise UnknownDelivery(delivery_id)
        subscription = repo.subscription(delivery.subscription_id)
        if subscription is None or not subscription.active:
            raise SubscriptionDeleted(delivery.subscription_id)
        if delivery.status != "delivered":
            repo.retry_now(delivery_id, utcnow())
            uow.commit()
        again = repo.delivery(delivery_id)
    assert again is not None
    return again


# -- fan-out (consumer handler) ---------------------------------------------------------------------
def fan_out(event: CloudEvent, uow: UnitOfWork) -> None:
    """One pending delivery per active subscription of the candidate's LMS that wants this event."""
    name = WEBHOOK_EVENTS[event.type]
    candidate = CandidateRepository(uow.session).get(event.subject)
    if candidate is None:  # not enrolled through an LMS here (or not yet): no one to tell
        log.info("no candidate for event", extra=log_fields(event_id=event.id, subject=event.subject))
        return
    repo = WebhookRepository(uow.session)
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
    for subscription in repo.subscriptions(lms_client=candidate.lms_client, active_only=True):
        if not subscription.wants(name) or repo.has_delivery(subscription.id, event.id):
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


def _and_fan_out(effect: Handler) -> Handler:
    """The event's own effect on enrolment, then its webhooks, in the same unit of work."""

    def handler(event: CloudEvent, uow: UnitOfWork) -> None:
        effect(event, uow)
        fan_out(event, uow)

    return handler


def event_handlers() -> dict[str, Handler]:
    """Every event an LMS can follow is fanned out to its webhooks; a diploma also freezes the option."""
    handlers: dict[str, Handler] = dict.fromkeys(WEBHOOK_EVENTS, fan_out)
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
        sessions: sessionmaker[Session],
        sender: Sender,
        policy: WebhookPolicy,
        poll_seconds: float = 0.5,
        batch: int = 20,
        concurrency: int = 4,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._policy = policy
        self._poll = poll_seconds
        self._batch = batch
        self._concurrency = concurrency
        self.healthy = False

    def deliver_due(self) -> int:
        """Lease and send one batch of due deliveries; returns how many were attempted."""
        now = utcnow()
        with self._sessions() as session:
            due = WebhookRepository(session).due(now, self._batch)
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
        with self._sessions() as session:
            taken = WebhookRepository(session).claim(
                delivery_id, now=now, lease_until=now + self._policy.lease
            )
            session.commit()
        return taken

    def attempt(self, delivery_id: str) -> None:
        """POST one leased delivery and record what came of it."""
        with self._sessions() as session:
            repo = WebhookRepository(session)
            delivery = repo.delivery(delivery_id)
            subscription = repo.subscription(delivery.subscription_id) if delivery else None
        if delivery is None or subscription is None:
            return
        parent = extract_trace_context(json.loads(delivery.trace_headers or "{}"))
        with tracer(__name__).start_as_current_span(
            "webhook send", context=parent, kind=trace.SpanKind.CLIENT
        ) as span:
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
        with self._sessions() as session:
            WebhookRepository(session).record_attempt(
                delivery.id,
                status=step.status,
                attempts=delivery.attempts + 1,
                at=now,
                outcome=result.describe(),
                next_attempt_at=step.next_attempt_at,
            )
            session.commit()
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
        with self._sessions() as session:
            pending = session.execute(
                select(func.count()).where(webhook_deliveries.c.status == "pending")
            ).scalar_one()
        WEBHOOKS_PENDING.set(pending)

    def run(self, stop: threading.Event) -> None:
        backoff = self._poll
        while not stop.is_set():
            try:
                sent = self.deliver_due()
                self.healthy = True
                backoff = self._poll
                if sent:
                    continue
            except Exception:
                self.healthy = False
                log.exception("webhook delivery loop failed; retrying")
                backoff = min(backoff * 2, 5.0)
            stop.wait(backoff)
