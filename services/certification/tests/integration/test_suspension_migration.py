"""Migration 0007 (suspension and bloc certificate revocation) upgrades and downgrades on SQLite, and keeps
what was issued before: a diploma without a suspension entry can still be suspended, from the records."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from certifia_certification.bootstrap import MIGRATIONS, create_application
from certifia_certification.domain.signing import SigningKey
from certifia_shared.db import make_engine
from certifia_shared.testing import auth


def _config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def test_0007_downgrades_and_upgrades(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        command.upgrade(_config(conn), "head")
    with engine.begin() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("bloc_certificates")}
        assert {"suspension_list_id", "revoked_at", "suspended_at"} <= columns
        assert "suspension_history" in inspect(conn).get_table_names()
        command.downgrade(_config(conn), "0006")
    with engine.begin() as conn:
        assert "suspension_history" not in inspect(conn).get_table_names()
        assert "suspended_at" not in {c["name"] for c in inspect(conn).get_columns("diplomas")}
        command.upgrade(_config(conn), "head")
    engine.dispose()


def test_a_diploma_issued_before_suspension_can_be_suspended(
    sqlite_url: str, settings_for: Any, make_legacy_diploma: Any, key_setting: Any
) -> None:
    key = SigningKey.generate()
    credential = make_legacy_diploma(sqlite_url, key)  # a database at revision 0001
    diploma_id = credential["id"].removeprefix("urn:uuid:")
    settings = settings_for(sqlite_url, CERTIFIA_SIGNING_KEY=key_setting(key))
    with TestClient(create_application(settings)) as client:  # migrates to head
        officer = auth("officer", subject="officer-7")
        r = client.post(f"/diplomas/{diploma_id}/suspension", json={"reason": "Enquête."}, headers=officer)
        assert r.status_code == 200 and r.json()["suspended"] is True
        check = client.post("/verifications", json=credential).json()
        assert check["valid"] is False and check["suspended"] is True and check["reason"].endswith("Enquête.")
        assert client.get(f"/diplomas/{diploma_id}/credential", headers=officer).json() == credential
