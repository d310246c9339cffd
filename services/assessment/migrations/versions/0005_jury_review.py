"""jury review

Proposals: automated verdicts a jury member must confirm or override (jury_policy.yaml), one per
(submission, criterion); and their reviews, one per reviewer and proposal.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verdict_proposals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('candidate_id', sa.String(length=64), nullable=False),
    sa.Column('submission_id', sa.String(length=64), nullable=False),
    sa.Column('evaluation_id', sa.String(length=64), nullable=False),
    sa.Column('bloc', sa.String(length=2), nullable=False),
    sa.Column('criterion_id', sa.String(length=64), nullable=False),
    sa.Column('criterion_code', sa.String(length=64), nullable=False),
    sa.Column('proposed_outcome', sa.String(length=10), nullable=False),
    sa.Column('policy', sa.String(length=20), nullable=False),
    sa.Column('policy_version', sa.String(length=40), nullable=False),
    sa.Column('review_reasons', sa.JSON(), nullable=False),
    sa.Column('grader', sa.String(length=200), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decision_id', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('verdict_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verdict_proposals_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('ix_verdict_proposals_status', ['status', 'proposed_at'], unique=False)

    op.create_table('verdict_reviews',
    sa.Column('proposal_id', sa.String(length=64), nullable=False),
    sa.Column('reviewed_by', sa.String(length=200), nullable=False),
    sa.Column('reviewed_by_role', sa.String(length=10), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('proposal_id', 'reviewed_by')
    )


def downgrade() -> None:
    op.drop_table('verdict_reviews')
    with op.batch_alter_table('verdict_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_verdict_proposals_status')
        batch_op.drop_index(batch_op.f('ix_verdict_proposals_candidate_id'))

    op.drop_table('verdict_proposals')
