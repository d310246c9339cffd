"""accommodations: the candidate's extra-time factor in force

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra_time_factor', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('accommodation_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('accommodation_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_column('accommodation_at')
        batch_op.drop_column('accommodation_id')
        batch_op.drop_column('extra_time_factor')
