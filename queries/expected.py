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
from queries.schema import intervention, municipality
from queries.scoping import intervention_conditions
from queries.surveillance import WEEKS_PER_YEAR, Expectation, FarringtonSettings, expectations
from queries.trends import municipality_weeks, weekly_trend

SETTINGS = FarringtonSettings()
# Enough weeks before the period for b years of the same calendar weeks and their window.
HISTORY_WEEKS = SETTINGS.years_back * WEEKS_PER_YEAR + SETTINGS.half_window + 1
COLUMNS = ("code", "name", "week", "week_start", "interventions", "expected", "upper", "method", "alarm", "excess")


def history_start(flt: MetricFilter) -> date:
    """The first day whose counts the period's expectations may use."""
    return flt.period.start - timedelta(weeks=HISTORY_WEEKS)


def weekly_counts_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions per municipality and ISO week, from the history's start to the period's end (weeks with any)."""
    return (
        select(intervention.c.municipality_code.label("code"), intervention.c.occurred_week.label("week"),
               func.count().label("interventions"))
        .where(intervention.c.occurred_date >= history_start(flt), intervention.c.occurred_date <= flt.period.end,
               *intervention_conditions(intervention, flt, scope))
        .group_by(intervention.c.municipality_code, intervention.c.occurred_week)
    )


def _series(counted: pd.DataFrame, weeks: list[str]) -> pd.DataFrame:
    """Municipality × week counts over every week, zeros included (municipalities in rows)."""
    if counted.empty:
        return pd.DataFrame(columns=weeks, dtype="int64")
    table = counted.pivot_table(index="code", columns="week", values="interventions", aggfunc="sum", fill_value=0)
    return table.reindex(columns=weeks, fill_value=0).astype("int64")


def _possible_alarms(counts: np.ndarray, position: int) -> np.ndarray:
    """The series whose week could be unusual: a case that week and the rule of 5 cases in 4 weeks met."""
    recent = counts[:, max(0, position - SETTINGS.minimum_weeks + 1): position + 1].sum(axis=1)
    return (counts[:, position] > 0) & (recent >= SETTINGS.minimum_cases)


def _rows(codes: list[str], week: str, found: list[Expectation]) -> list[dict]:
    return [{"code": code, "week": week, "week_start": week_monday(week), "interventions": result.observed,
             "expected": result.expected, "upper": result.upper, "method": result.method, "alarm": result.alarm,
             "excess": result.excess} for code, result in zip(codes, found)]


def municipality_expectations(bind: Engine | Connection, flt: MetricFilter, scope: Scope,
                              possible_alarms_only: bool = False) -> pd.DataFrame:
    """Every municipality with a case in the history × every week of the period: count, expected, upper, alarm (only
    the municipality-weeks that could be unusual, when asked: the others need no fit)."""
    all_weeks = weeks_overlapping(history_start(flt), flt.period.end)
    period_weeks = weeks_overlapping(flt.period.start, flt.period.end)
    offset = len(all_weeks) - len(period_weeks)
    table = _series(fetch_frame(bind, weekly_counts_statement(flt, scope)), all_weeks)
    counts, codes = table.to_numpy(), [str(code) for code in table.index]
    rows = []
    for index, week in enumerate(period_weeks):
        chosen = np.flatnonzero(_possible_alarms(counts, offset + index) if possible_alarms_only
                                else np.ones(len(counts), dtype=bool))
        found = expectations(counts[chosen], offset + index, SETTINGS)
        rows += _rows([codes[row] for row in chosen], week, found)
    frame = pd.DataFrame(rows, columns=[column for column in COLUMNS if column != "name"])
    names = fetch_frame(bind, select(municipality.c.code, municipality.c.name).where(
        municipality.c.code.in_(codes)))
    ordered = frame.merge(names, on="code", how="left")[list(COLUMNS)]
    return ordered.sort_values(["code", "week"], kind="stable").reset_index(drop=True)


def unusual_weeks(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """The municipality-weeks of the period above their usual range, the largest excess first."""
    frame = municipality_expectations(bind, flt, scope, possible_alarms_only=True)
    unusual = frame[frame["alarm"].astype(bool)]
    return unusual.sort_values(["excess", "week", "code"], ascending=[False, True, True]).reset_index(drop=True)


def municipality_weeks_marked(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """The heat map's municipality × week counts, each cell saying whether the week is unusual there."""
    cells = municipality_weeks(bind, flt, scope)
    unusual = unusual_weeks(bind, flt, scope)
    flagged = set(zip(unusual["code"], unusual["week"]))
    return cells.assign(unusual=[(code, week) in flagged for code, week in zip(cells["code"], cells["week"])])


def weekly_totals_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions per ISO week, from the history's start to the period's end (weeks with any)."""
    return (
        select(intervention.c.occurred_week.label("week"), func.count().label("interventions"))
        .where(intervention.c.occurred_date >= history_start(flt), intervention.c.occurred_date <= flt.period.end,
               *intervention_conditions(intervention, flt, scope))
        .group_by(intervention.c.occurred_week)
    )


def weekly_range(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """The weekly trend of the filter's total with each week's expected count and the upper end of its range."""
    trend = weekly_trend(bind, flt, scope)
    all_weeks = weeks_overlapping(history_start(flt), flt.period.end)
    counted = fetch_frame(bind, weekly_totals_statement(flt, scope)).set_index("week")["interventions"]
    total = counted.reindex(all_weeks, fill_value=0).to_numpy(dtype="int64")[None, :]
    found = [expectations(total, position, SETTINGS)[0]
             for position in range(len(all_weeks) - len(trend), len(all_weeks))]
    return trend.assign(expected=[result.expected for result in found], upper=[result.upper for result in found],
                        method=[result.method for result in found], alarm=[result.alarm for result in found])
