"""thesis audit

What the thesis service tells assessment for a candidate's audit trail (defence scheduled, outcome recorded,
defence cancelled, defence appeal opened and resolved): one row per certifia.thesis event, keyed by its id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:50:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('thesis_audit',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('candidate_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=10), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=60), nullable=True),
    sa.Column('grade', sa.Float(), nullable=True),
    sa.Column('defence_id', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('thesis_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thesis_audit_candidate_id'), ['candidate_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('thesis_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thesis_audit_candidate_id'))

    op.drop_table('thesis_audit')
