"""`python -m dashboard retention --older-than YEARS [--dry-run] [--audit]`: destroy what the organisation no
longer keeps, and record the destruction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from dashboard import settings
from dashboard.commands.audit import record_command
from dashboard.commands.exits import EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.i18n import day, number, t
from queries.localtime import LOCAL_TIMEZONE
from queries.retention import destroy_audit, destroy_data, record_destruction, retention_cutoff

SETTING = {"data": "RELAIS_RETENTION_YEARS", "audit": "RELAIS_AUDIT_RETENTION_YEARS"}


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back, carrying what it would have destroyed."""


def retention_years(kind: str) -> int | None:
    """The organisation's retention period for data or audit rows, in whole years, or None when not set."""
    value = settings.get(SETTING[kind])
    return int(value) if value.isdigit() and int(value) > 0 else None


def run_retention_command(engine: Engine, older_than: int, dry_run: bool, audit: bool) -> int:
    """Destroy rows older than `older_than` years, never younger than the organisation's retention period."""
    kind = "audit" if audit else "data"
    period = retention_years(kind)
    if period is None:
        error(t("retention.error.unset", setting=SETTING[kind]))
        return EXIT_USAGE
    if older_than < period:
        error(t("retention.error.younger", years=older_than, period=period, setting=SETTING[kind]))
        return EXIT_USAGE
    cutoff = retention_cutoff(datetime.now(LOCAL_TIMEZONE).date(), older_than)
    destroy = destroy_audit if audit else destroy_data
    try:
        with engine.begin() as connection:
            destruction = destroy(connection, cutoff)
            if dry_run:
                raise _DryRun(destruction)
            record_destruction(connection, destruction, older_than, settings.operator(), settings.os_user())
    except _DryRun as rolled_back:
        (destruction,) = rolled_back.args
    counts = {"interventions": destruction.interventions, "attempts": destruction.attempts,
              "import_batches": destruction.import_batches, "audit_rows": destruction.audit_rows}
    record_command(engine, "retention", {"kind": kind, "older_than_years": older_than, "dry_run": dry_run},
                   {"cutoff": cutoff.isoformat(), **counts})
    words = {name: number(count) for name, count in counts.items()}
    print(t(f"retention.{'dry' if dry_run else 'done'}.{kind}", cutoff=day(cutoff), years=older_than, **words))
    return EXIT_OK
