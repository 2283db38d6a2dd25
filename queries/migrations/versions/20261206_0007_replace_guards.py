"""SQLite: an INSERT OR REPLACE that collides on the audit chain's previous_hash, or on a destruction record's id,
is refused too (SQLite deletes the old row without firing the delete trigger)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:10:00
"""

from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

AUDIT_NO_REPLACE = (
    "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event"
    " WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id OR previous_hash = NEW.previous_hash)"
    " BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)
FORMER_AUDIT_NO_REPLACE = (
    "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event"
    " WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id)"
    " BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)
DESTRUCTION_NO_REPLACE = (
    "CREATE TRIGGER destruction_record_no_replace BEFORE INSERT ON destruction_record"
    " WHEN EXISTS (SELECT 1 FROM destruction_record WHERE id = NEW.id)"
    " BEGIN SELECT RAISE(ABORT, 'destruction_record is append-only'); END"
)


def upgrade() -> None:
    # PostgreSQL has no INSERT OR REPLACE: its ON CONFLICT DO UPDATE fires the update triggers already in place.
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_replace")
    op.execute(AUDIT_NO_REPLACE)
    op.execute(DESTRUCTION_NO_REPLACE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS destruction_record_no_replace")
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_replace")
    op.execute(FORMER_AUDIT_NO_REPLACE)
