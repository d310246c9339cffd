from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from certifia_shared.columns import UtcDateTime
from certifia_shared.messaging import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

# What assessment knows of a candidate, learnt from enrolment's events.
candidates = Table(
    "candidates",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("path", String(20), nullable=False),
    Column("option", String(2), nullable=True),
    Column("given_name", String(200), nullable=False),
    Column("family_name", String(200), nullable=False),
    Column("enrolled_at", UtcDateTime(), nullable=False),
    Column("withdrawn_at", UtcDateTime(), nullable=True),  # from candidate.withdrawn
    # the LMS client that enrolled them (candidate.enrolled): the tenant, see certifia_shared.tenancy
    Column("lms_client", String(200), nullable=True),
)

# Every decision ever taken (the audit trail); the latest per (candidate, criterion) is the status.
decisions = Table(
    "decisions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False),
    Column("bloc", String(2), nullable=False),
    Column("criterion_id", String(64), nullable=False),
    Column("criterion_code", String(64), nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("comment", Text, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_by_role", String(10), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("submission_id", String(64), nullable=True),
    Index("ix_decisions_candidate_criterion", "candidate_id", "criterion_id", "decided_at"),
)

# One row per validated criterion: the unique key makes a double validation impossible.
criterion_validations = Table(
    "criterion_validations",
    metadata,
    Column("candidate_id", String(64), primary_key=True),
    Column("criterion_id", String(64), primary_key=True),
    Column("bloc", String(2), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("validated_at", UtcDateTime(), nullable=False),
)

competency_validations = Table(
    "competency_validations",
    metadata,
    Column("candidate_id", String(64), primary_key=True),
    Column("competency_id", String(64), primary_key=True),
    Column("bloc", String(2), nullable=False),
    Column("validated_at", UtcDateTime(), nullable=False),
)

bloc_passes = Table(
    "bloc_passes",
    metadata,
    Column("candidate_id", String(64), primary_key=True),
    Column("bloc", String(2), primary_key=True),
    Column("via", String(12), nullable=False),
    Column("passed_at", UtcDateTime(), nullable=False),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("evaluation_id", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("media_type", String(200), nullable=False),
    Column("filename", String(255), nullable=True),
    Column("pack_id", String(100), nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("status", String(10), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("report", JSON, nullable=True),
    Column("failure_reason", Text, nullable=True),
    UniqueConstraint("candidate_id", "idempotency_key", name="uq_submissions_idempotency"),
)

# Appeals against a rejection. A decision is contested once (one appeal per decision, open or resolved:
# a dismissal is final), so decision_id is unique: of two concurrent openings, one commits and the other
# gets an IntegrityError. status goes from 'open' to 'resolved' once, by a conditional UPDATE.
appeals = Table(
    "appeals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("decision_id", String(64), nullable=False),
    Column("bloc", String(2), nullable=False),
    Column("criterion_id", String(64), nullable=False),
    Column("criterion_code", String(64), nullable=False),
    Column("grounds", Text, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("opened_by_role", String(10), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("status", String(10), nullable=False),
    Column("outcome", String(10), nullable=True),
    Column("reasoning", Text, nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Column("resolved_by_role", String(10), nullable=True),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("resolution_decision_id", String(64), nullable=True),
    UniqueConstraint("decision_id", name="uq_appeals_decision"),
)
