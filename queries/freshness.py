"""The data version: one number every write and import bumps, read into every cache key; and each police service's
freshness: its latest import and latest intervention."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, ScalarSelect, func, or_, select, update

from queries.filters import MetricFilter, Period, Scope
from queries.runner import fetch_frame
from queries.schema import data_version, import_batch, intervention, police_service
from queries.scoping import service_conditions


def current_version(bind: Engine | Connection) -> int:
    """The data version now: it changes whenever stored data does, in any server process."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return current_version(connection)
    return bind.scalar(select(data_version.c.version).where(data_version.c.id == 1)) or 0


def bump_version(connection: Connection) -> None:
    """Count one more change of the stored data, in the writer's transaction."""
    # Last in the writer's transaction where possible: the row stays locked (PostgreSQL) only until its commit.
    connection.execute(update(data_version).where(data_version.c.id == 1).values(version=data_version.c.version + 1))


# Police data arriving: a file of interventions (command, upload, drop folder, demo) that was written, whole or in
# part, or delivered again unchanged (a quiet day's export is the same file: the export still ran). A worker's hand
# entry (channel 'form') is not the police's data arriving.
ARRIVED_STATUSES = ("imported", "partial", "duplicate")
POLICE_FILE_KIND = "interventions"
HAND_CHANNEL = "form"
_EVERY_PERIOD = MetricFilter(Period(date.min, date.max))
FRESHNESS_COLUMNS = ("code", "name_fr", "name_en", "last_import_at", "last_intervention_at", "hours_since_import",
                     "hours_since_intervention")


def _latest_import(service_condition: ColumnElement) -> ScalarSelect:
    """The latest finish of a police file of interventions that was written, on the given services' batches."""
    return (
        select(func.max(import_batch.c.finished_at))
        .where(
            service_condition,
            import_batch.c.kind == POLICE_FILE_KIND,
            import_batch.c.status.in_(ARRIVED_STATUSES),
            or_(import_batch.c.channel.is_(None), import_batch.c.channel != HAND_CHANNEL),
        )
        .scalar_subquery()
    )


def _latest_intervention() -> ScalarSelect:
    """The service's latest intervention from a police file: one step back along ix_intervention_service_occurred."""
    return (
        select(intervention.c.occurred_at)
        .where(
            intervention.c.police_service == police_service.c.code,
            # A hand entry no police file has confirmed yet is the worker's, not the police's data.
            or_(intervention.c.entered_by.is_(None), intervention.c.confirmed_at.is_not(None)),
        )
        .order_by(intervention.c.occurred_us.desc())
        .limit(1)
        .scalar_subquery()
    )


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def _hours(now: datetime, moments: pd.Series) -> pd.Series:
    return ((pd.Timestamp(now) - moments).dt.total_seconds() / 3600).astype(float)


def service_freshness(bind: Engine | Connection, flt: MetricFilter | None, scope: Scope, now: datetime) -> pd.DataFrame:
    """Each police service of the scope (and of the filter's services, if any): its latest import and latest
    intervention, and the hours from each to `now`."""
    if not scope.exact_figures:
        raise PermissionError("data freshness is read by the roles that read exact figures")
    if now.tzinfo is None:
        raise ValueError("freshness needs an aware 'now'")
    statement = (
        select(
            police_service.c.code,
            police_service.c.name_fr,
            police_service.c.name_en,
            _latest_import(import_batch.c.police_service == police_service.c.code).label("own_import_at"),
            # A file of several services (the demo's, or one imported unconfined) is every service's.
            _latest_import(import_batch.c.police_service.is_(None)).label("shared_import_at"),
            _latest_intervention().label("last_intervention_at"),
        )
        .where(*service_conditions(police_service.c.code, flt or _EVERY_PERIOD, scope))
        .order_by(police_service.c.code)
    )
    frame = fetch_frame(bind, statement)
    imported = pd.concat([_utc(frame["own_import_at"]), _utc(frame["shared_import_at"])], axis=1).max(axis=1)
    intervened = _utc(frame["last_intervention_at"])
    return pd.DataFrame({
        "code": frame["code"], "name_fr": frame["name_fr"], "name_en": frame["name_en"],
        "last_import_at": imported, "last_intervention_at": intervened,
        "hours_since_import": _hours(now, imported), "hours_since_intervention": _hours(now, intervened),
    }, columns=list(FRESHNESS_COLUMNS))


def stale_services(bind: Engine | Connection, flt: MetricFilter | None, scope: Scope, now: datetime,
                   hours: float) -> pd.DataFrame:
    """The services of service_freshness with no import for `hours` or more (or none ever), the longest late first."""
    return late_services(service_freshness(bind, flt, scope, now), hours)


def late_services(frame: pd.DataFrame, hours: float) -> pd.DataFrame:
    """The rows of a service_freshness frame with no import for `hours` or more, or none ever, longest late first."""
    late = frame[frame["last_import_at"].isna() | (frame["hours_since_import"] >= hours)]
    return late.sort_values("hours_since_import", ascending=False, na_position="first").reset_index(drop=True)
