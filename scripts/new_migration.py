"""Autogenerate a service's next Alembic revision from its tables.

    .venv/bin/python scripts/new_migration.py enrolment "add cohort"

It upgrades a scratch SQLite database to head, then compares it with the service's metadata.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

PACKAGES = {
    "enrolment": "certifia_enrolment",
    "assessment": "certifia_assessment",
    "grading-compute": "certifia_grading",
    "thesis": "certifia_thesis",
    "certification": "certifia_certification",
}


def main(service: str, message: str) -> None:
    root = Path(__file__).resolve().parents[1]
    migrations = root / "services" / service / "migrations"
    importlib.import_module(f"{PACKAGES[service]}.adapters.orm")
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/scratch.db")
        cfg = Config()
        cfg.set_main_option("script_location", str(migrations))
        cfg.set_main_option("path_separator", "os")
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            revisions = sorted((migrations / "versions").glob("*.py"))
            rev_id = f"{len(revisions) + 1:04d}"
            command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
