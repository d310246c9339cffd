from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from certifia_shared.config import ServiceSettings, repo_root


class Settings(ServiceSettings):
    service_name: str = "assessment"
    port: int = 8002
    artifacts_dir: str = ""
    max_submission_bytes: int = 50 * 1024 * 1024
    # How long after a rejection the candidate may contest it. 30 days: long enough to read the decision
    # and its grading report and to write grounds, short enough that the evidence is still at hand and
    # that a bloc's result (which certification then relies on) does not stay open for months. A body
    # whose exam regulation sets another delay sets APPEAL_WINDOW_DAYS (e.g. 60, the two months of a
    # French administrative appeal).
    appeal_window_days: int = Field(default=30, ge=1, le=366)
    # How long an officer has to resolve an appeal once it is opened (APPEAL_RESOLUTION_DAYS): the appeal
    # shows resolve_by and, once past, overdue, and GET /appeals lists the overdue ones first. 60 days: the
    # two months after which a French administration's silence on an appeal reads as a refusal.
    appeal_resolution_days: int = Field(default=60, ge=1, le=366)
    # Submissions one candidate may have graded automatically per evaluation: the sixth is refused (409).
    # Each graded attempt tells the candidate something about the hidden test data; five are enough to
    # learn from the feedback and too few to reconstruct the labels. GRADING_MAX_ATTEMPTS_PER_EVALUATION,
    # the same setting grading-compute shows in its grading status.
    grading_max_attempts_per_evaluation: int = Field(default=5, ge=1)
    # Which automated verdicts a jury member answers for (JURY_POLICY_PATH; empty: jury_policy.yaml beside
    # the referential). Read and checked against the referential at start: an invalid policy stops the service.
    jury_policy_path: str = ""

    def resolved_artifacts_dir(self) -> Path:
        return (
            Path(self.artifacts_dir)
            if self.artifacts_dir
            else repo_root() / "var" / "artifacts" / "assessment"
        )

    def appeal_window(self) -> timedelta:
        return timedelta(days=self.appeal_window_days)

    def appeal_resolution_window(self) -> timedelta:
        return timedelta(days=self.appeal_resolution_days)
