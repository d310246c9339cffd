"""suspension and bloc revocation

Diplomas and bloc certificates get an entry in a suspension status list (those issued before keep their
signed credential unchanged: suspension_list_id and suspension_list_index stay NULL; they can still be
suspended, from the records), the suspension in force and, for bloc certificates, their revocation. Every
suspension and lifting is kept in suspension_history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:05:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SUSPENSION_COLUMNS = ("suspended_at", "suspension_reason", "suspended_by", "suspended_by_role")
REVOCATION_COLUMNS = ("revoked_at", "revocation_reason", "revoked_by", "revoked_by_role")


def _decision(names: tuple[str, str, str, str]) -> list[sa.Column]:
    """When, why, who and in which role (all NULL until it happens)."""
    at, reason, by, role = names
    return [
        sa.Column(at, sa.DateTime(timezone=True), nullable=True),
        sa.Column(reason, sa.String(length=500), nullable=True),
        sa.Column(by, sa.String(length=200), nullable=True),
        sa.Column(role, sa.String(length=20), nullable=True),
    ]


def _suspension_entry(batch_op: Any, table: str) -> None:
    batch_op.add_column(sa.Column("suspension_list_id", sa.String(length=36), nullable=True))
    batch_op.add_column(sa.Column("suspension_list_index", sa.Integer(), nullable=True))
    batch_op.create_unique_constraint(
        f"uq_{table}_suspension_entry", ["suspension_list_id", "suspension_list_index"]
    )
    batch_op.create_foreign_key(
        f"fk_{table}_suspension_list", "status_lists", ["suspension_list_id"], ["list_id"]
    )


def upgrade() -> None:
    with op.batch_alter_table("diplomas", schema=None) as batch_op:
        for column in _decision(SUSPENSION_COLUMNS):
            batch_op.add_column(column)
        _suspension_entry(batch_op, "diplomas")
    with op.batch_alter_table("bloc_certificates", schema=None) as batch_op:
        for column in (*_decision(REVOCATION_COLUMNS), *_decision(SUSPENSION_COLUMNS)):
            batch_op.add_column(column)
        _suspension_entry(batch_op, "bloc_certificates")
    op.create_table(
        "suspension_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("credential_kind", sa.String(length=20), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_by_role", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_suspension_history_credential", "suspension_history", ["credential_kind", "credential_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_suspension_history_credential", table_name="suspension_history")
    op.drop_table("suspension_history")
    added = {"bloc_certificates": REVOCATION_COLUMNS + SUSPENSION_COLUMNS, "diplomas": SUSPENSION_COLUMNS}
    for table, columns in added.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_suspension_list", type_="foreignkey")
            batch_op.drop_constraint(f"uq_{table}_suspension_entry", type_="unique")
            batch_op.drop_column("suspension_list_index")
            batch_op.drop_column("suspension_list_id")
            for column in columns:
                batch_op.drop_column(column)
