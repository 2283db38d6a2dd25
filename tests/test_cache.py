"""The pages' cache: query functions of queries/ only, keyed by their module and name, and chart builders alike."""

from __future__ import annotations

from datetime import date

import pytest
import streamlit as st

from dashboard.render import charts
from dashboard.web import cache
from queries import timeliness, trends
from queries.filters import MetricFilter, Period, Scope
from queries.interventions import intervention_totals
from tests.hand_made_pages import load_trends

FLT = MetricFilter(Period(date(2025, 2, 3), date(2025, 3, 2)))


def _forged() -> None:
    """A function that claims to live in queries/ without being one of its functions."""


_forged.__module__ = "queries.trends"
_forged.__qualname__ = "weekly_trend"


def test_a_query_is_keyed_by_its_module_and_name():
    assert cache.query_key(trends.weekly_trend) == "queries.trends:weekly_trend"
    assert cache.query_key(timeliness.funnel) == "queries.timeliness:funnel"
    assert cache.chart_key(charts.weekly_chart) == "dashboard.render.charts:weekly_chart"


@pytest.mark.parametrize(
    "function",
    [charts.weekly_chart, len, lambda bind, flt, scope: None, trends._lead_weeks, _forged, "weekly_trend"],
    ids=["chart builder", "builtin", "lambda", "private", "forged", "name as text"],
)
def test_only_public_functions_of_queries_are_accepted(function):
    with pytest.raises(TypeError):
        cache.query_key(function)


@pytest.mark.parametrize("builder", [trends.weekly_trend, _forged, "weekly_chart"], ids=["query", "forged", "text"])
def test_only_chart_builders_draw_charts(builder):
    with pytest.raises(TypeError):
        cache.chart_key(builder)


def test_a_cached_query_gives_the_query_s_own_figures(engine, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    st.cache_data.clear()
    load_trends(engine)
    scope = Scope.of("RIPRSL")
    expected = intervention_totals(engine, FLT, scope)
    assert cache.query(intervention_totals, FLT, scope) == expected
    assert (expected.total, expected.arrests) == (6, 3)
    # A second query with the same arguments is another cache entry, not the first one's result.
    # T6, T7, T8 (Sunday 23:30 local) in W06; T9, T10 in W08; T11 in W09.
    assert list(cache.query(trends.weekly_trend, FLT, scope)["interventions"]) == [3, 0, 2, 1]


def _two_figures_of_one_rerun() -> None:
    import streamlit as st

    from dashboard.web import cache

    st.text(f"{cache.source()[1]} {cache.source()[1]}")


def test_the_data_version_is_read_once_per_rerun_and_again_on_the_next(engine, database_url, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from queries.freshness import bump_version, current_version

    monkeypatch.setenv("DATABASE_URL", database_url)
    reads = []
    monkeypatch.setattr(cache, "current_version", lambda bind: reads.append(1) or current_version(bind))
    before = current_version(engine)
    test = AppTest.from_function(_two_figures_of_one_rerun).run()
    assert test.text[0].value == f"{before} {before}" and len(reads) == 1
    with engine.begin() as connection:  # a write, as another server process would make it
        bump_version(connection)
    test.run()
    assert test.text[0].value == f"{before + 1} {before + 1}" and len(reads) == 2
