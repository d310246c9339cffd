from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from certifia_enrolment.domain.webhooks import DEFAULT_RETRY_SECONDS
from certifia_enrolment.service_layer.webhooks import WebhookPolicy
from certifia_shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "enrolment"
    port: int = 8001
    # LMS webhooks. http:// and loopback/private addresses are refused unless allowed (a local demo, tests).
    webhook_allow_http: bool = False
    webhook_allow_private_addresses: bool = False
    webhook_retry_seconds: tuple[float, ...] = Field(
        default=DEFAULT_RETRY_SECONDS, min_length=0, max_length=20
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0)
    webhook_poll_seconds: float = Field(default=0.5, gt=0)
    webhook_concurrency: int = Field(default=4, ge=1, le=32)

    def webhook_policy(self) -> WebhookPolicy:
        return WebhookPolicy(
            allow_http=self.webhook_allow_http,
            allow_private=self.webhook_allow_private_addresses,
            retry_seconds=tuple(self.webhook_retry_seconds),
            secret_overlap=timedelta(hours=self.webhook_secret_overlap_hours),
            # a lease outlives the POST it covers, so no second worker sends it meanwhile
            lease=timedelta(seconds=self.webhook_timeout_seconds + 30),
        )
