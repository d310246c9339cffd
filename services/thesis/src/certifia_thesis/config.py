from __future__ import annotations

from pathlib import Path

from pydantic import Field

from certifia_shared.config import ServiceSettings, repo_root
from certifia_thesis.domain.deposit import DEFAULT_MAX_BYTES


class Settings(ServiceSettings):
    service_name: str = "thesis"
    port: int = 8004
    # Where deposited theses are kept (content-addressed by SHA-256); default var/artifacts/thesis.
    deposits_dir: str = ""
    # The largest thesis PDF accepted (20 MiB: a thesis with figures; larger is refused with 413).
    max_thesis_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    # Days the jury has to read the deposited thesis before the defence. The local stack (make run) sets
    # 0 so the demo can schedule a defence a few seconds ahead.
    defence_reading_days: int = Field(default=7, ge=0, le=365)

    def resolved_deposits_dir(self) -> Path:
        return Path(self.deposits_dir) if self.deposits_dir else repo_root() / "var" / "artifacts" / "thesis"
