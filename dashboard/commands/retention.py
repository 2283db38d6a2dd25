"""`python -m dashboard retention --older-than YEARS [--dry-run] [--audit]`: destroy what the organisation no
longer keeps, and record the destruction; `retention --set-period data|audit YEARS [--shorten]`: record the
organisation's retention period in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from dashboard import settings
from dashboard.commands.audit import audit_key_problem, print_chain_check, record_command
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.i18n import day, number, t
from queries.audit import verify_chain
from queries.localtime import LOCAL_TIMEZONE
from queries.retention import (
    destroy_audit,
    destroy_data,
    record_destruction,
    record_period,
    recorded_period,
    retention_cutoff,
)

SETTING = {"data": "RELAIS_RETENTION_YEARS", "audit": "RELAIS_AUDIT_RETENTION_YEARS"}
# PostgreSQL's "insufficient privilege": only the schema's owner may record a period.
INSUFFICIENT_PRIVILEGE = "42501"


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back, carrying what it would have destroyed."""


def environment_years(kind: str) -> int | None:
    """The environment's period for data or audit rows, in whole years, or None when not set."""
    value = settings.get(SETTING[kind])
    return int(value) if value.isdigit() and int(value) > 0 else None


def retention_years(engine: Engine, kind: str) -> int | None:
    """The period in force: the one recorded in the database, lengthened by the environment's when that is longer;
    None while none is recorded (the environment alone never allows a destruction)."""
    with engine.connect() as connection:
        recorded = recorded_period(connection, kind)
    if recorded is None:
        return None
    return max(recorded, environment_years(kind) or 0)


def run_retention_command(engine: Engine, older_than: int, dry_run: bool, audit: bool) -> int:
    """Destroy rows older than `older_than` years, never younger than the organisation's retention period."""
    kind = "audit" if audit else "data"
    period = retention_years(engine, kind)
    if period is None:
        error(t("retention.error.unset", kind=kind))
        return EXIT_USAGE
    if older_than < period:
        error(t("retention.error.younger", years=older_than, period=period))
        return EXIT_USAGE
    # An audit destruction's anchor must be signed; a data destruction is evidence too (Law 25), signed whenever
    # the key is at hand.
    key = None
    if audit or settings.audit_key() is not None:
        if audit_key_problem():
            return EXIT_USAGE
        key = settings.audit_key()
    if audit:
        # Destroying the oldest rows of a broken chain and signing a new anchor would hide the break for good.
        check = verify_chain(engine, key)
        if check.reason is not None:
            print_chain_check(check)
            error(t("retention.error.broken"))
            return EXIT_INVALID
    cutoff = retention_cutoff(datetime.now(LOCAL_TIMEZONE).date(), older_than)
    destroy = destroy_audit if audit else destroy_data
    try:
        with engine.begin() as connection:
            destruction = destroy(connection, cutoff)
            if dry_run:
                raise _DryRun(destruction)
            record_destruction(connection, destruction, older_than, settings.operator(), settings.os_user(), key)
    except _DryRun as rolled_back:
        (destruction,) = rolled_back.args
    counts = {"interventions": destruction.interventions, "attempts": destruction.attempts,
              "import_batches": destruction.import_batches, "audit_rows": destruction.audit_rows}
    record_command(engine, "retention", {"kind": kind, "older_than_years": older_than, "dry_run": dry_run},
                   {"cutoff": cutoff.isoformat(), **counts})
    words = {name: number(count) for name, count in counts.items()}
    print(t(f"retention.{'dry' if dry_run else 'done'}.{kind}", cutoff=day(cutoff), years=older_than, **words))
    return EXIT_OK


def run_retention_period_command(engine: Engine, kind: str, years: int, shorten: bool) -> int:
    """Record the organisation's period for data or audit rows; a shorter one than recorded only with `shorten`."""
    asked = {"kind": kind, "years": years, "shorten": shorten}
    try:
        with engine.begin() as connection:
            previous = recorded_period(connection, kind)
            shorter = previous is not None and years < previous and not shorten
            if previous != years and not shorter:
                record_period(connection, kind, years, settings.operator(), settings.os_user())
    except DBAPIError as failure:
        if getattr(failure.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            raise
        record_command(engine, "retention_period", asked, {"status": "refused", "reason": "not_owner"})
        error(t("retention.period.owner"))
        return EXIT_USAGE
    if previous == years:
        print(t("retention.period.unchanged", kind=t(f"retention.kind.{kind}"), years=years))
        return EXIT_OK
    if shorter:
        record_command(engine, "retention_period", asked, {"status": "refused", "reason": "shorter",
                                                           "previous": previous})
        error(t("retention.period.shorter", previous=previous, years=years))
        return EXIT_USAGE
    record_command(engine, "retention_period", asked, {"status": "recorded", "previous": previous})
    if previous is None:
        print(t("retention.period.first", kind=t(f"retention.kind.{kind}"), years=years))
    else:
        print(t("retention.period.changed", kind=t(f"retention.kind.{kind}"), years=years, previous=previous))
    return EXIT_OK
