"""attempt ids unique per police service; demo rows flagged; a failed import keeps its batch row

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The demo generator's import batches, by the name it signs them with (dashboard.demo.data.IMPORTED_BY).
DEMO_IMPORTER = "demo-data"


def _demo_column() -> sa.Column:
    return sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False,
                                      comment='synthetic demo data'))
        batch_op.drop_constraint(op.f('ck_import_batch_status'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_import_batch_status'), "status IN ('imported', 'partial', 'rejected', 'failed')")
    with op.batch_alter_table('intervention', schema=None) as batch_op:
        batch_op.add_column(_demo_column())
    with op.batch_alter_table('outreach_attempt', schema=None) as batch_op:
        batch_op.add_column(_demo_column())
        batch_op.drop_constraint(op.f('uq_outreach_attempt_attempt_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_outreach_attempt_police_service_attempt_id'),
                                          ['police_service', 'attempt_id'])
    bind = op.get_bind()
    batches = sa.table("import_batch", sa.column("id"), sa.column("imported_by"), sa.column("demo"))
    bind.execute(sa.update(batches).where(batches.c.imported_by == DEMO_IMPORTER).values(demo=True))
    demo_batches = sa.select(batches.c.id).where(batches.c.demo)
    for name in ("intervention", "outreach_attempt"):
        rows = sa.table(name, sa.column("batch_id"), sa.column("demo"))
        bind.execute(sa.update(rows).where(rows.c.batch_id.in_(demo_batches)).values(demo=True))


def downgrade() -> None:
    with op.batch_alter_table('outreach_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_outreach_attempt_police_service_attempt_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_outreach_attempt_attempt_id'), ['attempt_id'])
        batch_op.drop_column('demo')
    with op.batch_alter_table('intervention', schema=None) as batch_op:
        batch_op.drop_column('demo')
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_import_batch_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_import_batch_status'),
                                         "status IN ('imported', 'partial', 'rejected')")
        batch_op.drop_column('demo')
