"""Retention: interventions, their attempts and import batches, or audit rows, older than a cutoff are destroyed,
and a destruction record that survives them says what, when and by whom; the organisation's periods are recorded
in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Connection, delete, exists, func, insert, select

from queries.audit import AUDIT_LOCK, destruction_signature
from queries.freshness import bump_version
from queries.localtime import LOCAL_TIMEZONE, epoch_microseconds
from queries.precomputed import forget_links_before
from queries.schema import (
    audit_event,
    destruction_record,
    import_batch,
    intervention,
    outreach_attempt,
    retention_period,
)
from queries.weekly import refresh_all_weeks

RETENTION_KINDS = ("data", "audit")
# No record is dated before 1900 (the importer's floor): a longer period than this destroys nothing more.
MOST_RETENTION_YEARS = 150


@dataclass(frozen=True)
class Destruction:
    """What a retention run destroyed (or, rolled back for a dry run, would destroy): rows before `cutoff`."""

    kind: str
    cutoff: date
    interventions: int = 0
    attempts: int = 0
    import_batches: int = 0
    audit_rows: int = 0
    audit_anchor: str | None = None
    audit_last_id: int | None = None


def retention_cutoff(today: date, years: int) -> date:
    """The local date `years` years before today (1 March for 29 February): rows dated before it go."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return date(today.year - years, 3, 1)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def destroy_data(connection: Connection, cutoff: date) -> Destruction:
    """Delete interventions dated before the cutoff with their attempts, then import batches left without rows."""
    old = select(intervention.c.id).where(intervention.c.occurred_date < cutoff)
    attempts = connection.execute(delete(outreach_attempt).where(outreach_attempt.c.intervention_id.in_(old))).rowcount
    interventions = connection.execute(delete(intervention).where(intervention.c.occurred_date < cutoff)).rowcount
    forget_links_before(connection, epoch_microseconds(_local_midnight(cutoff)))
    # The destroyed weeks were the baseline of the next five years' ranges.
    refresh_all_weeks(connection)
    in_use = [exists().where(table.c.batch_id == import_batch.c.id) for table in (intervention, outreach_attempt)]
    batches = connection.execute(delete(import_batch).where(
        import_batch.c.started_at < _local_midnight(cutoff), *(~used for used in in_use))).rowcount
    bump_version(connection)
    return Destruction("data", cutoff, interventions, attempts, batches)


def _lift_audit_triggers(connection: Connection) -> list[str]:
    """Drop (SQLite) or disable (PostgreSQL, as the table's owner) the audit table's delete guard; what restores it."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        return ["ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"]
    # pysqlite opens its transaction at the first INSERT, UPDATE or DELETE only: a DROP before any of them would be
    # committed at once, and a dry run (or a failure) would leave the audit table without its guard. This DELETE
    # removes nothing and opens the transaction, so the DROP is rolled back with it.
    connection.exec_driver_sql("DELETE FROM audit_event WHERE 0")
    saved = [sql for (sql,) in connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_event_no_delete'")]
    connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
    return saved


def destroy_audit(connection: Connection, cutoff: date) -> Destruction:
    """Delete audit rows written before the cutoff (local midnight); the last one's hash anchors the rows kept."""
    if connection.dialect.name == "postgresql":
        # No row may be appended to one being destroyed: the lock audit_append takes.
        connection.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK)))
    last = connection.execute(select(audit_event.c.id, audit_event.c.row_hash)
                              .where(audit_event.c.occurred_at < _local_midnight(cutoff))
                              .order_by(audit_event.c.id.desc()).limit(1)).first()
    if last is None:
        return Destruction("audit", cutoff)
    # The chain is cut at a row boundary: every row up to the last one before the cutoff goes, none after it.
    restore = _lift_audit_triggers(connection)
    rows = connection.execute(delete(audit_event).where(audit_event.c.id <= last.id)).rowcount
    for statement in restore:
        connection.exec_driver_sql(statement)
    return Destruction("audit", cutoff, audit_rows=rows, audit_anchor=last.row_hash, audit_last_id=last.id)


def record_destruction(connection: Connection, destruction: Destruction, years: int, run_by: str,
                       os_user: str, audit_key: str | None = None) -> None:
    """The destruction record: what period, how many rows of each kind, who, when; signed with the audit key when
    given, and an anchor never without it."""
    values = {"run_at": datetime.now(UTC), "run_by": run_by, "os_user": os_user, "kind": destruction.kind,
              "older_than_years": years, "cutoff_date": destruction.cutoff, "interventions": destruction.interventions,
              "attempts": destruction.attempts, "audit_rows": destruction.audit_rows,
              "import_batches": destruction.import_batches, "audit_anchor": destruction.audit_anchor,
              "audit_last_id": destruction.audit_last_id}
    if destruction.audit_anchor is not None and not audit_key:
        raise ValueError("an audit anchor must be signed with the audit key")
    if audit_key:
        values["signature"] = destruction_signature(audit_key, values)
    connection.execute(insert(destruction_record).values(**values))


def recorded_period(connection: Connection, kind: str) -> int | None:
    """The organisation's retention period of data or audit rows as last recorded, in years, or None."""
    return connection.scalar(select(retention_period.c.years).where(retention_period.c.kind == kind)
                             .order_by(retention_period.c.id.desc()).limit(1))


def record_period(connection: Connection, kind: str, years: int, set_by: str, os_user: str) -> None:
    """Record a new retention period of data or audit rows; the ones before it stay, as its history."""
    connection.execute(insert(retention_period).values(kind=kind, years=years, set_at=datetime.now(UTC),
                                                       set_by=set_by, os_user=os_user))
