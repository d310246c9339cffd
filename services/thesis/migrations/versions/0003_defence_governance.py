"""defence governance: grade audit, annulled failures, appeals, cancellation, accommodations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("extra_time_factor", sa.Float(), nullable=False, server_default=sa.text("1.0"))
        )
        batch_op.add_column(sa.Column("adapted_defence", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("accommodation_granted_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("defences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by_role", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("annulled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("annulled_by_appeal", sa.String(length=36), nullable=True))

    with op.batch_alter_table("defence_schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("standard_minutes", sa.Integer(), nullable=False, server_default=sa.text("60"))
        )
        batch_op.add_column(sa.Column("accommodation", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=40), nullable=True))

    op.create_table(
        "defence_appeals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("candidate_id", sa.String(length=64), nullable=False),
        sa.Column("defence_id", sa.String(length=36), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=255), nullable=False),
        sa.Column("opened_by_role", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolve_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.Column("resolved_by_role", sa.String(length=20), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"]),
        sa.ForeignKeyConstraint(["defence_id"], ["defences.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("defence_id", name="uq_defence_appeals_defence"),
    )
    with op.batch_alter_table("defence_appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_defence_appeals_candidate_id"), ["candidate_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("defence_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defence_appeals_candidate_id"))
    op.drop_table("defence_appeals")
    with op.batch_alter_table("defence_schedules", schema=None) as batch_op:
        for column in ("cancel_reason", "cancelled_by", "cancelled_at", "accommodation", "standard_minutes"):
            batch_op.drop_column(column)
    with op.batch_alter_table("defences", schema=None) as batch_op:
        for column in ("annulled_by_appeal", "annulled_at", "recorded_by_role"):
            batch_op.drop_column(column)
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        for column in ("accommodation_granted_at", "adapted_defence", "extra_time_factor"):
            batch_op.drop_column(column)
