"""Intervention volumes: totals, per municipality and per ISO week, in local calendar terms."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, Select, func, or_, select

from queries.counts import period_counts
from queries.filters import MetricFilter, Scope
from queries.localtime import weeks_overlapping
from queries.runner import fetch_frame, fetch_row
from queries.schema import municipality
from queries.scoping import served_in_period


@dataclass(frozen=True)
class InterventionTotals:
    """Headline counts of a period."""

    total: int
    arrests: int
    repeat: int
    contact_bans: int


def totals_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions, arrests, repeats and contact bans in the period."""
    counts = period_counts(flt, scope).subquery("totals")
    return select(counts.c.interventions.label("total"), counts.c.arrests, counts.c.repeats.label("repeat"),
                  counts.c.contact_bans)


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
    figures = period_counts(flt, scope, ("municipality_code",)).subquery("figures")
    counts = select(figures.c.municipality_code, figures.c.interventions, figures.c.arrests).subquery("counts")
    return per_municipality(counts, flt, scope)


def interventions_by_municipality(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Interventions and arrests per municipality in scope, with population and centroid."""
    return fetch_frame(bind, by_municipality_statement(flt, scope))


def by_week_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions per local ISO week that has any."""
    figures = period_counts(flt, scope, ("week",)).subquery("figures")
    return select(figures.c.week, figures.c.interventions).where(figures.c.interventions > 0)


def interventions_by_week(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Interventions per ISO week, every week that overlaps the period, zeros included."""
    counted = fetch_frame(bind, by_week_statement(flt, scope)).set_index("week")["interventions"]
    weeks = weeks_overlapping(flt.period.start, flt.period.end)
    frame = counted.reindex(weeks, fill_value=0).astype("int64").rename("interventions").reset_index()
    return frame.rename(columns={"index": "week"})


