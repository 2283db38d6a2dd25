"""The overview's volumes: headline figures against earlier periods, weekly trend, municipalities by week and table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Subquery,
    case,
    extract,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)

from queries.counts import period_counts
from queries.filters import MetricFilter, Period, Scope
from queries.interventions import per_municipality, totals_statement
from queries.localtime import week_label, week_monday, weeks_overlapping
from queries.periods import previous_period, same_period_last_year
from queries.runner import fetch_frame, fetch_row
from queries.schema import intervention, municipality
from queries.scoping import intervention_conditions, served_in_period

ROLLING_WEEKS = 4
# 52 weeks: the same weekdays one year before, so ISO week N is compared with ISO week N of the year before.
YEAR_OF_WEEKS = timedelta(days=364)
# Past these, a heat map of weeks (or months) has more columns than a screen shows, and more cells than Vega takes.
HEAT_WEEKS = 53
HEAT_MONTHS = 36
HEADLINE_FIGURES = ("interventions", "arrests", "repeat", "contact_bans", "population")


@dataclass(frozen=True)
class PeriodFigures:
    """Headline counts of one period and the population they are measured against."""

    period: Period
    interventions: int
    arrests: int
    repeat: int
    contact_bans: int
    population: int

    @property
    def rate_per_1000(self) -> float | None:
        """Interventions per 1,000 residents of the municipalities in scope; None without residents."""
        return self.interventions / self.population * 1000 if self.population else None


@dataclass(frozen=True)
class Headline:
    """The overview's tiles: the period, the period just before it and the same dates one year earlier."""

    current: PeriodFigures
    previous: PeriodFigures
    last_year: PeriodFigures


def _in_period(table, period: Period):
    return table.c.occurred_date.between(period.start, period.end)



def _listed(flt: MetricFilter, scope: Scope):
    """The municipalities interventions_by_municipality lists: served in the period, or with interventions in scope."""
    # Not a correlated EXISTS on rows: for a service's captain, each of a province's other municipalities scanned its
    # own rows of the period looking for the service (150 ms a year).
    counted = period_counts(flt, scope, ("municipality_code",)).subquery("recorded")
    recorded = municipality.c.code.in_(select(counted.c.municipality_code).where(counted.c.interventions > 0))
    return or_(served_in_period(municipality.c.code, flt, scope), recorded)


def population_statement(flt: MetricFilter, scope: Scope) -> Select:
    """2021 population of the municipalities in scope for the period."""
    return select(func.coalesce(func.sum(municipality.c.population_2021), 0).label("population")).where(
        _listed(flt, scope)
    )


def scope_population(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> int:
    """2021 population of the municipalities the period's figures cover."""
    return int(fetch_row(bind, population_statement(flt, scope)).population)


def _compared(period: Period) -> tuple[tuple[str, Period], ...]:
    return (("current", period), ("previous", previous_period(period)), ("last_year", same_period_last_year(period)))


def _period_figures(flt: MetricFilter, scope: Scope, name: str) -> Subquery:
    """One row: the contract's totals of the filter's period and the population they cover."""
    population = population_statement(flt, scope).scalar_subquery().label("population")
    return totals_statement(flt, scope).add_columns(population).subquery(name)


def headline_statement(flt: MetricFilter, scope: Scope) -> Select:
    """One row: totals and population of the period, the previous period and the same period last year."""
    parts = {
        name: _period_figures(replace(flt, period=period), scope, name) for name, period in _compared(flt.period)
    }
    current, previous, last_year = parts.values()
    columns = [
        part.c[source].label(f"{name}_{figure}")
        for name, part in parts.items()
        for figure, source in zip(HEADLINE_FIGURES, ("total", "arrests", "repeat", "contact_bans", "population"))
    ]
    # Each part is one aggregate row: joined on TRUE, the three stand side by side.
    return select(*columns).select_from(current.join(previous, true()).join(last_year, true()))


def headline(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> Headline:
    """The overview's tiles for the period and the two periods it is compared with."""
    row = fetch_row(bind, headline_statement(flt, scope))._mapping
    figures = {
        name: PeriodFigures(period, *(int(row[f"{name}_{figure}"]) for figure in HEADLINE_FIGURES))
        for name, period in _compared(flt.period)
    }
    return Headline(**figures)


def _lead_weeks(period: Period) -> Period:
    """The three whole weeks before the week the period starts in."""
    monday = period.start - timedelta(days=period.start.weekday())
    return Period(monday - timedelta(weeks=ROLLING_WEEKS - 1), monday - timedelta(days=1))


def weekly_trend_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions per local date: the period and the three weeks before it, and the period 52 weeks earlier."""
    lead = _lead_weeks(flt.period)
    year_ago = Period(flt.period.start - YEAR_OF_WEEKS, flt.period.end - YEAR_OF_WEEKS)
    conditions = intervention_conditions(intervention, flt, scope)

    def per_day(period: Period, current: int):
        # Per date rather than per stored week: an index on occurred_date then covers the query, which reads no
        # table row; the dates are added up into weeks afterwards. One part per range: an OR of them made SQLite
        # scan the whole index.
        return (select(intervention.c.occurred_date.label("day"), func.count().label("interventions"),
                       literal(current).label("current"))
                .where(_in_period(intervention, period), *conditions)
                .group_by(intervention.c.occurred_date))

    parts = union_all(per_day(lead, 1), per_day(flt.period, 1), per_day(year_ago, 0)).subquery("parts")
    return select(
        parts.c.day,
        func.sum(case((parts.c.current == 1, parts.c.interventions), else_=0)).label("interventions"),
        func.sum(case((parts.c.current == 0, parts.c.interventions), else_=0)).label("last_year"),
    ).group_by(parts.c.day)


def weekly_trend(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Per ISO week of the period (zeros included): interventions, 4-week rolling average, the same weeks last year."""
    daily = fetch_frame(bind, weekly_trend_statement(flt, scope))
    days = list(daily["day"])
    weeks = weeks_overlapping(flt.period.start, flt.period.end)
    lead = _lead_weeks(flt.period)
    volumes = daily["interventions"].astype("int64").groupby([week_label(day) for day in days]).sum()
    volumes = volumes.reindex(weeks_overlapping(lead.start, lead.end) + weeks, fill_value=0)
    rolling = volumes.astype("float64").rolling(ROLLING_WEEKS).mean()
    last_year = daily["last_year"].astype("int64").groupby([week_label(day + YEAR_OF_WEEKS) for day in days]).sum()
    return pd.DataFrame(
        {
            "week": weeks,
            "week_start": [week_monday(label) for label in weeks],
            "interventions": volumes.loc[weeks].to_numpy(dtype="int64"),
            "rolling_average": rolling.loc[weeks].to_numpy(dtype="float64"),
            "last_year": last_year.reindex(weeks, fill_value=0).to_numpy(dtype="int64"),
        }
    )


def _weekly_counts(flt: MetricFilter, scope: Scope) -> Select:
    """Interventions per municipality and ISO week of the period (those that have any)."""
    figures = period_counts(flt, scope, ("municipality_code", "week")).subquery("figures")
    return select(figures.c.municipality_code, figures.c.week, figures.c.interventions).where(
        figures.c.interventions > 0)


def _busiest(counts, flt: MetricFilter, scope: Scope, rows: int) -> Select:
    """The codes of the listed municipalities with the most interventions, at most `rows` of them (ties by code)."""
    totals = (select(counts.c.municipality_code, func.sum(counts.c.interventions).label("total"))
              .group_by(counts.c.municipality_code).subquery("totals"))
    return (
        select(municipality.c.code)
        .select_from(municipality.outerjoin(totals, totals.c.municipality_code == municipality.c.code))
        .where(or_(served_in_period(municipality.c.code, flt, scope), totals.c.municipality_code.is_not(None)))
        .order_by(func.coalesce(totals.c.total, 0).desc(), municipality.c.code)
        .limit(rows)
    )


def _listed_with(counts, flt: MetricFilter, scope: Scope, busiest: int | None) -> list:
    """Conditions on municipality rows joined to counts: listed, and among the busiest when a number is given."""
    listed = or_(served_in_period(municipality.c.code, flt, scope), counts.c.municipality_code.is_not(None))
    return [listed] if busiest is None else [listed, municipality.c.code.in_(_busiest(counts, flt, scope, busiest))]


def municipality_weeks_statement(flt: MetricFilter, scope: Scope, busiest: int | None = None) -> Select:
    """Per municipality in scope (the busiest only, if asked), its interventions per ISO week that has any (one row
    with no week when none)."""
    # A CTE: with `busiest` the counts are read twice, and both engines then compute them once.
    counts = _weekly_counts(flt, scope).cte("counts")
    return (
        select(municipality.c.code, municipality.c.name, counts.c.week, counts.c.interventions)
        .select_from(municipality.outerjoin(counts, counts.c.municipality_code == municipality.c.code))
        .where(*_listed_with(counts, flt, scope, busiest))
    )


def municipality_weeks(bind: Engine | Connection, flt: MetricFilter, scope: Scope,
                       busiest: int | None = None) -> pd.DataFrame:
    """Every municipality in scope (or the `busiest` with the most interventions) × every ISO week of the period:
    interventions, zeros included."""
    counted = fetch_frame(bind, municipality_weeks_statement(flt, scope, busiest))
    weeks = weeks_overlapping(flt.period.start, flt.period.end)
    places = counted[["code", "name"]].drop_duplicates().sort_values("code")
    grid = places.merge(pd.DataFrame({"week": weeks}), how="cross")
    frame = grid.merge(counted.dropna(subset=["week"]), on=["code", "name", "week"], how="left")
    frame["interventions"] = frame["interventions"].fillna(0).astype("int64")
    frame.insert(3, "week_start", [week_monday(label) for label in frame["week"]])
    return frame.reset_index(drop=True)


def municipality_months_statement(flt: MetricFilter, scope: Scope, busiest: int | None = None) -> Select:
    """Per municipality in scope (the busiest only, if asked), its interventions per calendar month that has any (one
    row with no month if none)."""
    year, month = extract("year", intervention.c.occurred_date), extract("month", intervention.c.occurred_date)
    counts = (
        select(intervention.c.municipality_code, year.label("year"), month.label("month"),
               func.count().label("interventions"))
        .where(_in_period(intervention, flt.period), *intervention_conditions(intervention, flt, scope))
        .group_by(intervention.c.municipality_code, year, month)
        .cte("counts")
    )
    return (
        select(municipality.c.code, municipality.c.name, counts.c.year, counts.c.month, counts.c.interventions)
        .select_from(municipality.outerjoin(counts, counts.c.municipality_code == municipality.c.code))
        .where(*_listed_with(counts, flt, scope, busiest))
    )


def heat_unit(period: Period) -> str:
    """The heat map's column for a period: weeks up to a year, months up to three years, quarters beyond."""
    weeks = len(weeks_overlapping(period.start, period.end))
    if weeks <= HEAT_WEEKS:
        return "week"
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
    return "month" if months <= HEAT_MONTHS else "quarter"


def _months_overlapping(period: Period, unit: str) -> list[date]:
    """First days of every month (or quarter) that overlaps the period, in order."""
    step = 3 if unit == "quarter" else 1
    first = period.start.month - (period.start.month - 1) % step
    day, starts = date(period.start.year, first, 1), []
    while day <= period.end:
        starts.append(day)
        month = day.month - 1 + step
        day = date(day.year + month // 12, month % 12 + 1, 1)
    return starts


def municipality_months(bind: Engine | Connection, flt: MetricFilter, scope: Scope,
                        busiest: int | None = None) -> pd.DataFrame:
    """Every municipality in scope (or the `busiest` with the most interventions) × every month (quarter, beyond
    three years) of the period, zeros included."""
    unit = "quarter" if heat_unit(flt.period) == "quarter" else "month"
    counted = fetch_frame(bind, municipality_months_statement(flt, scope, busiest))
    starts = _months_overlapping(flt.period, unit)
    places = counted[["code", "name"]].drop_duplicates().sort_values("code")
    grid = places.merge(pd.DataFrame({"start": starts}), how="cross")
    counted = counted.dropna(subset=["year"])
    step = 3 if unit == "quarter" else 1
    # Months roll up into their quarter here: the counts are already aggregated per month by the database.
    counted = counted.assign(start=[date(int(year), int(month) - (int(month) - 1) % step, 1)
                                    for year, month in zip(counted["year"], counted["month"])])
    summed = counted.groupby(["code", "name", "start"], as_index=False)["interventions"].sum()
    frame = grid.merge(summed, on=["code", "name", "start"], how="left")
    frame["interventions"] = frame["interventions"].fillna(0).astype("int64")
    frame["unit"] = unit
    return frame[["code", "name", "unit", "start", "interventions"]].reset_index(drop=True)


def municipality_table_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Per municipality in scope: population, centroid, interventions and arrests, and the previous period's count."""
    now = period_counts(flt, scope, ("municipality_code",)).subquery("now")
    before = period_counts(replace(flt, period=previous_period(flt.period)), scope, ("municipality_code",)
                           ).subquery("before")
    parts = union_all(
        select(now.c.municipality_code, now.c.interventions, now.c.arrests, literal(0).label("previous")),
        select(before.c.municipality_code, literal(0), literal(0), before.c.interventions),
    ).subquery("parts")
    counts = (
        select(parts.c.municipality_code, *(func.sum(parts.c[name]).label(name)
                                             for name in ("interventions", "arrests", "previous")))
        .group_by(parts.c.municipality_code)
        .subquery("counts")
    )
    return per_municipality(counts, flt, scope)


def _ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part / whole as floats, NaN where whole is 0."""
    return part.astype("float64") / whole.astype("float64").replace(0.0, np.nan)


def municipality_table(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Per municipality in scope: population, centroid, interventions, arrests, rate per 1,000 and change."""
    frame = fetch_frame(bind, municipality_table_statement(flt, scope))
    for column in ("population", "interventions", "arrests", "previous"):
        frame[column] = frame[column].astype("int64")
    frame.insert(7, "rate_per_1000", _ratio(frame["interventions"], frame["population"]) * 1000)
    frame["change"] = frame["interventions"] - frame["previous"]
    frame["change_share"] = _ratio(frame["change"], frame["previous"])
    return frame
