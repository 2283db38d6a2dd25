"""data that arrives by itself: each batch's police service and channel (command, upload, drop folder, form, demo)
and the duplicate status; hand-entered cases and their confirmation by a police file; partner organisations and the
services they work with; one notice per stale spell

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# Frozen here, as they were when this migration was written (queries/schema.py has the same values).
FORMER_KINDS = ("interventions", "outreach")
KINDS = ("interventions", "outreach", "referrals", "risk", "municipalities", "organisations")
FORMER_STATUSES = ("imported", "partial", "rejected", "failed")
STATUSES = ("imported", "partial", "rejected", "failed", "duplicate")
CHANNELS = ("command", "upload", "drop_folder", "form", "demo")
ORGANISATION_KINDS = ("men_program", "shelter", "victim_assistance", "therapy", "addiction", "legal", "other")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('police_service', sa.String(length=16), nullable=True,
                                      comment='the service the file was confined to; NULL: reference'))
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=True,
                                      comment='command, upload, drop_folder, form or demo'))
        batch_op.drop_constraint(op.f('ck_import_batch_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_import_batch_kind'), _one_of("kind", KINDS))
        batch_op.drop_constraint(op.f('ck_import_batch_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_import_batch_status'), _one_of("status", STATUSES))
        batch_op.create_check_constraint(op.f('ck_import_batch_channel'), _one_of("channel", CHANNELS))
        batch_op.create_index('ix_import_batch_service_finished', ['police_service', 'finished_at'], unique=False)
        batch_op.create_index('ix_import_batch_sha256', ['file_sha256'], unique=False)
    with op.batch_alter_table('intervention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by', sa.Text(), nullable=True,
                                      comment='the worker who entered it by hand; NULL: from a police file'))
        batch_op.add_column(sa.Column('entered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True,
                                      comment="when a police file brought this hand entry (its values replaced the "
                                              "hand's); NULL: not yet"))
        batch_op.create_index('ix_intervention_service_occurred', ['police_service', 'occurred_us'], unique=False)
    op.create_table(
        'organisation',
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('name_fr', sa.Text(), nullable=False),
        sa.Column('name_en', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.CheckConstraint(_one_of("kind", ORGANISATION_KINDS), name=op.f('ck_organisation_kind')),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_organisation')),
    )
    op.create_table(
        'organisation_service',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_code', sa.String(length=16), nullable=False),
        sa.Column('police_service', sa.String(length=16), nullable=False),
        sa.Column('member_from', sa.Date(), nullable=True, comment='NULL: since before any record'),
        sa.Column('member_until', sa.Date(), nullable=True, comment='NULL: still working with it'),
        sa.ForeignKeyConstraint(['organisation_code'], ['organisation.code'],
                                name=op.f('fk_organisation_service_organisation_code_organisation')),
        sa.ForeignKeyConstraint(['police_service'], ['police_service.code'],
                                name=op.f('fk_organisation_service_police_service_police_service')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_service')),
    )
    op.create_index('ix_organisation_service_service', 'organisation_service', ['police_service', 'organisation_code'])
    op.create_table(
        'stale_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('police_service', sa.String(length=16), nullable=False),
        sa.Column('spell', sa.String(length=40), nullable=False,
                  comment="the latest import's finished_at (ISO, UTC) or 'never'"),
        sa.Column('notified_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['police_service'], ['police_service.code'],
                                name=op.f('fk_stale_notice_police_service_police_service')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stale_notice')),
        sa.UniqueConstraint('police_service', 'spell', name=op.f('uq_stale_notice_police_service_spell')),
    )
    # Earlier batches: their service is that of the rows they brought, their channel the command (or the demo).
    bind = op.get_bind()
    batches = sa.table("import_batch", sa.column("id"), sa.column("demo"), sa.column("police_service"),
                       sa.column("channel"))
    for name in ("intervention", "outreach_attempt"):
        rows = sa.table(name, sa.column("batch_id"), sa.column("police_service"))
        service = sa.select(sa.func.min(rows.c.police_service)).where(rows.c.batch_id == batches.c.id)
        bind.execute(sa.update(batches).where(batches.c.police_service.is_(None))
                     .values(police_service=service.scalar_subquery()))
    bind.execute(sa.update(batches).values(channel=sa.case((batches.c.demo, "demo"), else_="command")))


def downgrade() -> None:
    op.drop_table('stale_notice')
    op.drop_index('ix_organisation_service_service', table_name='organisation_service')
    op.drop_table('organisation_service')
    op.drop_table('organisation')
    with op.batch_alter_table('intervention', schema=None) as batch_op:
        batch_op.drop_index('ix_intervention_service_occurred')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('entered_at')
        batch_op.drop_column('entered_by')
    op.execute(sa.text("DELETE FROM import_batch WHERE kind NOT IN ('interventions', 'outreach')"
                       " OR status = 'duplicate'"))
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_import_batch_sha256')
        batch_op.drop_index('ix_import_batch_service_finished')
        batch_op.drop_constraint(op.f('ck_import_batch_channel'), type_='check')
        batch_op.drop_constraint(op.f('ck_import_batch_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_import_batch_status'), _one_of("status", FORMER_STATUSES))
        batch_op.drop_constraint(op.f('ck_import_batch_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_import_batch_kind'), _one_of("kind", FORMER_KINDS))
        batch_op.drop_column('channel')
        batch_op.drop_column('police_service')
