"""interventions per police service, municipality and ISO week, with the usual range of the weeks that could be
unusual, stored on write; an index on the attempts a worker recorded

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from queries.weekly import refresh_ranges

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'weekly_count',
        sa.Column('police_service', sa.String(length=16), nullable=False),
        sa.Column('municipality_code', sa.String(length=5), nullable=False),
        sa.Column('week', sa.String(length=8), nullable=False, comment='ISO week of the local date, YYYY-Www'),
        sa.Column('interventions', sa.Integer(), nullable=False),
        sa.Column('expected', sa.Float(), nullable=True,
                  comment='NULL: the week could not be unusual, so it was not fitted'),
        sa.Column('upper', sa.Float(), nullable=True),
        sa.Column('method', sa.String(length=16), nullable=True),
        sa.Column('alarm', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(['municipality_code'], ['municipality.code'],
                                name=op.f('fk_weekly_count_municipality_code_municipality')),
        sa.ForeignKeyConstraint(['police_service'], ['police_service.code'],
                                name=op.f('fk_weekly_count_police_service_police_service')),
        sa.PrimaryKeyConstraint('police_service', 'municipality_code', 'week', name=op.f('pk_weekly_count')),
    )
    op.create_index('ix_weekly_count_week', 'weekly_count', ['week', 'police_service', 'municipality_code',
                                                             'interventions'])
    op.create_index('ix_outreach_attempt_recorded', 'outreach_attempt', ['recorded_by', 'recorded_at'])
    # The counts as this revision stored them (0012 adds columns, and counts again with the writers' statements);
    # then the writers' own ranges.
    op.execute('INSERT INTO weekly_count (police_service, municipality_code, week, interventions) '
               'SELECT police_service, municipality_code, occurred_week, count(*) FROM intervention '
               'GROUP BY police_service, municipality_code, occurred_week')
    bind = op.get_bind()
    first = bind.execute(sa.text('SELECT police_service, min(week) FROM weekly_count GROUP BY police_service'))
    refresh_ranges(bind, dict(first.all()))


def downgrade() -> None:
    op.drop_index('ix_outreach_attempt_recorded', table_name='outreach_attempt')
    op.drop_index('ix_weekly_count_week', table_name='weekly_count')
    op.drop_table('weekly_count')
