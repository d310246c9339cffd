"""REST API for LMS webhooks: an LMS manages its own subscriptions and sees their deliveries.

An LMS client sees only its own subscriptions (another's answer 404, as if absent); officers and admins
see all. The signing secret is shown once, when a subscription is created or its secret rotated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from certifia_enrolment.domain.webhooks import EVENT_NAMES, Delivery, Subscription
from certifia_enrolment.entrypoints.deps import Policy, UnitOfWorkDep
from certifia_enrolment.service_layer import views
from certifia_enrolment.service_layer import webhooks as service
from certifia_shared.auth import Principal, require
from certifia_shared.hygiene import free_text

router = APIRouter(tags=["webhooks"])
LMS = Depends(require("lms"))
LMS_OR_STAFF = Depends(require("lms", "officer"))


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, description="https:// endpoint of the LMS")
    events: list[str] | None = Field(
        default=None, max_length=len(EVENT_NAMES) + 1, description="event names; omitted or ['*']: all"
    )
    description: Annotated[str, free_text(500)] | None = None


class SubscriptionOut(BaseModel):
    id: str
    lms_client: str
    url: str
    events: list[str]
    description: str | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(
            id=s.id,
            lms_client=s.lms_client,
            url=s.url,
            events=list(s.events),
            description=s.description,
            active=s.active,
            created_at=s.created_at,
        )


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="whsec_… secret to verify signatures with; shown only now")
    previous_secret_valid_until: datetime | None = None

    @classmethod
    def with_secret(cls, s: Subscription) -> SubscriptionWithSecret:
        return cls(
            **SubscriptionOut.of(s).model_dump(),
            secret=s.secret,
            previous_secret_valid_until=s.previous_secret_until,
        )


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header: the same on every attempt")
    subscription_id: str
    event_id: str
    event: str
    candidate_id: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_outcome: str | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            subscription_id=d.subscription_id,
            event_id=d.event_id,
            event=d.event_name,
            candidate_id=d.candidate_id,
            status=d.status,
            attempts=d.attempts,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at,
            last_attempt_at=d.last_attempt_at,
            last_outcome=d.last_outcome,
            delivered_at=d.delivered_at,
        )


def _lms_client(principal: Principal) -> str:
    return principal.client_id or principal.subject


def _visible_to(principal: Principal) -> str | None:
    """Whose subscriptions the caller sees: their LMS's, or every LMS's (None) for officers and admins."""
    return None if principal.has("admin", "officer") else _lms_client(principal)


@router.get("/webhooks/events", response_model=list[str])
def event_catalogue(_: Annotated[Principal, LMS_OR_STAFF]) -> list[str]:
    """The event names a subscription can ask for."""
    return list(EVENT_NAMES)


@router.post("/webhooks", status_code=201, response_model=SubscriptionWithSecret)
def create_subscription(
    body: SubscriptionRequest,
    response: Response,
    principal: Annotated[Principal, LMS],
    uow: UnitOfWorkDep,
    policy: Policy,
) -> SubscriptionWithSecret:
    cmd = service.Subscribe(
        lms_client=_lms_client(principal), url=body.url, events=body.events, description=body.description
    )
    subscription = service.subscribe(cmd, uow=uow, policy=policy)
    response.headers["Location"] = f"/webhooks/{subscription.id}"
    return SubscriptionWithSecret.with_secret(subscription)


@router.get("/webhooks", response_model=list[SubscriptionOut])
def list_subscriptions(
    principal: Annotated[Principal, LMS_OR_STAFF], uow: UnitOfWorkDep
) -> list[SubscriptionOut]:
    rows = views.subscriptions(uow=uow, lms_client=_visible_to(principal))
    return [SubscriptionOut.of(s) for s in rows]


@router.get("/webhooks/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(
    subscription_id: str, principal: Annotated[Principal, LMS_OR_STAFF], uow: UnitOfWorkDep
) -> SubscriptionOut:
    subscription = views.subscription(subscription_id, uow=uow, lms_client=_visible_to(principal))
    return SubscriptionOut.of(subscription)


@router.delete("/webhooks/{subscription_id}", status_code=204)
def delete_subscription(
    subscription_id: str, principal: Annotated[Principal, LMS], uow: UnitOfWorkDep
) -> Response:
    service.unsubscribe(subscription_id, uow=uow, lms_client=_visible_to(principal))
    return Response(status_code=204)


@router.post("/webhooks/{subscription_id}/secret", response_model=SubscriptionWithSecret)
def rotate_secret(
    subscription_id: str, principal: Annotated[Principal, LMS], uow: UnitOfWorkDep, policy: Policy
) -> SubscriptionWithSecret:
    """A new secret; the previous one keeps signing beside it (two signatures) for a grace period."""
    rotated = service.rotate_secret(
        subscription_id, uow=uow, policy=policy, lms_client=_visible_to(principal)
    )
    return SubscriptionWithSecret.with_secret(rotated)


@router.get("/webhooks/{subscription_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    subscription_id: str,
    principal: Annotated[Principal, LMS_OR_STAFF],
    uow: UnitOfWorkDep,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip (at most 1,000,000)")] = 0,
) -> list[DeliveryOut]:
    rows = views.deliveries(
        subscription_id,
        uow=uow,
        lms_client=_visible_to(principal),
        status=status,
        limit=limit,
        offset=offset,
    )
    return [DeliveryOut.of(d) for d in rows]


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
def retry_delivery(
    subscription_id: str,
    delivery_id: str,
    principal: Annotated[Principal, LMS_OR_STAFF],
    uow: UnitOfWorkDep,
) -> DeliveryOut:
    """Send a failed delivery again now (after fixing the endpoint); a delivered one is left alone."""
    cmd = service.RetryDelivery(
        subscription_id=subscription_id, delivery_id=delivery_id, lms_client=_visible_to(principal)
    )
    return DeliveryOut.of(service.retry_delivery(cmd, uow=uow))
