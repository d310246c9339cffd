"""Settings from the environment; unsafe values fail at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from certifia_shared.config import DEV_SECRET_MIN_LENGTH, ServiceSettings, repo_root
from certifia_shared.testing import TEST_SECRET


def test_missing_secret_is_refused_saying_how_to_generate_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CERTIFIA_AUTH_SECRET", raising=False)
    with pytest.raises(ValidationError) as err:
        ServiceSettings()
    message = str(err.value)
    assert "CERTIFIA_AUTH_SECRET" in message
    assert f"at least {DEV_SECRET_MIN_LENGTH} characters" in message
    assert "secrets.token_urlsafe" in message


def test_short_secret_is_refused_and_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTIFIA_AUTH_SECRET", "hunter2-is-short")
    with pytest.raises(ValidationError) as err:
        ServiceSettings()
    assert "secrets.token_urlsafe" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTIFIA_AUTH_SECRET", TEST_SECRET.get_secret_value())
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1234")
    monkeypatch.setenv("CONSUMER_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("RUN_BACKGROUND_WORKERS", "false")
    settings = ServiceSettings()
    assert settings.auth_secret == TEST_SECRET
    assert settings.kafka_bootstrap_servers == "127.0.0.1:1234"
    assert settings.consumer_max_attempts == 5
    assert settings.run_background_workers is False
    assert TEST_SECRET.get_secret_value() not in repr(settings)


def test_database_url_defaults_to_a_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = ServiceSettings(CERTIFIA_AUTH_SECRET=TEST_SECRET.get_secret_value())
    assert settings.resolved_database_url("x") == f"sqlite:///{repo_root() / 'var' / 'x'}.db"
    configured = ServiceSettings(
        CERTIFIA_AUTH_SECRET=TEST_SECRET.get_secret_value(), database_url="postgresql+psycopg://h/db"
    )
    assert configured.resolved_database_url("x") == "postgresql+psycopg://h/db"


def test_repo_root_holds_the_contracts() -> None:
    assert (repo_root() / "contracts" / "events").is_dir()
    assert repo_root() == Path(__file__).resolve().parents[2]
