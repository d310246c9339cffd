"""Shared body of every service's Alembic ``env.py`` (online mode, ``compare_type=True``)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Connection


def _configure_and_run(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(target_metadata: MetaData) -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection, target_metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
    engine = create_engine(url)
    with engine.connect() as conn:
        _configure_and_run(conn, target_metadata)
        conn.commit()
