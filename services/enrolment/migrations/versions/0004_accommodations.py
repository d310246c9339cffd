"""accommodations, who withdrew, the diplomas candidates hold

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 08:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


IN_FORCE = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_by', sa.String(length=255), nullable=True))

    op.create_table('accommodations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('candidate_id', sa.String(length=36), nullable=False),
    sa.Column('extra_time_factor', sa.Float(), nullable=False),
    sa.Column('adapted_formats', sa.Text(), nullable=False),
    sa.Column('adapted_defence', sa.String(length=1000), nullable=True),
    sa.Column('evidence_reference', sa.String(length=500), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('granted_by', sa.String(length=255), nullable=False),
    sa.Column('granted_by_role', sa.String(length=20), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('accommodations', schema=None) as batch_op:
        batch_op.create_index('ix_accommodations_candidate', ['candidate_id', 'granted_at'], unique=False)
        batch_op.create_index(
            'uq_accommodations_in_force',
            ['candidate_id'],
            unique=True,
            sqlite_where=IN_FORCE,
            postgresql_where=IN_FORCE,
        )

    op.create_table('candidate_diplomas',
    sa.Column('diploma_id', sa.String(length=64), nullable=False),
    sa.Column('candidate_id', sa.String(length=64), nullable=False),
    sa.Column('option', sa.String(length=2), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('diploma_id')
    )
    with op.batch_alter_table('candidate_diplomas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_diplomas_candidate_id'), ['candidate_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('candidate_diplomas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_diplomas_candidate_id'))
    op.drop_table('candidate_diplomas')

    with op.batch_alter_table('accommodations', schema=None) as batch_op:
        batch_op.drop_index('uq_accommodations_in_force')
        batch_op.drop_index('ix_accommodations_candidate')
    op.drop_table('accommodations')

    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_by')
