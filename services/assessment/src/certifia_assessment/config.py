from __future__ import annotations

from pathlib import Path

from certifia_shared.config import ServiceSettings, repo_root


class Settings(ServiceSettings):
    service_name: str = "assessment"
    port: int = 8002
    artifacts_dir: str = ""
    max_submission_bytes: int = 50 * 1024 * 1024

    def resolved_artifacts_dir(self) -> Path:
        return (
            Path(self.artifacts_dir)
            if self.artifacts_dir
            else repo_root() / "var" / "artifacts" / "assessment"
        )

    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://127.0.0.1:{self.port}"
