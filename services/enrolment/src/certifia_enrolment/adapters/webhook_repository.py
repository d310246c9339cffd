"""Webhook subscriptions and deliveries in the enrolment database. Never commits: the caller does."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from certifia_enrolment.adapters.orm import webhook_deliveries as deliveries
from certifia_enrolment.adapters.orm import webhook_subscriptions as subscriptions
from certifia_enrolment.domain.webhooks import Delivery, DeliveryStatus, Subscription


def _subscription(row: Any) -> Subscription:
    m = row._mapping
    return Subscription(
        id=m["id"],
        lms_client=m["lms_client"],
        url=m["url"],
        events=tuple(json.loads(m["events"])),
        secret=m["secret"],
        active=bool(m["active"]),
        created_at=m["created_at"],
        description=m["description"],
        previous_secret=m["previous_secret"],
        previous_secret_until=m["previous_secret_until"],
    )


def _delivery(row: Any) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"],
        subscription_id=m["subscription_id"],
        event_id=m["event_id"],
        event_name=m["event_name"],
        candidate_id=m["candidate_id"],
        status=m["status"],
        attempts=m["attempts"],
        created_at=m["created_at"],
        next_attempt_at=m["next_attempt_at"],
        last_attempt_at=m["last_attempt_at"],
        last_outcome=m["last_outcome"],
        delivered_at=m["delivered_at"],
        body=m["body"].encode(),
        trace_headers=m["trace_headers"],
    )


class WebhookRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._active: list[Subscription] | None = None  # read once per unit of work; see active_subscriptions

    # -- subscriptions ------------------------------------------------------------------------------
    def add_subscription(self, s: Subscription) -> None:
        self._active = None
        self.session.execute(
            insert(subscriptions).values(
                id=s.id,
                lms_client=s.lms_client,
                url=s.url,
                events=json.dumps(list(s.events)),
                description=s.description,
                secret=s.secret,
                active=s.active,
                created_at=s.created_at,
            )
        )

    def subscription(self, subscription_id: str) -> Subscription | None:
        row = self.session.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        return _subscription(row) if row else None

    def active_subscriptions(self) -> list[Subscription]:
        """Every LMS's active subscriptions, read once in this unit of work (the consumer applies a poll's
        records in one: one query for up to a hundred fan-outs) and again after a write to them in it."""
        if self._active is None:
            self._active = self.subscriptions(lms_client=None, active_only=True)
        return self._active

    def subscriptions(self, *, lms_client: str | None, active_only: bool = False) -> list[Subscription]:
        query = select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
        if lms_client is not None:
            query = query.where(subscriptions.c.lms_client == lms_client)
        if active_only:
            query = query.where(subscriptions.c.active.is_(True))
        return [_subscription(r) for r in self.session.execute(query)]

    def deactivate(self, subscription_id: str) -> None:
        self._active = None
        self.session.execute(
            update(subscriptions).where(subscriptions.c.id == subscription_id).values(active=False)
        )

    def rotate_secret(self, subscription_id: str, *, secret: str, previous: str, until: datetime) -> None:
        self._active = None
        self.session.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(secret=secret, previous_secret=previous, previous_secret_until=until)
        )

    # -- deliveries ---------------------------------------------------------------------------------
    def add_delivery(self, d: Delivery) -> None:
        self.session.execute(
            insert(deliveries).values(
                id=d.id,
                subscription_id=d.subscription_id,
                event_id=d.event_id,
                event_name=d.event_name,
                candidate_id=d.candidate_id,
                body=d.body.decode(),
                trace_headers=d.trace_headers,
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                created_at=d.created_at,
            )
        )

    def has_delivery(self, subscription_id: str, event_id: str) -> bool:
        query = select(func.count()).where(
            deliveries.c.subscription_id == subscription_id, deliveries.c.event_id == event_id
        )
        return bool(self.session.execute(query).scalar_one())

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self.session.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return _delivery(row) if row else None

    def deliveries(
        self, subscription_id: str, *, status: DeliveryStatus | None, limit: int, offset: int
    ) -> list[Delivery]:
        query = (
            select(deliveries)
            .where(deliveries.c.subscription_id == subscription_id)
            .order_by(deliveries.c.created_at.desc(), deliveries.c.id)
            .limit(limit)
            .offset(offset)
        )
        if status is not None:
            query = query.where(deliveries.c.status == status)
        return [_delivery(r) for r in self.session.execute(query)]

    def due(self, now: datetime, limit: int) -> list[str]:
        """Pending deliveries whose time has come and that no live worker holds, oldest first."""
        query = (
            select(deliveries.c.id)
            .where(
                deliveries.c.status == "pending",
                deliveries.c.next_attempt_at <= now,
                or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
            )
            .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at)
            .limit(limit)
        )
        return list(self.session.execute(query).scalars())

    def pending_count(self) -> int:
        """Deliveries not yet delivered or failed (the pending gauge)."""
        query = select(func.count()).where(deliveries.c.status == "pending")
        return int(self.session.execute(query).scalar_one())

    def claim(self, delivery_id: str, *, now: datetime, lease_until: datetime) -> bool:
        """Take the delivery for one attempt; False when another worker took it first."""
        result = self.session.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.status == "pending",
                or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
            )
            .values(lease_until=lease_until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def record_attempt(
        self,
        delivery_id: str,
        *,
        status: DeliveryStatus,
        attempts: int,
        at: datetime,
        outcome: str,
        next_attempt_at: datetime | None,
    ) -> None:
        self.session.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                status=status,
                attempts=attempts,
                last_attempt_at=at,
                last_outcome=outcome[:500],
                next_attempt_at=next_attempt_at,
                delivered_at=at if status == "delivered" else None,
                lease_until=None,
            )
        )

    def retry_now(self, delivery_id: str, now: datetime) -> None:
        self.session.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status="pending", next_attempt_at=now, lease_until=None)
        )

    def cancel_pending(self, subscription_id: str, *, outcome: str) -> None:
        self.session.execute(
            update(deliveries)
            .where(and_(deliveries.c.subscription_id == subscription_id, deliveries.c.status == "pending"))
            .values(status="failed", last_outcome=outcome, next_attempt_at=None, lease_until=None)
        )
