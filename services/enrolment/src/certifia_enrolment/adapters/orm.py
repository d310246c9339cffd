from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
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
    Column("enrolled_at", UtcDateTime(), nullable=False),
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    Column("withdrawal_reason", String(500), nullable=True),
    Column("withdrawn_by_role", String(20), nullable=True),
    Column("withdrawn_by", String(255), nullable=True),
    UniqueConstraint("lms_client", "external_id", name="uq_candidates_lms_external"),
)

# Every grant of accommodations (décret 2021-389), the one in force and those it replaced. At most one in
# force per candidate (the partial unique index): two concurrent grants cannot both stay in force.
IN_FORCE = text("superseded_at IS NULL")
accommodations = Table(
    "accommodations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("candidate_id", String(36), ForeignKey("candidates.id"), nullable=False),
    Column("extra_time_factor", Float, nullable=False),
    Column("adapted_formats", Text, nullable=False),  # JSON list of formats
    Column("adapted_defence", String(1000), nullable=True),
    Column("evidence_reference", String(500), nullable=False),  # a reference, never the document
    Column("reason", String(2000), nullable=False),
    Column("granted_by", String(255), nullable=False),
    Column("granted_by_role", String(20), nullable=False),
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("superseded_at", UtcDateTime(), nullable=True),
    Index("ix_accommodations_candidate", "candidate_id", "granted_at"),
    Index(
        "uq_accommodations_in_force",
        "candidate_id",
        unique=True,
        sqlite_where=IN_FORCE,
        postgresql_where=IN_FORCE,
    ),
)

# The diplomas the candidates hold, from certification's diploma.issued / diploma.revoked (written in the
# consumer's transaction, beside its inbox row): while one is in force, the option no longer changes.
candidate_diplomas = Table(
    "candidate_diplomas",
    metadata,
    Column("diploma_id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("option", String(2), nullable=True),
    Column("issued_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

# An LMS's webhook endpoints. The secret must be readable to sign with: it never leaves the API except
# once, in the answer that creates or rotates it.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("lms_client", String(100), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("events", Text, nullable=False),  # JSON list of public event names, or ["*"]
    Column("description", String(500), nullable=True),
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100), nullable=True),
    Column("previous_secret_until", UtcDateTime(), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# One row per (subscription, event): written in the consumer's transaction (with its inbox row), so a
# redelivered event never makes a second delivery; sent by the delivery worker until a 2xx or the end of
# the retry schedule. lease_until keeps two workers (or a restarted one) from sending it at once.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subscription_id", String(36), ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_name", String(100), nullable=False),
    Column("candidate_id", String(36), nullable=False),
    Column("body", Text, nullable=False),
    Column("trace_headers", Text, nullable=False, default="{}"),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("last_attempt_at", UtcDateTime(), nullable=True),
    Column("last_outcome", String(500), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)
