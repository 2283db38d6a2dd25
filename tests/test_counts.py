"""A period's counts read its whole weeks from the stored weekly counts and count the days of the weeks it cuts from
rows: the figures equal those counted from rows alone, here in plain Python, whatever day the period starts and ends."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from queries.counts import FIGURES, inner_weeks, period_counts
from queries.filters import MetricFilter, Period, Scope
from queries.runner import fetch_frame
from queries.schema import intervention
from tests.test_precomputed import YEAR_US, expected_links, imported, intervention_file

# Starts from a Sunday to the next Sunday, ends from a Saturday to the next Saturday: every cut of a week.
STARTS = [date(2023, 5, 7) + timedelta(days=offset) for offset in range(8)]
ENDS = [date(2023, 9, 23) + timedelta(days=offset) for offset in range(8)]


@pytest.fixture
def rows_and_engine(engine):
    rng = random.Random(11)
    imported(engine, "interventions", intervention_file(rng, range(300)))
    imported(engine, "interventions", intervention_file(rng, range(300, 360), service="SPS"))
    with engine.connect() as connection:
        rows = connection.execute(select(intervention)).all()
    previous = {row_id: links[0] for row_id, links in expected_links(rows).items()}
    repeats = {row.id for row in rows if previous[row.id] is not None and previous[row.id] >= row.occurred_us - YEAR_US}
    return [(row, row.id in repeats) for row in rows], engine


def by_hand(rows, period: Period, group) -> dict:
    """Each group's four figures, from the rows (each with whether it is a repeat) alone."""
    found: dict = {}
    for row, repeat in rows:
        if period.start <= row.occurred_date <= period.end:
            found.setdefault(group(row), Counter()).update({
                "interventions": 1, "arrests": int(row.arrest), "repeats": int(repeat),
                "contact_bans": int(row.contact_ban)})
    return {key: tuple(figures[name] for name in FIGURES) for key, figures in found.items()}


def stored(engine, period: Period, groups: tuple[str, ...]) -> dict:
    frame = fetch_frame(engine, period_counts(MetricFilter(period), Scope.everything(), groups))
    return {tuple(row[group] for group in groups): tuple(int(row[name]) for name in FIGURES)
            for _, row in frame.iterrows() if row["interventions"] > 0}


def test_counts_of_a_period_cut_on_any_day_equal_the_rows(rows_and_engine):
    rows, engine = rows_and_engine
    for start in STARTS:
        for end in ENDS:
            period = Period(start, end)
            assert stored(engine, period, ()) == by_hand(rows, period, lambda row: ())
            assert stored(engine, period, ("municipality_code",)) == by_hand(
                rows, period, lambda row: (row.municipality_code,))
            assert stored(engine, period, ("police_service", "week")) == by_hand(
                rows, period, lambda row: (row.police_service, row.occurred_week))


def test_short_periods_and_a_period_without_rows(rows_and_engine):
    rows, engine = rows_and_engine
    for start, end in ((date(2023, 5, 9), date(2023, 5, 12)), (date(2023, 5, 14), date(2023, 5, 15)),
                       (date(2023, 5, 8), date(2023, 5, 14))):
        assert stored(engine, Period(start, end), ("municipality_code",)) == by_hand(
            rows, Period(start, end), lambda row: (row.municipality_code,))
    empty = fetch_frame(engine, period_counts(MetricFilter(Period(date(2030, 1, 1), date(2030, 3, 1))),
                                              Scope.everything()))
    assert [int(empty.iloc[0][name]) for name in FIGURES] == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("start", "end", "inner"),
    [(date(2023, 5, 8), date(2023, 5, 14), (date(2023, 5, 8), date(2023, 5, 14))),
     (date(2023, 5, 9), date(2023, 5, 21), (date(2023, 5, 15), date(2023, 5, 21))),
     (date(2023, 5, 9), date(2023, 5, 20), None),
     (date(2023, 5, 14), date(2023, 5, 15), None)],
)
def test_inner_weeks_are_the_whole_iso_weeks_of_a_period(start, end, inner):
    assert inner_weeks(Period(start, end)) == (Period(*inner) if inner else None)


def test_the_rows_hold_every_figure(rows_and_engine):
    rows, _engine = rows_and_engine
    # Otherwise the comparisons above would prove nothing for a figure that is always 0.
    totals = by_hand(rows, Period(STARTS[0], ENDS[-1]), lambda row: ())[()]
    assert all(total > 10 for total in totals)
