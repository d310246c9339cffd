"""In-memory stand-ins for enrolment's repositories and unit of work (cosmicpython's fakes): the same
method names and return types as ``certifia_enrolment.adapters``, and the unique keys the tables enforce
(a second row on one raises ``Conflict``, as the unit of work turns the IntegrityError into)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from certifia_enrolment.domain.accommodations import Accommodation
from certifia_enrolment.domain.model import Candidate, HeldDiploma
from certifia_enrolment.domain.webhooks import Delivery, DeliveryStatus, Subscription
from certifia_shared.db import Conflict
from certifia_shared.fakes import FakeRepository, FakeUnitOfWork


class FakeCandidateRepository(FakeRepository):
    def __init__(self, candidates: list[Candidate] | None = None) -> None:
        self.rows: dict[str, Candidate] = {c.id: c for c in candidates or []}

    def get(self, candidate_id: str) -> Candidate | None:
        return self.rows.get(candidate_id)

    def by_external_id(self, lms_client: str, external_id: str) -> Candidate | None:
        return self._by_key(lms_client, external_id)

    def _by_key(self, lms_client: str, external_id: str) -> Candidate | None:
        return next(
            (c for c in self.rows.values() if (c.lms_client, c.external_id) == (lms_client, external_id)),
            None,
        )

    def add_new(self, candidate: Candidate) -> bool:
        if self._by_key(candidate.lms_client, candidate.external_id):
            return False
        if candidate.id in self.rows:
            raise Conflict("candidates_pkey")
        self.rows[candidate.id] = candidate
        return True

    def set_option(self, candidate_id: str, option: str) -> None:
        if candidate_id in self.rows:
            self.rows[candidate_id] = replace(self.rows[candidate_id], option=option)  # type: ignore[arg-type]

    def record_withdrawal(self, candidate: Candidate) -> bool:
        current = self.rows.get(candidate.id)
        if current is None or current.withdrawn_at is not None:
            return False
        self.rows[candidate.id] = replace(
            current,
            withdrawn_at=candidate.withdrawn_at,
            withdrawal_reason=candidate.withdrawal_reason,
            withdrawn_by_role=candidate.withdrawn_by_role,
            withdrawn_by=candidate.withdrawn_by,
        )
        return True

    def list(self, *, lms_client: str | None, limit: int, offset: int) -> list[Candidate]:
        rows = sorted(self.rows.values(), key=lambda c: (c.enrolled_at, c.id))
        if lms_client is not None:
            rows = [c for c in rows if c.lms_client == lms_client]
        return rows[offset : offset + limit]


class FakeDiplomaRepository(FakeRepository):
    """One row per diploma: ``{"candidate_id", "option", "issued_at", "revoked_at"}``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def in_force(self, candidate_id: str) -> HeldDiploma | None:
        held = [
            (row["issued_at"], diploma_id, row["option"])
            for diploma_id, row in self.rows.items()
            if row["candidate_id"] == candidate_id and row["revoked_at"] is None
        ]
        if not held:
            return None
        _issued_at, diploma_id, option = max(held, key=lambda h: h[0])
        return HeldDiploma(id=diploma_id, option=option)

    def record_issued(
        self, *, diploma_id: str, candidate_id: str, option: str | None, issued_at: datetime
    ) -> None:
        self.rows.setdefault(
            diploma_id,
            {"candidate_id": candidate_id, "option": option, "issued_at": issued_at, "revoked_at": None},
        )

    def record_revoked(self, *, diploma_id: str, candidate_id: str, revoked_at: datetime) -> None:
        row = self.rows.setdefault(
            diploma_id,
            {"candidate_id": candidate_id, "option": None, "issued_at": None, "revoked_at": revoked_at},
        )
        if row["revoked_at"] is None:
            row["revoked_at"] = revoked_at


class FakeAccommodationRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: list[Accommodation] = []

    def grant(self, accommodation: Accommodation) -> None:
        self.rows = [
            replace(a, superseded_at=accommodation.granted_at)
            if a.candidate_id == accommodation.candidate_id and a.in_force
            else a
            for a in self.rows
        ]
        if any(a.id == accommodation.id for a in self.rows):
            raise Conflict("accommodations_pkey")
        self.rows.append(accommodation)

    def history(self, candidate_id: str) -> list[Accommodation]:
        rows = [a for a in self.rows if a.candidate_id == candidate_id]
        return sorted(rows, key=lambda a: (a.granted_at, a.in_force), reverse=True)


class FakeWebhookRepository(FakeRepository):
    def __init__(self) -> None:
        self.subscription_rows: dict[str, Subscription] = {}
        self.delivery_rows: dict[str, Delivery] = {}
        self.leases: dict[str, datetime] = {}  # delivery id -> lease_until

    # -- subscriptions ------------------------------------------------------------------------------
    def add_subscription(self, s: Subscription) -> None:
        if s.id in self.subscription_rows:
            raise Conflict("webhook_subscriptions_pkey")
        self.subscription_rows[s.id] = s

    def subscription(self, subscription_id: str) -> Subscription | None:
        return self.subscription_rows.get(subscription_id)

    def active_subscriptions(self) -> list[Subscription]:
        return self.subscriptions(lms_client=None, active_only=True)

    def subscriptions(self, *, lms_client: str | None, active_only: bool = False) -> list[Subscription]:
        rows = sorted(self.subscription_rows.values(), key=lambda s: (s.created_at, s.id))
        return [
            s
            for s in rows
            if (lms_client is None or s.lms_client == lms_client) and (s.active or not active_only)
        ]

    def deactivate(self, subscription_id: str) -> None:
        if subscription_id in self.subscription_rows:
            self.subscription_rows[subscription_id] = replace(
                self.subscription_rows[subscription_id], active=False
            )

    def rotate_secret(self, subscription_id: str, *, secret: str, previous: str, until: datetime) -> None:
        if subscription_id in self.subscription_rows:
            self.subscription_rows[subscription_id] = replace(
                self.subscription_rows[subscription_id],
                secret=secret,
                previous_secret=previous,
                previous_secret_until=until,
            )

    # -- deliveries ---------------------------------------------------------------------------------
    def add_delivery(self, d: Delivery) -> None:
        if d.id in self.delivery_rows or self.has_delivery(d.subscription_id, d.event_id):
            raise Conflict("uq_webhook_deliveries_subscription_event")
        self.delivery_rows[d.id] = d

    def has_delivery(self, subscription_id: str, event_id: str) -> bool:
        return any(
            (d.subscription_id, d.event_id) == (subscription_id, event_id)
            for d in self.delivery_rows.values()
        )

    def delivery(self, delivery_id: str) -> Delivery | None:
        return self.delivery_rows.get(delivery_id)

    def deliveries(
        self, subscription_id: str, *, status: DeliveryStatus | None, limit: int, offset: int
    ) -> list[Delivery]:
        rows = [
            d
            for d in self.delivery_rows.values()
            if d.subscription_id == subscription_id and (status is None or d.status == status)
        ]
        rows.sort(key=lambda d: d.id)
        rows.sort(key=lambda d: d.created_at, reverse=True)
        return rows[offset : offset + limit]

    def _free(self, delivery_id: str, now: datetime) -> bool:
        lease = self.leases.get(delivery_id)
        return lease is None or lease < now

    def due(self, now: datetime, limit: int) -> list[str]:
        rows = [
            d
            for d in self.delivery_rows.values()
            if d.status == "pending"
            and d.next_attempt_at is not None
            and d.next_attempt_at <= now
            and self._free(d.id, now)
        ]
        rows.sort(key=lambda d: (d.next_attempt_at, d.created_at))
        return [d.id for d in rows[:limit]]

    def pending_count(self) -> int:
        return sum(d.status == "pending" for d in self.delivery_rows.values())

    def claim(self, delivery_id: str, *, now: datetime, lease_until: datetime) -> bool:
        d = self.delivery_rows.get(delivery_id)
        if d is None or d.status != "pending" or not self._free(delivery_id, now):
            return False
        self.leases[delivery_id] = lease_until
        return True

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
        if delivery_id not in self.delivery_rows:
            return
        self.delivery_rows[delivery_id] = replace(
            self.delivery_rows[delivery_id],
            status=status,
            attempts=attempts,
            last_attempt_at=at,
            last_outcome=outcome[:500],
            next_attempt_at=next_attempt_at,
            delivered_at=at if status == "delivered" else None,
        )
        self.leases.pop(delivery_id, None)

    def retry_now(self, delivery_id: str, now: datetime) -> None:
        if delivery_id in self.delivery_rows:
            self.delivery_rows[delivery_id] = replace(
                self.delivery_rows[delivery_id], status="pending", next_attempt_at=now
            )
            self.leases.pop(delivery_id, None)

    def cancel_pending(self, subscription_id: str, *, outcome: str) -> None:
        for d in list(self.delivery_rows.values()):
            if d.subscription_id == subscription_id and d.status == "pending":
                self.delivery_rows[d.id] = replace(
                    d, status="failed", last_outcome=outcome, next_attempt_at=None
                )
                self.leases.pop(d.id, None)


class FakeEnrolmentUnitOfWork(FakeUnitOfWork):
    """``uow.candidates``, ``uow.diplomas``, ``uow.accommodations`` and ``uow.webhooks`` in memory: what a
    ``with uow:`` block committed stays, the rest is dropped (certifia_shared.fakes.FakeUnitOfWork)."""

    def __init__(self, candidates: list[Candidate] | None = None) -> None:
        super().__init__(source="/certifia/enrolment")
        self.candidates = FakeCandidateRepository(candidates)
        self.diplomas = FakeDiplomaRepository()
        self.accommodations = FakeAccommodationRepository()
        self.webhooks = FakeWebhookRepository()
