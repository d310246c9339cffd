from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

from certifia_shared.messaging import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

# A local copy of what candidate.enrolled says (this service never reads enrolment's database).
candidates = Table(
    "candidates",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("lms_client", String(200), nullable=False),
    Column("path", String(20), nullable=False),
    Column("given_name", String(200), nullable=False),
    Column("family_name", String(200), nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=True),
)

missions = Table(
    "missions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("candidate_id", String(64), ForeignKey("candidates.id"), nullable=False, index=True),
    Column("company", String(200), nullable=False),
    Column("title", String(200), nullable=True),
    Column("tutor", String(200), nullable=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("fte", Float, nullable=False),
    Column("months_fte", Float, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    # The same mission sent twice (a retry) is recognised by company and dates: never two rows.
    UniqueConstraint("candidate_id", "company", "start_date", "end_date", name="uq_missions_identity"),
)

PASSED = text("outcome = 'passed'")

defences = Table(
    "defences",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("candidate_id", String(64), ForeignKey("candidates.id"), nullable=False),
    Column("mission_id", String(36), ForeignKey("missions.id"), nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("grade", Float, nullable=True),
    Column("jury", JSON, nullable=False),
    Column("defended_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Index("ix_defences_candidate_id", "candidate_id"),
    # A passed defence is final: at most one per candidate, even under concurrent requests.
    Index(
        "uq_defences_one_pass",
        "candidate_id",
        unique=True,
        postgresql_where=PASSED,
        sqlite_where=PASSED,
    ),
)
