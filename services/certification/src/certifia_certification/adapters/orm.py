from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from certifia_shared.columns import UtcDateTime
from certifia_shared.messaging import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

# One row per candidate we have heard of, from whichever event came first.
candidates = Table(
    "candidates",
    metadata,
    Column("candidate_id", String(64), primary_key=True),
    Column("given_name", String(200), nullable=True),
    Column("family_name", String(200), nullable=True),
    Column("email", String(320), nullable=True),
    # the LMS client that enrolled them (candidate.enrolled): the tenant, see certifia_shared.tenancy
    Column("lms_client", String(200), nullable=True),
    Column("path", String(20), nullable=True),
    Column("enrolled_at", UtcDateTime(), nullable=True),
    Column("option", String(2), nullable=True),
    Column("option_chosen_at", UtcDateTime(), nullable=True),
    Column("thesis_defence_id", String(64), nullable=True),
    Column("thesis_mission_id", String(64), nullable=True),
    Column("thesis_outcome", String(10), nullable=True),
    Column("thesis_defended_at", UtcDateTime(), nullable=True),
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    Column("first_seen_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

bloc_passes = Table(
    "bloc_passes",
    metadata,
    Column("candidate_id", String(64), ForeignKey("candidates.candidate_id"), nullable=False),
    Column("bloc", String(3), nullable=False),
    Column("via", String(20), nullable=False),
    Column("passed_at", UtcDateTime(), nullable=False),
    Column("referential_version", String(20), nullable=False),
    Column("competencies", Text, nullable=False),
    # when the rights behind the pass were earned (bloc.passed earned_at; None for older events): what a
    # withdrawal is judged against
    Column("earned_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("candidate_id", "bloc"),
)

bloc_certificates = Table(
    "bloc_certificates",
    metadata,
    Column("certificate_id", String(36), primary_key=True),
    Column("candidate_id", String(64), ForeignKey("candidates.candidate_id"), nullable=False),
    Column("bloc", String(3), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    # the signed credential and its entry in the revocation status lists the diplomas use (None: recorded
    # before bloc certificates were credentials)
    Column("credential", Text, nullable=True),
    Column(
        "status_list_id",
        String(36),
        ForeignKey("status_lists.list_id", name="fk_bloc_certificates_status_list"),
        nullable=True,
    ),
    Column("status_list_index", Integer, nullable=True),
    # its entry in a suspension status list (None: issued before suspension existed), its revocation (final)
    # and the suspension in force (its history: suspension_history)
    Column(
        "suspension_list_id",
        String(36),
        ForeignKey("status_lists.list_id", name="fk_bloc_certificates_suspension_list"),
        nullable=True,
    ),
    Column("suspension_list_index", Integer, nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revocation_reason", String(500), nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Column("revoked_by_role", String(20), nullable=True),
    Column("suspended_at", UtcDateTime(), nullable=True),
    Column("suspension_reason", String(500), nullable=True),
    Column("suspended_by", String(200), nullable=True),
    Column("suspended_by_role", String(20), nullable=True),
    UniqueConstraint("candidate_id", "bloc", name="uq_bloc_certificates_candidate_bloc"),
    UniqueConstraint("status_list_id", "status_list_index", name="uq_bloc_certificates_status_entry"),
    UniqueConstraint(
        "suspension_list_id", "suspension_list_index", name="uq_bloc_certificates_suspension_entry"
    ),
)

# Status lists (W3C Bitstring Status List), of purpose ``revocation`` or ``suspension``: ``allocated``
# entries handed out so far, in the order ``index_key`` shuffles (domain/status_list.shuffled_index). The bits
# themselves are not stored: a bit is set when the diploma or bloc certificate holding that entry is revoked
# (revocation list) or suspended now (suspension list).
status_lists = Table(
    "status_lists",
    metadata,
    Column("list_id", String(36), primary_key=True),
    Column("purpose", String(20), nullable=False),
    Column("size", Integer, nullable=False),
    Column("allocated", Integer, nullable=False),
    Column("index_key", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# At most one diploma per candidate: the unique constraint makes a race or a redelivery fail, not duplicate.
# One diploma per status list entry (uq_diplomas_status_entry); none for diplomas issued before the lists.
diplomas = Table(
    "diplomas",
    metadata,
    Column("diploma_id", String(36), primary_key=True),
    Column("candidate_id", String(64), ForeignKey("candidates.candidate_id"), nullable=False),
    Column("path", String(20), nullable=False),
    Column("option", String(2), nullable=True),
    Column("blocs", Text, nullable=False),
    Column("thesis_defence_id", String(64), nullable=True),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("credential", Text, nullable=False),
    Column(
        "status_list_id",
        String(36),
        ForeignKey("status_lists.list_id", name="fk_diplomas_status_list"),
        nullable=True,
    ),
    Column("status_list_index", Integer, nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revocation_reason", String(500), nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Column("revoked_by_role", String(20), nullable=True),
    Column(
        "suspension_list_id",
        String(36),
        ForeignKey("status_lists.list_id", name="fk_diplomas_suspension_list"),
        nullable=True,
    ),
    Column("suspension_list_index", Integer, nullable=True),
    Column("suspended_at", UtcDateTime(), nullable=True),
    Column("suspension_reason", String(500), nullable=True),
    Column("suspended_by", String(200), nullable=True),
    Column("suspended_by_role", String(20), nullable=True),
    UniqueConstraint("candidate_id", name="uq_diplomas_candidate"),
    UniqueConstraint("status_list_id", "status_list_index", name="uq_diplomas_status_entry"),
    UniqueConstraint("suspension_list_id", "suspension_list_index", name="uq_diplomas_suspension_entry"),
)

# Every suspension and lifting of a diploma or bloc certificate (the audit trail; the one in force is on the
# credential's row): who (the token's subject), when, why. Never updated nor deleted.
suspension_history = Table(
    "suspension_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("credential_kind", String(20), nullable=False),  # diploma | bloc_certificate
    Column("credential_id", String(36), nullable=False),
    Column("action", String(10), nullable=False),  # suspended | lifted
    Column("at", UtcDateTime(), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_by_role", String(20), nullable=False),
    Index("ix_suspension_history_credential", "credential_kind", "credential_id"),
)

# Public keys that signed credentials (kept so old diplomas stay verifiable); the private key only for the
# key this service generated itself (slot "generated": at most one), never for one from the settings.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("public_key", String(64), nullable=False),
    Column("private_key", Text, nullable=True),
    Column("origin", String(20), nullable=False),
    Column("slot", String(20), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("slot", name="uq_signing_keys_slot"),
)
