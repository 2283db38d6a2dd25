"""The audit trail: who viewed or exported what, when; append-only."""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, Select, func, insert, select
from sqlalchemy.exc import IntegrityError

from queries.filters import Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.runner import fetch_frame
from queries.schema import audit_event, destruction_record

AUDIT_ROWS_SHOWN = 500
ALL_SERVICES = "*"
GENESIS_HASH = "0" * 64
CHAINED_COLUMNS = ("occurred_at", "subject", "roles", "services", "action", "page", "filters", "detail")
CHAIN_ATTEMPTS = 20
AUDIT_LOCK = 0x52454C414953  # "RELAIS": the PostgreSQL advisory lock that orders audit appends
VERIFY_CHUNK = 10_000
# Every kind of row the trail holds, in the order the audit page offers them.
AUDIT_ACTIONS = ("view", "export", "search", "sign_in", "sign_out", "session_refused", "refused", "metrics",
                 "import", "retention", "rekey", "attempt", "attempt_corrected", "attempt_withdrawn", "case_closed",
                 "report", "alerts", "alert_sent")


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to list: a local date range, optionally one subject and one action."""

    start: date
    end: date
    subject: str | None = None
    action: str | None = None


def audit_services(scope: Scope) -> str:
    """The police services a scope reads, as recorded on an audit row: codes comma-separated, or '*'."""
    return ALL_SERVICES if scope.all_services else ",".join(sorted(scope.services))


def chained_hash(previous_hash: str, values: dict) -> str:
    """SHA-256 of the previous row's hash and this row's content, in one canonical spelling on both databases."""
    content = {name: values[name] for name in CHAINED_COLUMNS}
    content["occurred_at"] = values["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds")
    payload = json.dumps([previous_hash, content], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chain_anchor(connection: Connection) -> str:
    """Where the chain starts: the hash of the last row retention destroyed, else the genesis hash."""
    anchor = connection.scalar(
        select(destruction_record.c.audit_anchor).where(destruction_record.c.audit_anchor.is_not(None))
        .order_by(destruction_record.c.id.desc()).limit(1))
    return anchor or GENESIS_HASH


def _append(connection: Connection, values: dict) -> None:
    if connection.dialect.name == "postgresql":
        # One appender at a time, until its transaction ends: without it, many sessions signing in together each
        # read the same last row and retried until some ran out. SQLite's writers are one at a time already.
        connection.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK)))
    last = connection.execute(select(audit_event.c.row_hash).order_by(audit_event.c.id.desc()).limit(1)).scalar()
    previous = last or chain_anchor(connection)
    connection.execute(
        insert(audit_event).values(**values, previous_hash=previous, row_hash=chained_hash(previous, values))
    )


def record_event(
    bind: Engine | Connection,
    *,
    subject: str,
    roles: frozenset[str] | tuple[str, ...],
    action: str,
    services: str | None = None,
    page: str | None = None,
    filters: dict | None = None,
    detail: dict | None = None,
) -> None:
    """Append one audit row, chained to the row before it."""
    values = {
        "occurred_at": datetime.now(UTC),
        "subject": subject,
        "roles": ",".join(sorted(roles)),
        "services": services,
        "action": action,
        "page": page,
        "filters": json.dumps(filters, ensure_ascii=False, sort_keys=True, default=str) if filters else None,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else None,
    }
    for attempt in range(CHAIN_ATTEMPTS):
        try:
            if isinstance(bind, Engine):
                with bind.begin() as connection:
                    _append(connection, values)
            else:
                with bind.begin_nested():
                    _append(bind, values)
            return
        except IntegrityError:
            # Another writer chained to the same last row first (previous_hash is unique): read it and retry.
            if attempt == CHAIN_ATTEMPTS - 1:
                raise


@dataclass(frozen=True)
class ChainCheck:
    """What `audit verify` found: rows read, the first broken link (id and why), and the last row's id and hash."""

    rows: int
    broken_id: int | None = None
    reason: str | None = None
    last_id: int | None = None
    last_hash: str | None = None


def verify_chain(bind: Engine | Connection) -> ChainCheck:
    """Walk the audit rows in id order; the first row whose link or content does not match stops the walk."""
    columns = [audit_event.c.id, audit_event.c.previous_hash, audit_event.c.row_hash,
               *(audit_event.c[name] for name in CHAINED_COLUMNS)]
    statement = select(*columns).order_by(audit_event.c.id).execution_options(yield_per=VERIFY_CHUNK)
    rows, last_id = 0, None
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as connection:
        # After retention destroyed the oldest rows, the first row kept chains to the last one destroyed.
        previous = chain_anchor(connection)
        for row in connection.execute(statement):
            values = row._asdict()
            if values["previous_hash"] != previous:
                return ChainCheck(rows, values["id"], "link", last_id, previous)
            if chained_hash(previous, values) != values["row_hash"]:
                return ChainCheck(rows, values["id"], "content", last_id, previous)
            previous, rows, last_id = values["row_hash"], rows + 1, values["id"]
    return ChainCheck(rows, last_id=last_id, last_hash=previous if last_id is not None else None)


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def audit_statement(flt: AuditFilter) -> Select:
    """The newest audit rows of the filter's local days, at most AUDIT_ROWS_SHOWN."""
    statement = (
        select(
            audit_event.c.occurred_at,
            audit_event.c.subject,
            audit_event.c.roles,
            audit_event.c.services,
            audit_event.c.action,
            audit_event.c.page,
            audit_event.c.filters,
        )
        .where(
            audit_event.c.occurred_at >= _local_midnight_utc(flt.start),
            audit_event.c.occurred_at < _local_midnight_utc(flt.end + timedelta(days=1)),
        )
        .order_by(audit_event.c.occurred_at.desc(), audit_event.c.id.desc())
        .limit(AUDIT_ROWS_SHOWN)
    )
    if flt.subject:
        statement = statement.where(audit_event.c.subject == flt.subject)
    if flt.action:
        statement = statement.where(audit_event.c.action == flt.action)
    return statement


def audit_events(bind: Engine | Connection, flt: AuditFilter, scope: Scope) -> pd.DataFrame:
    """Audit rows for an administrator; anyone else is refused before the query runs."""
    scope.require_role("admin")
    return fetch_frame(bind, audit_statement(flt))


def audit_subjects(bind: Engine | Connection, scope: Scope) -> list[str]:
    """Every subject that appears in the audit trail, for the administrator's filter."""
    scope.require_role("admin")
    frame = fetch_frame(bind, select(audit_event.c.subject).distinct().order_by(audit_event.c.subject))
    return list(frame["subject"])
