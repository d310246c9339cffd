from __future__ import annotations

from certifia_shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "enrolment"
    port: int = 8001
