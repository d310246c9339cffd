"""Settings every service shares, read from the environment (pydantic-settings).

Each service subclasses :class:`ServiceSettings` with its own defaults. Unsafe values fail at start-up.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_MIN_LENGTH = 32


def repo_root() -> Path:
    """The checkout's root (the folder holding contracts/), or the current directory in an image."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "contracts" / "events").is_dir():
            return parent
    return Path.cwd()


class ServiceSettings(BaseSettings):
    # hide_input_in_errors: a refused value (e.g. a too short secret) is never echoed into logs.
    model_config = SettingsConfigDict(env_file=None, extra="ignore", hide_input_in_errors=True)

    service_name: str = "certifia"
    host: str = "127.0.0.1"
    database_url: str = ""
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    auth_secret: SecretStr = Field(default=SecretStr(""), validation_alias="CERTIFIA_AUTH_SECRET")
    auth_issuer: str = Field(default="certifia", validation_alias="CERTIFIA_AUTH_ISSUER")
    public_base_url: str = ""
    otel_exporter_otlp_endpoint: str = ""
    otel_spans_file: str = Field(default="", validation_alias="CERTIFIA_SPANS_FILE")
    log_level: str = "INFO"
    relay_poll_seconds: float = 0.2
    consumer_max_attempts: int = 3
    consumer_max_consecutive_failures: int = 50
    run_background_workers: bool = True

    @field_validator("auth_secret")
    @classmethod
    def _secret_is_strong(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < DEV_SECRET_MIN_LENGTH:
            raise ValueError(
                f"CERTIFIA_AUTH_SECRET must be set to at least {DEV_SECRET_MIN_LENGTH} characters "
                "(generate one with: python -c 'import secrets;print(secrets.token_urlsafe(48))')"
            )
        return value

    def resolved_database_url(self, default_name: str) -> str:
        """DATABASE_URL if configured, else a SQLite file under var/ (the embedded default)."""
        if self.database_url:
            return self.database_url
        var = repo_root() / "var"
        var.mkdir(exist_ok=True)
        return f"sqlite:///{var / default_name}.db"
