from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, UniqueConstraint

from certifia_shared.messaging import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

candidates = Table(
    "candidates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("lms_client", String(100), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("given_name", String(200), nullable=False),
    Column("family_name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("path", String(20), nullable=False),
    Column("cohort", String(100), nullable=True),
    Column("option", String(2), nullable=True),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("lms_client", "external_id", name="uq_candidates_lms_external"),
)
