from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Integer, MetaData, String, Table, Text

from certifia_shared.columns import UtcDateTime
from certifia_shared.messaging import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

# One grading job per submission: queued by the consumer, run by a worker, finished with its event.
jobs = Table(
    "grading_jobs",
    metadata,
    Column("submission_id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("evaluation_id", String(64), nullable=False),
    Column("pack_id", String(100), nullable=False),
    Column("criteria", JSON, nullable=False),
    Column("artifact", JSON, nullable=False),
    Column("trace_headers", JSON, nullable=False),
    Column("status", String(10), nullable=False, index=True),  # queued, running, completed, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("result", JSON, nullable=True),
    Column("reason", Text, nullable=True),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
)

# Who enrolled each candidate (candidate.enrolled): the tenant whose LMS may read their grading reports.
candidates = Table(
    "candidates",
    metadata,
    Column("candidate_id", String(64), primary_key=True),
    Column("lms_client", String(200), nullable=False),
    Column("enrolled_at", UtcDateTime(), nullable=False),
    # the extra-time accommodation in force (candidate.accommodation_granted): the latest grant wins
    Column("extra_time_factor", Float, nullable=True),
    Column("accommodation_id", String(64), nullable=True),
    Column("accommodation_at", UtcDateTime(), nullable=True),
)
