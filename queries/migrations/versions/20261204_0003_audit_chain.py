"""audit rows chained by hash, with the viewer's services; INSERT OR REPLACE and TRUNCATE refused

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 21:20:00
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from alembic import op

from queries.audit import CHAINED_COLUMNS, GENESIS_HASH, chained_hash

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SQLITE_NO_REPLACE = (
    "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event"
    " WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id)"
    " BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)
POSTGRESQL_NO_TRUNCATE = (
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()"
)


def _sqlite_update_and_delete_triggers() -> None:
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{event}")
        op.execute(f"CREATE TRIGGER audit_event_no_{event} BEFORE {event.upper()} ON audit_event"
                   " BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")


def _chain_existing_rows() -> None:
    """Hash the rows written before the chain existed, in id order (the update trigger is lifted meanwhile)."""
    bind = op.get_bind()
    table = sa.table("audit_event", sa.column("id", sa.Integer), sa.column("previous_hash", sa.String),
                     sa.column("row_hash", sa.String),
                     *(sa.column(name, sa.DateTime(timezone=True) if name == "occurred_at" else sa.Text)
                       for name in CHAINED_COLUMNS))
    rows = bind.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    previous = GENESIS_HASH
    for row in rows:
        values = dict(row)
        moment = values["occurred_at"]
        values["occurred_at"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        digest = chained_hash(previous, values)
        bind.execute(sa.update(table).where(table.c.id == row["id"]).values(previous_hash=previous, row_hash=digest))
        previous = digest


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('services', sa.Text(), nullable=True,
                                      comment="the viewer's police services, comma-separated, or *"))
        batch_op.add_column(sa.Column('previous_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('previous_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('row_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_previous_hash'), ['previous_hash'])
    if dialect == "sqlite":
        # batch_alter_table rebuilt the table, dropping its triggers: all of them are made again.
        _sqlite_update_and_delete_triggers()
        op.execute(SQLITE_NO_REPLACE)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        op.execute(POSTGRESQL_NO_TRUNCATE)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_replace")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_previous_hash'), type_='unique')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('previous_hash')
        batch_op.drop_column('services')
    if dialect == "sqlite":
        _sqlite_update_and_delete_triggers()
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
