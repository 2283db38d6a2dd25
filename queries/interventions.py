"""Intervention volumes: totals, per municipality and per ISO week, in local calendar terms."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, Select, func, or_, select

from queries.expressions import count_if
from queries.filters import MetricFilter, Scope
from queries.localtime import MICROSECONDS_PER_HOUR, weeks_overlapping
from queries.runner import fetch_frame, fetch_row
from queries.schema import intervention, municipality
from queries.scoping import intervention_conditions, served_in_period

REPEAT_WINDOW_US = 365 * 24 * MICROSECONDS_PER_HOUR


@dataclass(frozen=True)
class InterventionTotals:
    """Headline counts of a period."""

    total: int
    arrests: int
    repeat: int
    contact_bans: int


def _in_period(table, flt: MetricFilter):
    return table.c.occurred_date.between(flt.period.start, flt.period.end)


def is_repeat(table) -> object:
    """True when the intervention's subject had another intervention in the same service in the 365 days before."""
    # previous_us is stored on write (queries.precomputed): the same subject's latest strictly earlier intervention.
    return table.c.previous_us >= table.c.occurred_us - REPEAT_WINDOW_US


def totals_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions, arrests, repeats and contact bans in the period."""
    current = intervention.alias("current")
    return select(
        func.count().label("total"),
        count_if(current.c.arrest).label("arrests"),
        count_if(is_repeat(current)).label("repeat"),
        count_if(current.c.contact_ban).label("contact_bans"),
    ).where(_in_period(current, flt), *intervention_conditions(current, flt, scope))


def intervention_totals(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> InterventionTotals:
    """Headline counts of the period within the viewer's scope."""
    row = fetch_row(bind, totals_statement(flt, scope))
    return InterventionTotals(*(int(value) for value in row))


def per_municipality(counts, flt: MetricFilter, scope: Scope) -> Select:
    """Every municipality in scope (zeros included) with population, centroid and a counts subquery's columns."""
    figures = [column for column in counts.c if column.name != "municipality_code"]
    return (
        select(
            municipality.c.code,
            municipality.c.name,
            municipality.c.population_2021.label("population"),
            municipality.c.latitude,
            municipality.c.longitude,
            *(func.coalesce(column, 0).label(column.name) for column in figures),
        )
        .select_from(municipality.outerjoin(counts, counts.c.municipality_code == municipality.c.code))
        .where(or_(served_in_period(municipality.c.code, flt, scope), counts.c.interventions > 0))
        .order_by(municipality.c.code)
    )


def by_municipality_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Per municipality in scope (zeros included): interventions and arrests."""
    counts = (
        select(
            intervention.c.municipality_code,
            func.count().label("interventions"),
            count_if(intervention.c.arrest).label("arrests"),
        )
        .where(_in_period(intervention, flt), *intervention_conditions(intervention, flt, scope))
        .group_by(intervention.c.municipality_code)
        .subquery("counts")
    )
    return per_municipality(counts, flt, scope)


def interventions_by_municipality(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Interventions and arrests per municipality in scope, with population and centroid."""
    return fetch_frame(bind, by_municipality_statement(flt, scope))


def by_week_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions per local ISO week that has any."""
    return (
        select(intervention.c.occurred_week.label("week"), func.count().label("interventions"))
        .where(_in_period(intervention, flt), *intervention_conditions(intervention, flt, scope))
        .group_by(intervention.c.occurred_week)
    )


def interventions_by_week(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Interventions per ISO week, every week that overlaps the period, zeros included."""
    counted = fetch_frame(bind, by_week_statement(flt, scope)).set_index("week")["interventions"]
    weeks = weeks_overlapping(flt.period.start, flt.period.end)
    frame = counted.reindex(weeks, fill_value=0).astype("int64").rename("interventions").reset_index()
    return frame.rename(columns={"index": "week"})


