"""Interventions, with their arrests, repeats and contact bans, per police service, municipality and ISO week, and
the usual range of the weeks that could be unusual: stored on write for the weeks a write touches, so that the pages
read a few rows, never years of them.

Each (police service, municipality) is its own series, from its first week with a case: a municipality that changed
police service starts a new series, as its records and practices do. A week's range depends on the 5 years before
it and on the 3 weeks before it (the rule of 5 cases in 4 weeks), so a write recomputes the ranges of every later
week of the services it touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, literal, select, update

from queries.counts import figure_columns
from queries.localtime import week_label, week_monday, weeks_overlapping
from queries.runner import fetch_frame
from queries.schema import intervention, weekly_count
from queries.surveillance import WEEKS_PER_YEAR, FarringtonSettings, expectations

SETTINGS = FarringtonSettings()
# The weeks a range may look back to: b years of the same calendar weeks and their window.
HISTORY_WEEKS = SETTINGS.years_back * WEEKS_PER_YEAR + SETTINGS.half_window + 1
# Past this many (service, week) pairs one statement over the whole table is quicker than one per pair.
FULL_REBUILD_PAIRS = 400

ServiceWeek = tuple[str, str]


COUNTED = ["police_service", "municipality_code", "week", "interventions", "arrests", "repeats", "contact_bans"]


def _recount(connection: Connection, service: str, week: str) -> None:
    monday = week_monday(week)
    connection.execute(delete(weekly_count).where(weekly_count.c.police_service == service,
                                                   weekly_count.c.week == week))
    counted = (
        select(literal(service), intervention.c.municipality_code, literal(week), *figure_columns(intervention))
        .where(intervention.c.police_service == service,
               intervention.c.occurred_date.between(monday, monday + timedelta(days=6)))
        .group_by(intervention.c.municipality_code)
    )
    connection.execute(insert(weekly_count).from_select(COUNTED, counted))


def _recount_everything(connection: Connection) -> None:
    connection.execute(delete(weekly_count))
    counted = select(intervention.c.police_service, intervention.c.municipality_code, intervention.c.occurred_week,
                     *figure_columns(intervention)).group_by(intervention.c.police_service,
                                                             intervention.c.municipality_code,
                                                             intervention.c.occurred_week)
    connection.execute(insert(weekly_count).from_select(COUNTED, counted))


def refresh_weeks(connection: Connection, touched: Iterable[ServiceWeek]) -> None:
    """Recount these (service, week) pairs, then recompute the ranges of their services from the earliest week on."""
    touched = set(touched)
    if not touched:
        return
    if len(touched) > FULL_REBUILD_PAIRS:
        _recount_everything(connection)
    else:
        for service, week in sorted(touched):
            _recount(connection, service, week)
    since: dict[str, str] = {}
    for service, week in touched:
        since[service] = min(week, since.get(service, week))
    refresh_ranges(connection, since)


def refresh_all_weeks(connection: Connection) -> None:
    """Recount every week of every service and recompute every range."""
    _recount_everything(connection)
    first = select(weekly_count.c.police_service, func.min(weekly_count.c.week)).group_by(
        weekly_count.c.police_service)
    refresh_ranges(connection, dict(connection.execute(first).all()))


def _series_starts(connection: Connection, services: list[str]) -> dict[tuple[str, str], str]:
    """Each (service, municipality) series' first week with a case."""
    statement = (
        select(weekly_count.c.police_service, weekly_count.c.municipality_code, func.min(weekly_count.c.week))
        .where(weekly_count.c.police_service.in_(services))
        .group_by(weekly_count.c.police_service, weekly_count.c.municipality_code)
    )
    return {(service, code): week for service, code, week in connection.execute(statement)}


def _cells(connection: Connection, services: list[str], first_week: str) -> pd.DataFrame:
    statement = select(weekly_count.c.police_service, weekly_count.c.municipality_code, weekly_count.c.week,
                       weekly_count.c.interventions).where(weekly_count.c.police_service.in_(services),
                                                           weekly_count.c.week >= first_week)
    return fetch_frame(connection, statement)


def _possible_alarms(counts: np.ndarray, position: int) -> np.ndarray:
    """The series whose week could be unusual: a case that week and the rule of 5 cases in 4 weeks met."""
    recent = counts[:, max(0, position - SETTINGS.minimum_weeks + 1): position + 1].sum(axis=1)
    return (counts[:, position] > 0) & (recent >= SETTINGS.minimum_cases)


def _stored(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def refresh_ranges(connection: Connection, since: dict[str, str]) -> None:
    """Recompute the usual range of every week of these services from their week on (service → ISO week)."""
    if not since:
        return
    services = sorted(since)
    earliest = min(since.values())
    first_week = week_label(week_monday(earliest) - timedelta(weeks=HISTORY_WEEKS + SETTINGS.minimum_weeks))
    cells = _cells(connection, services, first_week)
    for service in services:
        connection.execute(update(weekly_count).where(weekly_count.c.police_service == service,
                                                      weekly_count.c.week >= since[service])
                           .values(expected=None, upper=None, method=None, alarm=False))
    if cells.empty:
        return
    weeks = weeks_overlapping(week_monday(first_week), week_monday(cells["week"].max()))
    table = cells.pivot_table(index=["police_service", "municipality_code"], columns="week", values="interventions",
                              aggfunc="sum", fill_value=0).reindex(columns=weeks, fill_value=0)
    counts = table.to_numpy(dtype="int64")
    position = {week: index for index, week in enumerate(weeks)}
    first_cases = _series_starts(connection, services)
    # A series begun before the loaded weeks starts at the first of them: all its reference weeks are loaded.
    starts = np.array([position[first_cases[key]] if first_cases[key] >= first_week else 0 for key in table.index])
    from_position = np.array([position.get(since[service], 0) for service, _code in table.index])
    found = []
    for week_index in range(position.get(earliest, 0), len(weeks)):
        rows = np.flatnonzero((from_position <= week_index) & _possible_alarms(counts, week_index))
        results = expectations(counts[rows], week_index, SETTINGS, starts[rows])
        found += [{"service": table.index[row][0], "code": table.index[row][1], "week_key": weeks[week_index],
                   "expected": _stored(result.expected), "upper": _stored(result.upper), "method": result.method,
                   "alarm": result.alarm} for row, result in zip(rows, results)]
    if found:
        connection.execute(
            update(weekly_count)
            .where(and_(weekly_count.c.police_service == bindparam("service"),
                        weekly_count.c.municipality_code == bindparam("code"),
                        weekly_count.c.week == bindparam("week_key")))
            .values(expected=bindparam("expected"), upper=bindparam("upper"), method=bindparam("method"),
                    alarm=bindparam("alarm")),
            found,
        )


def weeks_of(rows: Iterable[dict]) -> set[ServiceWeek]:
    """The (service, week) pairs of intervention rows about to be written."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        grouped[row["police_service"]].add(row["occurred_week"])
    return {(service, week) for service, weeks in grouped.items() for week in weeks}
