"""the worker's queue: outcomes wrong_number and unsafe_to_leave_message, attempts recorded in the app, their
revisions, closed cases, and the data version every cache key carries

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OUTCOMES = ("no_answer", "wrong_number", "unsafe_to_leave_message", "accepted", "declined", "already_in_help")
FORMER_OUTCOMES = ("no_answer", "accepted", "declined", "already_in_help")


def _outcome_check(outcomes: tuple[str, ...]) -> str:
    return "outcome IN (" + ", ".join(f"'{outcome}'" for outcome in outcomes) + ")"


def upgrade() -> None:
    with op.batch_alter_table('outreach_attempt', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
        batch_op.drop_constraint(op.f('ck_outreach_attempt_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outreach_attempt_outcome'), _outcome_check(OUTCOMES))
        batch_op.add_column(sa.Column('recorded_by', sa.Text(), nullable=True,
                                      comment='the worker who recorded it in the app; NULL: imported'))
        batch_op.add_column(sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'attempt_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intervention_id', sa.Integer(), nullable=False),
        sa.Column('police_service', sa.String(length=16), nullable=False),
        sa.Column('attempt_id', sa.String(length=64), nullable=False),
        sa.Column('change', sa.String(length=16), nullable=False),
        sa.Column('revised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revised_by', sa.Text(), nullable=False),
        sa.Column('previous', sa.Text(), nullable=False, comment="JSON: the attempt's values before the change"),
        sa.CheckConstraint("change IN ('correction', 'withdrawal')", name=op.f('ck_attempt_revision_change')),
        sa.ForeignKeyConstraint(['intervention_id'], ['intervention.id'], ondelete='CASCADE',
                                name=op.f('fk_attempt_revision_intervention_id_intervention')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_revision')),
    )
    op.create_index('ix_attempt_revision_attempt', 'attempt_revision', ['police_service', 'attempt_id'])
    op.create_table(
        'case_closure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intervention_id', sa.Integer(), nullable=False),
        sa.Column('subject_role', sa.String(length=16), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_by', sa.Text(), nullable=False),
        sa.CheckConstraint("subject_role IN ('offender', 'victim')", name=op.f('ck_case_closure_subject_role')),
        sa.ForeignKeyConstraint(['intervention_id'], ['intervention.id'], ondelete='CASCADE',
                                name=op.f('fk_case_closure_intervention_id_intervention')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_closure')),
        sa.UniqueConstraint('intervention_id', 'subject_role', name=op.f('uq_case_closure_intervention_id_subject_role')),
    )
    version = op.create_table(
        'data_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version')),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table('data_version')
    op.drop_table('case_closure')
    op.drop_index('ix_attempt_revision_attempt', table_name='attempt_revision')
    op.drop_table('attempt_revision')
    with op.batch_alter_table('outreach_attempt', schema=None) as batch_op:
        batch_op.drop_column('recorded_at')
        batch_op.drop_column('recorded_by')
        batch_op.drop_constraint(op.f('ck_outreach_attempt_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outreach_attempt_outcome'), _outcome_check(FORMER_OUTCOMES))
        batch_op.alter_column('outcome', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
