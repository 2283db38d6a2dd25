"""The audit trail: who viewed or exported what, when; append-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, Select, insert, select

from queries.filters import Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.runner import fetch_frame
from queries.schema import audit_event

AUDIT_ROWS_SHOWN = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to list: a local date range, optionally one subject and one action."""

    start: date
    end: date
    subject: str | None = None
    action: str | None = None


def record_event(
    bind: Engine | Connection,
    *,
    subject: str,
    roles: frozenset[str] | tuple[str, ...],
    action: str,
    page: str | None = None,
    filters: dict | None = None,
    detail: dict | None = None,
) -> None:
    """Append one audit row."""
    values = {
        "occurred_at": datetime.now(UTC),
        "subject": subject,
        "roles": ",".join(sorted(roles)),
        "action": action,
        "page": page,
        "filters": json.dumps(filters, ensure_ascii=False, sort_keys=True, default=str) if filters else None,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else None,
    }
    statement = insert(audit_event).values(**values)
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            connection.execute(statement)
    else:
        bind.execute(statement)


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def audit_statement(flt: AuditFilter) -> Select:
    """The newest audit rows of the filter's local days, at most AUDIT_ROWS_SHOWN."""
    statement = (
        select(
            audit_event.c.occurred_at,
            audit_event.c.subject,
            audit_event.c.roles,
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
