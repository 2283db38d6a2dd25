"""Interventions, arrests, repeats and contact bans of a period, grouped as asked: the period's whole ISO weeks read
from the counts stored on write (queries.weekly), the days of the weeks it cuts counted from rows.

A year of a province is 200,000 intervention rows but 60,000 stored municipality-weeks; both give the same figures,
as tests/test_counts.py checks for periods cut at every day of the week.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, func, select, union_all

from queries.expressions import count_if, is_repeat
from queries.filters import MetricFilter, Period, Scope
from queries.localtime import weeks_overlapping
from queries.schema import intervention, weekly_count
from queries.scoping import intervention_conditions

FIGURES = ("interventions", "arrests", "repeats", "contact_bans")
# What a count may be grouped by, in the rows and in the stored weeks.
ROW_GROUPS = {"police_service": intervention.c.police_service, "municipality_code": intervention.c.municipality_code,
              "week": intervention.c.occurred_week}


def inner_weeks(period: Period) -> Period | None:
    """The whole ISO weeks inside the period, Monday to Sunday; None when it holds no whole week."""
    monday = period.start + timedelta(days=-period.start.weekday() % 7)
    sunday = period.end - timedelta(days=(period.end.weekday() + 1) % 7)
    return Period(monday, sunday) if monday <= sunday else None


def figure_columns(table) -> list:
    """Each figure of rows of the intervention table, as the stored weeks count them."""
    return [func.count().label("interventions"), count_if(table.c.arrest).label("arrests"),
            count_if(is_repeat(table)).label("repeats"), count_if(table.c.contact_ban).label("contact_bans")]


def _counted(flt: MetricFilter, scope: Scope, days: Period, groups: tuple[str, ...]) -> Select:
    keys = [ROW_GROUPS[group].label(group) for group in groups]
    return (
        select(*keys, *figure_columns(intervention))
        .where(intervention.c.occurred_date.between(days.start, days.end),
               *intervention_conditions(intervention, flt, scope))
        .group_by(*keys)
    )


def _stored(flt: MetricFilter, scope: Scope, weeks: Period, groups: tuple[str, ...]) -> Select:
    labels = weeks_overlapping(weeks.start, weeks.end)
    keys = [weekly_count.c[group] for group in groups]
    return (
        select(*keys, *(func.coalesce(func.sum(weekly_count.c[figure]), 0).label(figure) for figure in FIGURES))
        .where(weekly_count.c.week.between(labels[0], labels[-1]), *intervention_conditions(weekly_count, flt, scope))
        .group_by(*keys)
    )


def period_counts(flt: MetricFilter, scope: Scope, groups: tuple[str, ...] = ()) -> Select:
    """The filter's interventions, arrests, repeats and contact bans, one row per group that has any (one row in all
    without groups)."""
    inner = inner_weeks(flt.period)
    if inner is None:
        return _counted(flt, scope, flt.period, groups)
    edges = [Period(start, end) for start, end in ((flt.period.start, inner.start - timedelta(days=1)),
                                                  (inner.end + timedelta(days=1), flt.period.end)) if start <= end]
    if not edges:
        return _stored(flt, scope, inner, groups)
    parts = union_all(_stored(flt, scope, inner, groups),
                      *(_counted(flt, scope, days, groups) for days in edges)).subquery("parts")
    keys = [parts.c[group] for group in groups]
    return (select(*keys, *(func.coalesce(func.sum(parts.c[figure]), 0).label(figure) for figure in FIGURES))
            .group_by(*keys))
