"""destruction records: what retention deleted, when and by whom; append-only like the audit trail

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# A destruction record is evidence that data was destroyed as the law asks: nobody edits or removes one.
APPEND_ONLY = {
    "sqlite": tuple(
        f"CREATE TRIGGER destruction_record_no_{event} BEFORE {event.upper()} ON destruction_record"
        " BEGIN SELECT RAISE(ABORT, 'destruction_record is append-only'); END" for event in ("update", "delete")),
    "postgresql": (
        "CREATE FUNCTION destruction_record_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'destruction_record is append-only'; END $$",
        "CREATE TRIGGER destruction_record_append_only BEFORE UPDATE OR DELETE ON destruction_record"
        " FOR EACH ROW EXECUTE FUNCTION destruction_record_refuse_change()",
        "CREATE TRIGGER destruction_record_no_truncate BEFORE TRUNCATE ON destruction_record"
        " FOR EACH STATEMENT EXECUTE FUNCTION destruction_record_refuse_change()",
    ),
}


def upgrade() -> None:
    op.create_table(
        'destruction_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('run_by', sa.Text(), nullable=False, comment='RELAIS_USER, else the system user'),
        sa.Column('os_user', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('older_than_years', sa.Integer(), nullable=False),
        sa.Column('cutoff_date', sa.Date(), nullable=False,
                  comment='rows dated before this local date were destroyed'),
        sa.Column('interventions', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('audit_rows', sa.Integer(), nullable=False),
        sa.Column('import_batches', sa.Integer(), nullable=False),
        sa.Column('audit_anchor', sa.String(length=64), nullable=True,
                  comment='hash of the last audit row destroyed: the first one kept chains to it'),
        sa.CheckConstraint("kind IN ('data', 'audit')", name=op.f('ck_destruction_record_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_record')),
    )
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('destruction_record')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS destruction_record_refuse_change()")
