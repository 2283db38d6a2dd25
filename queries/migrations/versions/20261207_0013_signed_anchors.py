"""signed anchors and checkpoints of the audit chain; on PostgreSQL audit rows are appended only by audit_append(),
which sets the id, the time and the chain; on SQLite a trigger refuses a row that does not follow the last one now;
the retention periods recorded in the database

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# Frozen here, as they were when this migration was written (queries/audit.py has the same values).
GENESIS_HASH = "0" * 64
AUDIT_LOCK = 0x52454C414953
# How far from the database's clock a new row's time may be on SQLite (a writer waiting for the lock retries).
SQLITE_CLOCK_SLACK_SECONDS = 10
APPEND_ONLY_TABLES = ("audit_checkpoint", "retention_period")

LATEST_ANCHOR = "SELECT {column} FROM destruction_record WHERE audit_anchor IS NOT NULL ORDER BY id DESC LIMIT 1"
SQLITE_CHAIN = (
    "CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event"
    " WHEN NEW.id IS NOT coalesce((SELECT max(id) FROM audit_event), (" + LATEST_ANCHOR.format(column="audit_last_id")
    + "), 0) + 1"
    " OR NEW.previous_hash IS NOT coalesce((SELECT row_hash FROM audit_event ORDER BY id DESC LIMIT 1), ("
    + LATEST_ANCHOR.format(column="audit_anchor") + f"), '{GENESIS_HASH}')"
    " OR NEW.occurred_at IS NULL"
    # julianday() of a text that is no time is NULL, and so would be the comparison below: refused outright.
    " OR julianday(NEW.occurred_at) IS NULL"
    f" OR abs(julianday(NEW.occurred_at) - julianday('now')) * 86400 > {SQLITE_CLOCK_SLACK_SECONDS}"
    " BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: a new row takes the next id, follows the last row"
    " and is dated now'); END"
)

# The one definition of a row's hash, as queries/audit.py chained_hash spells it: SHA-256 of the JSON text
# ["previous",{content, keys sorted}] with "," and ":" as separators. to_json(text) escapes exactly as Python's
# json.dumps(ensure_ascii=False) does, so both build the same text.
POSTGRESQL_APPEND = """
CREATE FUNCTION audit_append(new_subject text, new_roles text, new_services text, new_action text, new_page text,
                             new_filters text, new_detail text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    moment timestamptz;
    previous text;
    canonical text;
    appended integer;
BEGIN
    -- One appender at a time until its transaction ends, so that each reads the true last row.
    PERFORM pg_advisory_xact_lock({lock});
    moment := clock_timestamp();
    SELECT row_hash INTO previous FROM {schema}.audit_event ORDER BY id DESC LIMIT 1;
    IF previous IS NULL THEN
        SELECT audit_anchor INTO previous FROM {schema}.destruction_record WHERE audit_anchor IS NOT NULL
            ORDER BY id DESC LIMIT 1;
    END IF;
    previous := coalesce(previous, '{genesis}');
    canonical := '[' || to_json(previous)::text
        || ',{{"action":' || coalesce(to_json(new_action)::text, 'null')
        || ',"detail":' || coalesce(to_json(new_detail)::text, 'null')
        || ',"filters":' || coalesce(to_json(new_filters)::text, 'null')
        || ',"occurred_at":'
        || to_json(to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00')::text
        || ',"page":' || coalesce(to_json(new_page)::text, 'null')
        || ',"roles":' || coalesce(to_json(new_roles)::text, 'null')
        || ',"services":' || coalesce(to_json(new_services)::text, 'null')
        || ',"subject":' || coalesce(to_json(new_subject)::text, 'null')
        || '}}]';
    INSERT INTO {schema}.audit_event (occurred_at, subject, roles, services, action, page, filters, detail,
                                      previous_hash, row_hash)
    VALUES (moment, new_subject, new_roles, new_services, new_action, new_page, new_filters, new_detail, previous,
            encode(sha256(convert_to(canonical, 'UTF8')), 'hex'))
    RETURNING id INTO appended;
    RETURN appended;
END $$
"""
APPEND_SIGNATURE = "audit_append(text, text, text, text, text, text, text)"

# The app's role may record the fingerprint of the first pseudonyms, not replace the one stored pseudonyms were
# made with: `rekey`, which does, is run as the table's owner.
POSTGRESQL_FINGERPRINT_GUARD = """
CREATE FUNCTION pseudonym_check_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF NEW.fingerprint IS DISTINCT FROM OLD.fingerprint
       AND NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
       AND EXISTS (SELECT 1 FROM {schema}.intervention WHERE subject_key IS NOT NULL AND NOT demo) THEN
        RAISE EXCEPTION 'pseudonym_check: only the owner (rekey) changes the fingerprint of stored pseudonyms';
    END IF;
    RETURN NEW;
END $$
"""

# Whether a row is demo data is set when it is written: turning real rows into demo ones (and back) would let the
# app's role remove them, or change the pseudonyms' fingerprint, whose guard looks at real rows only.
POSTGRESQL_DEMO_GUARD = """
CREATE FUNCTION intervention_demo_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF NEW.demo IS DISTINCT FROM OLD.demo
       AND NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION 'intervention: only the owner changes whether a row is demo data';
    END IF;
    RETURN NEW;
END $$
"""


def _append_only(table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        guards = [f"CREATE TRIGGER {table}_no_{event} BEFORE {event.upper()} ON {table}"
                  f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END" for event in ("update", "delete")]
        # SQLite's INSERT OR REPLACE deletes the row it collides with without firing the delete trigger.
        guards.append(f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}"
                      f" WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id)"
                      f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        return guards
    return [f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION relais_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION relais_refuse_change()"]


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    # Plain ADD COLUMN: a batch rebuild of the table would drop its append-only triggers.
    op.add_column('destruction_record', sa.Column('audit_last_id', sa.Integer(), nullable=True,
                                                  comment='id of the last audit row destroyed'))
    op.add_column('destruction_record', sa.Column(
        'signature', sa.String(length=64), nullable=True,
        comment='HMAC-SHA256 of the record under RELAIS_AUDIT_KEY; set on every record with an anchor'))
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('audit_id', sa.Integer(), nullable=False, comment="the last audit row's id (0: none yet)"),
        sa.Column('row_hash', sa.String(length=64), nullable=False,
                  comment="that row's hash (or the anchor's, the chain being empty)"),
        sa.Column('rows', sa.Integer(), nullable=False, comment='rows the chain held, from its start'),
        sa.Column('signature', sa.String(length=64), nullable=False,
                  comment='HMAC-SHA256 of the checkpoint under RELAIS_AUDIT_KEY'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    )
    op.create_table(
        'retention_period',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('years', sa.Integer(), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('set_by', sa.Text(), nullable=False, comment='RELAIS_USER, else the system user'),
        sa.Column('os_user', sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('data', 'audit')", name=op.f('ck_retention_period_kind')),
        sa.CheckConstraint('years > 0', name=op.f('ck_retention_period_years')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_period')),
    )
    if dialect == "postgresql":
        schema = bind.dialect.identifier_preparer.quote(bind.exec_driver_sql("SELECT current_schema()").scalar())
        op.execute("CREATE FUNCTION relais_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$"
                   " BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$")
        op.execute(POSTGRESQL_APPEND.format(schema=schema, lock=AUDIT_LOCK, genesis=GENESIS_HASH))
        # Functions are executable by PUBLIC by default: the roles script grants it to the app's role alone.
        op.execute(f"REVOKE ALL ON FUNCTION {APPEND_SIGNATURE} FROM PUBLIC")
        op.execute(POSTGRESQL_FINGERPRINT_GUARD.format(schema=schema))
        op.execute("CREATE TRIGGER pseudonym_check_guard BEFORE UPDATE ON pseudonym_check"
                   " FOR EACH ROW EXECUTE FUNCTION pseudonym_check_guard()")
        op.execute(POSTGRESQL_DEMO_GUARD.format(schema=schema))
        op.execute("CREATE TRIGGER intervention_demo_guard BEFORE UPDATE OF demo ON intervention"
                   " FOR EACH ROW EXECUTE FUNCTION intervention_demo_guard()")
    elif dialect == "sqlite":
        op.execute(SQLITE_CHAIN)
    for table in APPEND_ONLY_TABLES:
        for statement in _append_only(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS intervention_demo_guard ON intervention")
        op.execute("DROP FUNCTION IF EXISTS intervention_demo_guard()")
        op.execute("DROP TRIGGER IF EXISTS pseudonym_check_guard ON pseudonym_check")
        op.execute("DROP FUNCTION IF EXISTS pseudonym_check_guard()")
        op.execute(f"DROP FUNCTION IF EXISTS {APPEND_SIGNATURE}")
        op.execute("DROP FUNCTION IF EXISTS relais_refuse_change()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_chain")
    op.drop_column('destruction_record', 'signature')
    op.drop_column('destruction_record', 'audit_last_id')
