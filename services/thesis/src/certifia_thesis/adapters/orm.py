from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from certifia_shared.columns import UtcDateTime
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
    Column("enrolled_at", UtcDateTime(), nullable=True),
    # from candidate.withdrawn (the first one counts): no deposit, scheduling or outcome after it
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    # from candidate.accommodation_granted (the latest grant counts): extra time, an adapted defence
    Column("extra_time_factor", Float, nullable=False, server_default=text("1.0")),
    Column("adapted_defence", Text, nullable=True),
    Column("accommodation_granted_at", UtcDateTime(), nullable=True),
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
    Column("registered_at", UtcDateTime(), nullable=False),
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
    Column("defended_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("recorded_by", String(200), nullable=False),  # the account (token subject)
    Column("recorded_by_role", String(20), nullable=True),
    # a failure annulled by an upheld appeal (defence_appeals) no longer counts against the resit limit
    Column("annulled_at", UtcDateTime(), nullable=True),
    Column("annulled_by_appeal", String(36), nullable=True),
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

# Each deposit of the thesis is a version (1, 2, ...); the latest counts. The file itself is in the
# content-addressed store under the deposits folder, named by its SHA-256.
thesis_deposits = Table(
    "thesis_deposits",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("candidate_id", String(64), ForeignKey("candidates.id"), nullable=False),
    Column("mission_id", String(36), ForeignKey("missions.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("abstract", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("filename", String(255), nullable=True),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("submitted_by", String(200), nullable=False),
    UniqueConstraint("candidate_id", "version", name="uq_thesis_deposits_version"),
)

# A scheduled defence; its id is the defence id, which the outcome recorded for it (defences.id) reuses.
# Rescheduling updates the row (date, place, jury); a resit after a failure is a new row.
defence_schedules = Table(
    "defence_schedules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("candidate_id", String(64), ForeignKey("candidates.id"), nullable=False, index=True),
    Column("deposit_id", String(36), ForeignKey("thesis_deposits.id"), nullable=False),
    Column("scheduled_at", UtcDateTime(), nullable=False),
    Column("location", String(300), nullable=False),
    Column("jury", JSON, nullable=False),
    Column("scheduled_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # the standard duration; the candidate's accommodation (extra time) applies to it
    Column("standard_minutes", Integer, nullable=False, server_default=text("60")),
    Column("accommodation", JSON, nullable=True),
    # a withdrawal cancels a defence still to come
    Column("cancelled_at", UtcDateTime(), nullable=True),
    Column("cancelled_by", String(255), nullable=True),
    Column("cancel_reason", String(40), nullable=True),
)

# An appeal (recours) against a failed defence: one per outcome (the defence id), resolved once.
defence_appeals = Table(
    "defence_appeals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("candidate_id", String(64), ForeignKey("candidates.id"), nullable=False, index=True),
    Column("defence_id", String(36), ForeignKey("defences.id"), nullable=False),
    Column("grounds", Text, nullable=False),
    Column("opened_by", String(255), nullable=False),
    Column("opened_by_role", String(20), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("resolve_by", UtcDateTime(), nullable=False),
    Column("outcome", String(20), nullable=True),
    Column("reasoning", Text, nullable=True),
    Column("resolved_by", String(255), nullable=True),
    Column("resolved_by_role", String(20), nullable=True),
    Column("resolved_at", UtcDateTime(), nullable=True),
    UniqueConstraint("defence_id", name="uq_defence_appeals_defence"),
)
