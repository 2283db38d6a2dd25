"""arrests, repeats and contact bans beside the interventions of each stored week, so that every period's counts
read its whole weeks from them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from queries.weekly import refresh_all_weeks

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

FIGURES = ('arrests', 'repeats', 'contact_bans')


def upgrade() -> None:
    with op.batch_alter_table('weekly_count') as table:
        for name in FIGURES:
            table.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    op.drop_index('ix_weekly_count_week', table_name='weekly_count')
    op.create_index('ix_weekly_count_week', 'weekly_count', ['week', 'police_service', 'municipality_code',
                                                             'interventions', *FIGURES])
    # The same statements the writers run, over every row already stored.
    refresh_all_weeks(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_weekly_count_week', table_name='weekly_count')
    op.create_index('ix_weekly_count_week', 'weekly_count', ['week', 'police_service', 'municipality_code',
                                                             'interventions'])
    with op.batch_alter_table('weekly_count') as table:
        for name in FIGURES:
            table.drop_column(name)
