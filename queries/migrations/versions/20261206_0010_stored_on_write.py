"""stored on write: each intervention's previous and next intervention of the same subject, and what its offender
outreach came to (first attempt, reached, accepted, already in help)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from queries.precomputed import refresh_all_outreach, refresh_all_subject_links

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

COLUMNS = ('previous_us', 'next_us', 'offender_first_attempt_us', 'offender_reached', 'offender_accepted',
           'offender_in_help')


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild on SQLite): every column is nullable or has a constant default.
    op.add_column('intervention', sa.Column(
        'previous_us', sa.BigInteger(), nullable=True,
        comment="occurred_us of the same subject's latest strictly earlier intervention in this police service"))
    op.add_column('intervention', sa.Column(
        'next_us', sa.BigInteger(), nullable=True,
        comment="occurred_us of the same subject's earliest strictly later intervention in this police service"))
    op.add_column('intervention', sa.Column('offender_first_attempt_us', sa.BigInteger(), nullable=True,
                                            comment='earliest offender outreach attempt'))
    for name in COLUMNS[3:]:
        op.add_column('intervention', sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False))
    # The same statements the writers run, so that the stored values mean what the live ones would.
    connection = op.get_bind()
    refresh_all_subject_links(connection)
    refresh_all_outreach(connection)


def downgrade() -> None:
    with op.batch_alter_table('intervention', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
