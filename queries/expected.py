"""Each week's usual range, per municipality and for the filter's total, from the weekly counts of earlier years; the
weeks of the period above it (queries/surveillance.py has the method)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Select, func, select

from queries.filters import MetricFilter, Scope
from queries.localtime import week_monday, weeks_overlapping
from queries.runner import fetch_frame
from queries.schema import municipality, weekly_count
from queries.scoping import intervention_conditions
from queries.surveillance import WEEKS_PER_YEAR, Expectation, FarringtonSettings, expectations, history_needed
from queries.trends import municipality_weeks, weekly_trend

SETTINGS = FarringtonSettings()
# Enough weeks before the period for b years of the same calendar weeks and their window.
HISTORY_WEEKS = SETTINGS.years_back * WEEKS_PER_YEAR + SETTINGS.half_window + 1
COLUMNS = ("code", "name", "week", "week_start", "interventions", "expected", "upper", "method", "alarm", "excess")


def history_start(flt: MetricFilter) -> date:
    """The first day whose counts the period's expectations may use."""
    return flt.period.start - timedelta(weeks=HISTORY_WEEKS)


def unusual_statement(flt: MetricFilter, scope: Scope) -> Select:
    """The stored municipality-weeks of the period above their usual range."""
    weeks = weeks_overlapping(flt.period.start, flt.period.end)
    return (
        select(weekly_count.c.municipality_code.label("code"), municipality.c.name, weekly_count.c.week,
               weekly_count.c.interventions, weekly_count.c.expected, weekly_count.c.upper, weekly_count.c.method,
               weekly_count.c.alarm)
        .join(municipality, municipality.c.code == weekly_count.c.municipality_code)
        .where(weekly_count.c.alarm, weekly_count.c.week.between(weeks[0], weeks[-1]),
               *intervention_conditions(weekly_count, flt, scope))
    )


def unusual_weeks(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """The municipality-weeks of the period above their usual range, the largest excess first."""
    frame = fetch_frame(bind, unusual_statement(flt, scope))
    frame["week_start"] = [week_monday(week) for week in frame["week"]]
    frame["excess"] = (frame["interventions"] - frame["upper"]).clip(lower=0.0)
    frame["alarm"] = frame["alarm"].astype(bool)
    ordered = frame.sort_values(["excess", "week", "code"], ascending=[False, True, True]).reset_index(drop=True)
    return ordered[list(COLUMNS)]


def municipality_weeks_marked(bind: Engine | Connection, flt: MetricFilter, scope: Scope,
                              busiest: int | None = None) -> pd.DataFrame:
    """The heat map's municipality × week counts (of the `busiest` municipalities, if asked), each cell saying whether
    the week is unusual there."""
    cells = municipality_weeks(bind, flt, scope, busiest)
    unusual = unusual_weeks(bind, flt, scope)
    flagged = set(zip(unusual["code"], unusual["week"]))
    return cells.assign(unusual=[(code, week) in flagged for code, week in zip(cells["code"], cells["week"])])


def expectations_at(total: np.ndarray, positions: range) -> list[Expectation]:
    """The expectation of each of these weeks of one series, all fitted at once: one window of the series per week,
    each ending at its week."""
    # The Farrington fit works on a table of series at one column: each week becomes a row of its own, the weeks
    # before the series (and before its first case) left out as they would be.
    span = max(history_needed(SETTINGS), SETTINGS.years_back * WEEKS_PER_YEAR + SETTINGS.half_window)
    padded = np.concatenate([np.zeros(span, dtype=total.dtype), total])
    first = int((total > 0).argmax()) if total.any() else len(total) + span
    windows = np.stack([padded[position: position + span + 1] for position in positions])
    starts = np.array([max(first + span - position, 0) for position in positions])
    return expectations(windows, span, SETTINGS, starts)


def weekly_totals_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Stored interventions per ISO week, from the history's start to the period's end (weeks with any)."""
    weeks = weeks_overlapping(history_start(flt), flt.period.end)
    return (
        select(weekly_count.c.week, func.sum(weekly_count.c.interventions).label("interventions"))
        .where(weekly_count.c.week.between(weeks[0], weeks[-1]), *intervention_conditions(weekly_count, flt, scope))
        .group_by(weekly_count.c.week)
    )


def weekly_range(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """The weekly trend of the filter's total with each week's expected count and the upper end of its range."""
    trend = weekly_trend(bind, flt, scope)
    all_weeks = weeks_overlapping(history_start(flt), flt.period.end)
    counted = fetch_frame(bind, weekly_totals_statement(flt, scope)).set_index("week")["interventions"]
    total = counted.reindex(all_weeks, fill_value=0).to_numpy(dtype="int64", copy=True)
    # The period's own weeks as the trend counts them: the first and last may be cut by the period's bounds.
    total[len(all_weeks) - len(trend):] = trend["interventions"].to_numpy(dtype="int64")
    found = expectations_at(total, range(len(all_weeks) - len(trend), len(all_weeks)))
    return trend.assign(expected=[result.expected for result in found], upper=[result.upper for result in found],
                        method=[result.method for result in found], alarm=[result.alarm for result in found])
