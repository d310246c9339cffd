from __future__ import annotations

from certifia_shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "thesis"
    port: int = 8004
