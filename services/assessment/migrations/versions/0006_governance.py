"""governance

Who answers for what: VAE jury rulings (vae_decisions), accommodations granted (their extra time factor
stretches the appeal window), who recorded a withdrawal and why, and when each right was earned
(decisions.earned_at, competency_validations.earned_at, bloc_passes.earned_at: bloc.passed's earned_at).
Rows older than this revision keep NULL there and are read as earned at their own time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:05:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vae_decisions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('candidate_id', sa.String(length=64), nullable=False),
    sa.Column('bloc', sa.String(length=2), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('competencies_validated', sa.JSON(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_by_role', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('evidence_reference', sa.String(length=500), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('referential_version', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('vae_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vae_decisions_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('accommodations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('candidate_id', sa.String(length=64), nullable=False),
    sa.Column('extra_time_factor', sa.Float(), nullable=False),
    sa.Column('evidence_reference', sa.String(length=500), nullable=False),
    sa.Column('granted_by', sa.String(length=255), nullable=False),
    sa.Column('granted_by_role', sa.String(length=10), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('accommodations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accommodations_candidate_id'), ['candidate_id'], unique=False)

    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_role', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('withdrawal_reason', sa.String(length=500), nullable=True))

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('competency_validations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('bloc_passes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bloc_passes', schema=None) as batch_op:
        batch_op.drop_column('earned_at')

    with op.batch_alter_table('competency_validations', schema=None) as batch_op:
        batch_op.drop_column('earned_at')

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('earned_at')

    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('withdrawn_by_role')
        batch_op.drop_column('withdrawn_by')

    with op.batch_alter_table('accommodations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accommodations_candidate_id'))

    op.drop_table('accommodations')
    with op.batch_alter_table('vae_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vae_decisions_candidate_id'))

    op.drop_table('vae_decisions')
