"""bloc certificates as signed credentials with a status list entry

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bloc_certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("status_list_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("status_list_index", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_bloc_certificates_status_entry", ["status_list_id", "status_list_index"]
        )
        batch_op.create_foreign_key(
            "fk_bloc_certificates_status_list", "status_lists", ["status_list_id"], ["list_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("bloc_certificates", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bloc_certificates_status_list", type_="foreignkey")
        batch_op.drop_constraint("uq_bloc_certificates_status_entry", type_="unique")
        batch_op.drop_column("status_list_index")
        batch_op.drop_column("status_list_id")
        batch_op.drop_column("credential")
