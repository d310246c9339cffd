"""Settings from the environment; unsafe values fail at start-up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from certifia_shared.config import ServiceSettings, repo_root


def test_a_missing_issuer_is_refused_saying_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OIDC_ISSUER", raising=False)
    with pytest.raises(ValidationError) as err:
        ServiceSettings()
    assert "OIDC_ISSUER" in str(err.value) and "keycloak.sh issuer" in str(err.value)


def test_the_leeway_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIDC_LEEWAY_SECONDS", "3600")
    with pytest.raises(ValidationError):
        ServiceSettings()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIDC_ISSUER", "https://login.example.org/realms/certifia/")
    monkeypatch.setenv("OIDC_ROLES_CLAIM", "realm_access.roles")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1234")
    monkeypatch.setenv("CONSUMER_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("RUN_BACKGROUND_WORKERS", "false")
    settings = ServiceSettings()
    assert settings.oidc_issuer == "https://login.example.org/realms/certifia"
    assert settings.oidc_verifier().mapping.roles == "realm_access.roles"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:1234"
    assert settings.consumer_max_attempts == 5
    assert settings.run_background_workers is False


def test_no_signing_secret_is_read_any_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service used to hold CERTIFIA_AUTH_SECRET, the one HS256 key that minted any role."""
    assert not any("secret" in name for name in ServiceSettings.model_fields)


def test_database_url_defaults_to_a_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = ServiceSettings()
    assert settings.resolved_database_url("x") == f"sqlite:///{repo_root() / 'var' / 'x'}.db"
    configured = ServiceSettings(database_url="postgresql+psycopg://h/db")
    assert configured.resolved_database_url("x") == "postgresql+psycopg://h/db"


def test_repo_root_holds_the_contracts() -> None:
    assert (repo_root() / "contracts" / "events").is_dir()
    assert repo_root() == Path(__file__).resolve().parents[2]


def test_the_database_pool_is_a_setting_bounded_and_given_to_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scaled-out instances share one PostgreSQL server: each process's connections are sized by settings."""
    from certifia_shared.db import make_engine

    monkeypatch.setenv("OIDC_ISSUER", "https://login.example.org/realms/certifia")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "2")
    settings = ServiceSettings()
    engine = make_engine(
        "postgresql+psycopg://u:p@127.0.0.1:1/db",
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 2)  # type: ignore[attr-defined]
    monkeypatch.setenv("DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValidationError, match="database_pool_size"):
        ServiceSettings()


def test_the_web_workers_are_a_setting_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIDC_ISSUER", "https://login.example.org/realms/certifia")
    assert ServiceSettings().web_workers == 1
    monkeypatch.setenv("WEB_WORKERS", "4")
    assert ServiceSettings().web_workers == 4
    monkeypatch.setenv("WEB_WORKERS", "0")
    with pytest.raises(ValidationError, match="web_workers"):
        ServiceSettings()


@pytest.mark.parametrize(
    ("hours", "kept"), [("48", timedelta(hours=48)), ("0", None), (None, timedelta(days=7))]
)
def test_the_outbox_retention_is_a_setting_given_to_the_relay(
    monkeypatch: pytest.MonkeyPatch, hours: str | None, kept: timedelta | None
) -> None:
    from sqlalchemy import MetaData

    from certifia_shared.messaging import messaging_tables
    from certifia_shared.runtime import Runtime

    monkeypatch.setenv("OIDC_ISSUER", "https://login.example.org/realms/certifia")
    monkeypatch.setenv("KAFKA_INSECURE_DEVELOPMENT", "true")
    if hours is not None:
        monkeypatch.setenv("OUTBOX_RETENTION_HOURS", hours)
    runtime: Runtime[Any] = Runtime(
        settings=ServiceSettings(),
        engine=None,
        session_factory=lambda: None,  # type: ignore[arg-type, return-value]
        tables=messaging_tables(MetaData()),
        uow_factory=lambda: None,  # type: ignore[arg-type, return-value]
    )
    assert runtime.relay._retention == kept
    monkeypatch.setenv("OUTBOX_RETENTION_HOURS", "-1")
    with pytest.raises(ValidationError, match="outbox_retention_hours"):
        ServiceSettings()
