from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
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
    # who recorded the withdrawal and why (candidate.withdrawn; withdrawn_by only on events that carry it)
    Column("withdrawn_by", String(255), nullable=True),
    Column("withdrawn_by_role", String(10), nullable=True),
    Column("withdrawal_reason", String(500), nullable=True),
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
    # when the right was earned (the hand-in graded, the appeal upheld); NULL on rows older than 0006
    Column("earned_at", UtcDateTime(), nullable=True),
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
    Column("earned_at", UtcDateTime(), nullable=True),  # the latest of its criteria's (NULL before 0006)
)

bloc_passes = Table(
    "bloc_passes",
    metadata,
    Column("candidate_id", String(64), primary_key=True),
    Column("bloc", String(2), primary_key=True),
    Column("via", String(12), nullable=False),
    Column("passed_at", UtcDateTime(), nullable=False),
    Column("earned_at", UtcDateTime(), nullable=True),  # bloc.passed's earned_at (NULL before 0006)
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

# Automated verdicts that a person must answer for (jury_policy.yaml): a proposal per (submission, criterion),
# its id derived from both, so a replayed grading.completed adds nothing. status: 'pending' -> 'decided', or
# 'pending' -> 'escalated' (second_reader, the reader disagreed) -> 'decided', each by a conditional UPDATE.
verdict_proposals = Table(
    "verdict_proposals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("submission_id", String(64), nullable=False),
    Column("evaluation_id", String(64), nullable=False),
    Column("bloc", String(2), nullable=False),
    Column("criterion_id", String(64), nullable=False),
    Column("criterion_code", String(64), nullable=False),
    Column("proposed_outcome", String(10), nullable=False),
    Column("policy", String(20), nullable=False),
    Column("policy_version", String(40), nullable=False),
    Column("review_reasons", JSON, nullable=False),
    Column("grader", String(200), nullable=False),
    Column("evidence", JSON, nullable=False),  # digest, pack, the verdict and the exact metrics
    Column("proposed_at", UtcDateTime(), nullable=False),
    Column("status", String(10), nullable=False),
    Column("decision_id", String(64), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Index("ix_verdict_proposals_status", "status", "proposed_at"),
)

# Every review of a proposal (a second opinion, a confirmation, an override). One per reviewer and proposal:
# a reader who gave the second opinion cannot also decide the escalated proposal.
verdict_reviews = Table(
    "verdict_reviews",
    metadata,
    Column("proposal_id", String(64), primary_key=True),
    Column("reviewed_by", String(200), primary_key=True),
    Column("reviewed_by_role", String(10), nullable=False),
    Column("action", String(20), nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("comment", Text, nullable=False),
    Column("reviewed_at", UtcDateTime(), nullable=False),
)

# VAE jury decisions on a whole bloc (the audit trail of VAE; the pass itself is in bloc_passes).
vae_decisions = Table(
    "vae_decisions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("bloc", String(2), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("competencies_validated", JSON, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_by_role", String(10), nullable=False),
    Column("comment", Text, nullable=False),
    Column("evidence_reference", String(500), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("referential_version", String(20), nullable=False),
)

# Accommodations granted to a candidate (candidate.accommodation_granted); the latest grant is in force.
accommodations = Table(
    "accommodations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("extra_time_factor", Float, nullable=False),
    Column("evidence_reference", String(500), nullable=False),
    Column("granted_by", String(255), nullable=False),
    Column("granted_by_role", String(10), nullable=False),
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("reason", Text, nullable=True),
)

# The thesis service's facts about a candidate, for their audit trail (defence scheduled, outcome recorded,
# defence cancelled, defence appeal opened and resolved): one row per event, keyed by the event's id.
thesis_audit = Table(
    "thesis_audit",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("candidate_id", String(64), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("account", String(255), nullable=True),
    Column("role", String(10), nullable=True),
    Column("reason", Text, nullable=True),
    Column("outcome", String(60), nullable=True),
    Column("grade", Float, nullable=True),
    Column("defence_id", String(64), nullable=False),
    Column("ref", String(64), nullable=False),
)
