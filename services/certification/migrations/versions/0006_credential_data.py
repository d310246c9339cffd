"""credential data: when a bloc pass was earned (bloc.passed earned_at)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # None for passes recorded before: a withdrawal is then judged against passed_at, as before
    with op.batch_alter_table("bloc_passes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("earned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bloc_passes", schema=None) as batch_op:
        batch_op.drop_column("earned_at")
