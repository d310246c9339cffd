from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from certifia_shared.config import ServiceSettings, repo_root
from certifia_thesis.domain.accommodation import DEFAULT_DEFENCE_MINUTES
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
    # The defence is graded out of 20: passed needs a grade of at least DEFENCE_PASS_MARK, failed less.
    defence_pass_mark: float = Field(default=10.0, gt=0, le=20)
    # How many defences a candidate may fail before no new one is scheduled (2: one defence, one resit);
    # a failure annulled by an upheld appeal does not count.
    defence_max_attempts: int = Field(default=2, ge=1, le=10)
    # The defence's standard duration in minutes; a candidate's extra-time factor multiplies it.
    defence_duration_minutes: int = Field(default=DEFAULT_DEFENCE_MINUTES, ge=5, le=480)
    # Days the candidate has to contest a failed defence (inclusive; times their extra-time factor), and
    # days an officer has to resolve the appeal (shown as the appeal's resolve_by).
    appeal_window_days: int = Field(default=30, ge=1, le=366)
    appeal_resolution_days: int = Field(default=60, ge=1, le=366)

    def appeal_window(self) -> timedelta:
        return timedelta(days=self.appeal_window_days)

    def appeal_resolution_time(self) -> timedelta:
        return timedelta(days=self.appeal_resolution_days)

    def resolved_deposits_dir(self) -> Path:
        return Path(self.deposits_dir) if self.deposits_dir else repo_root() / "var" / "artifacts" / "thesis"
