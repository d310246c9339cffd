"""LMS webhooks: which events an LMS may subscribe to, how a delivery is signed, retried and judged.

Plain Python, no I/O. Signatures follow the Standard Webhooks specification (standardwebhooks.com):
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``"{id}.{timestamp}.{body}"`` with the subscription's ``whsec_`` secret, so an LMS can verify with any
Standard Webhooks library. The webhook id is the delivery's id, stable across retries: receivers dedupe on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from certifia_shared import event_types as ev

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"

# The events an LMS can follow, by their public webhook name. grading.requested is internal plumbing.
# One type per name: grading.completed is forwarded from v2 only (grading-compute writes v1 beside it for
# v1's readers), so an LMS gets one grading.completed per verdict. A name is the type without its service and
# version, except where two services use the same one: thesis's appeals are "thesis.appeal.*" beside
# assessment's "appeal.*".
WEBHOOK_EVENTS: dict[str, str] = {
    ev.CANDIDATE_ENROLLED: "candidate.enrolled",
    ev.OPTION_CHOSEN: "candidate.option_chosen",
    ev.CANDIDATE_WITHDRAWN: "candidate.withdrawn",
    ev.ACCOMMODATION_GRANTED: "candidate.accommodation_granted",
    ev.SUBMISSION_RECEIVED: "submission.received",
    ev.GRADING_COMPLETED_V2: "grading.completed",
    ev.GRADING_FAILED: "grading.failed",
    ev.CRITERION_VALIDATED: "criterion.validated",
    ev.CRITERION_REJECTED: "criterion.rejected",
    ev.COMPETENCY_VALIDATED: "competency.validated",
    ev.BLOC_PASSED: "bloc.passed",
    ev.APPEAL_OPENED: "appeal.opened",
    ev.APPEAL_RESOLVED: "appeal.resolved",
    ev.VERDICT_PROPOSED: "verdict.proposed",
    ev.VERDICT_REVIEWED: "verdict.reviewed",
    ev.VAE_DECIDED: "vae.decided",
    ev.MISSION_REGISTERED: "mission.registered",
    ev.THESIS_SUBMITTED: "thesis.submitted",
    ev.DEFENCE_SCHEDULED: "defence.scheduled",
    ev.THESIS_DEFENDED: "thesis.defended",
    ev.DEFENCE_CANCELLED: "defence.cancelled",
    ev.DEFENCE_APPEAL_OPENED: "thesis.appeal.opened",
    ev.DEFENCE_APPEAL_RESOLVED: "thesis.appeal.resolved",
    ev.BLOC_CERTIFICATE_ISSUED: "bloc_certificate.issued",
    ev.BLOC_CERTIFICATE_REVOKED: "bloc_certificate.revoked",
    ev.DIPLOMA_ISSUED: "diploma.issued",
    ev.DIPLOMA_REVOKED: "diploma.revoked",
}
EVENT_NAMES: tuple[str, ...] = tuple(WEBHOOK_EVENTS.values())
ALL_EVENTS = "*"

# Default retry schedule: the wait before attempt 2, 3, ... (about 36 h in all, as the big providers do).
DEFAULT_RETRY_SECONDS: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600, 43200, 86400)

DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookRefused(ValueError):
    """A subscription request that cannot be accepted; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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
class Subscription:
    id: str
    lms_client: str
    url: str
    events: tuple[str, ...]  # public names, or ("*",) for every event
    secret: str
    active: bool
    created_at: datetime
    description: str | None = None
    # during a secret rotation the previous secret signs too, until this moment
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None

    def wants(self, event_name: str) -> bool:
        return self.active and (ALL_EVENTS in self.events or event_name in self.events)

    def signing_secrets(self, now: datetime) -> list[str]:
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            keys.append(self.previous_secret)
        return keys


def normalise_events(requested: Sequence[str] | None) -> tuple[str, ...]:
    """The subscribed names, checked against the catalogue; nothing or ``*`` means every event."""
    if not requested or ALL_EVENTS in requested:
        return (ALL_EVENTS,)
    unknown = sorted(set(requested) - set(EVENT_NAMES))
    if unknown:
        raise WebhookRefused(
            "events", f"unknown event(s) {unknown}; choose among {list(EVENT_NAMES)} or '*' for all"
        )
    return tuple(sorted(set(requested)))


def check_url(url: str, *, allow_http: bool, allow_private: bool) -> str:
    """A webhook URL must be https and, unless allowed, not name a loopback or private address."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing it is the check: out of range or not a number raises)
    except ValueError as exc:
        raise WebhookRefused("url", f"not a valid URL ({exc})") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookRefused("url", "give an absolute https:// URL")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise WebhookRefused("url", "a URL has no spaces or control characters; percent-encode them")
    if parts.scheme == "http" and not allow_http:
        raise WebhookRefused("url", "webhooks are sent over https only; give an https:// URL")
    if parts.username or parts.password:
        raise WebhookRefused("url", "credentials in the URL are not accepted; verify the signature instead")
    if parts.fragment:
        raise WebhookRefused("url", "a webhook URL has no #fragment")
    if not allow_private and parts.hostname.lower() in ("localhost", "localhost.localdomain"):
        raise WebhookRefused("url", "a webhook URL may not point at this machine")
    if not allow_private:
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return url  # a host name: its addresses are checked at each delivery (see address_refusal)
        if not address.is_global:
            raise WebhookRefused("url", f"{address} is not a public address")
    return url


def address_refusal(addresses: Iterable[str], *, allow_private: bool) -> str | None:
    """Why a delivery must not go to these resolved addresses (None: it may)."""
    if allow_private:
        return None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address.is_global:
            return f"the host resolves to {address}, which is not a public address"
    return None


def new_secret() -> str:
    """24 random bytes, base64, with the Standard Webhooks prefix."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secrets_: Sequence[str], *, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,<sig>`` per secret, space-separated."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return " ".join(
        f"{SIGNATURE_VERSION},{base64.b64encode(hmac.new(_secret_bytes(s), signed, hashlib.sha256).digest()).decode()}"
        for s in secrets_
    )


def signed_headers(
    secrets_: Sequence[str], *, webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secrets_, webhook_id=webhook_id, timestamp=timestamp, body=body),
    }


# -- the message ------------------------------------------------------------------------------------
def webhook_body(
    *, name: str, event_id: str, event_type: str, event_time: str, data: dict[str, Any], external_id: str
) -> bytes:
    """What the LMS receives: the event's public name and payload, and its own id for the candidate."""
    message = {
        "type": name,
        "timestamp": event_time,
        "event_id": event_id,
        "event_type": event_type,
        "candidate": {"id": data.get("candidate_id"), "external_id": external_id},
        "data": data,
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# -- deliveries -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    """What one POST gave: an HTTP status, or an error before any answer."""

    status_code: int | None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        if self.status_code is None:
            return self.error or "no answer"
        return f"HTTP {self.status_code}" + (f": {self.error}" if self.error else "")


@dataclass(frozen=True)
class NextStep:
    status: DeliveryStatus
    next_attempt_at: datetime | None


def after_attempt(
    attempt: Attempt, *, attempts_made: int, now: datetime, retry_seconds: Sequence[float]
) -> NextStep:
    """Delivered on a 2xx; otherwise retried on the schedule, and failed once the schedule is spent.

    A 3xx counts as a failure: redirects are not followed (they could lead the request anywhere).
    """
    if attempt.succeeded:
        return NextStep("delivered", None)
    if attempts_made > len(retry_seconds):
        return NextStep("failed", None)
    return NextStep("pending", now + timedelta(seconds=retry_seconds[attempts_made - 1]))


@dataclass(frozen=True)
class Delivery:
    """One event for one subscription, and where its sending stands."""

    id: str
    subscription_id: str
    event_id: str
    event_name: str
    candidate_id: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_outcome: str | None = None
    delivered_at: datetime | None = None
    body: bytes = b""
    trace_headers: str = "{}"
