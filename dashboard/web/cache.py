"""Queries and built charts cached per database and its data version, filter, viewer scope and language, shared by
every session."""

from __future__ import annotations

import importlib
import inspect
import json
import weakref
from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pydeck as pdk
import streamlit as st
from sqlalchemy import Engine
from streamlit import dataframe_util
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import settings
from dashboard.database import engine_for
from dashboard.render import chart_text, charts
from dashboard.web.language import language, tr
from queries.boundaries import boundaries
from queries.filters import MetricFilter, Scope
from queries.freshness import current_version
from queries.places import municipalities_in_scope, services_in_scope
from queries.trends import municipality_table

CACHE_SECONDS = 300
QUERY_PACKAGE = "queries"
CHART_MODULE = charts.__name__
# A province-wide heat map would send every municipality × week to the browser: keep the busiest rows.
HEATMAP_ROWS = 30


@st.cache_resource
def _engine_for(url: str) -> Engine:
    return engine_for(url)


def engine() -> Engine:
    """The engine of the configured database, one per server process."""
    return _engine_for(settings.database_url())


# This rerun's data version, by session (its state object): (the run's cursor table, database, version).
_RUN_VERSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def source() -> tuple[str, int]:
    """The database and its data version, read once per rerun: a write in any server process changes every key."""
    url = settings.database_url()
    run = get_script_run_ctx()
    if run is None:
        return url, current_version(_engine_for(url))
    # Once per rerun, not per figure: a page's figures then all come from one version of the data, and PostgreSQL
    # is asked once instead of fifteen times. Streamlit gives each rerun (fragments too) a new cursor table.
    known = _RUN_VERSIONS.get(run.session_state)
    if known is None or known[0] is not run.cursors or known[1] != url:
        known = (run.cursors, url, current_version(_engine_for(url)))
        _RUN_VERSIONS[run.session_state] = known
    return url, known[2]


def _function_key(function: Callable, accepted: Callable[[str], bool], kind: str) -> str:
    """`module:name` of a public module-level function whose module is accepted; anything else is refused."""
    module, name = getattr(function, "__module__", None) or "", getattr(function, "__qualname__", "")
    if not (inspect.isfunction(function) and accepted(module) and name.isidentifier() and not name.startswith("_")
            and getattr(importlib.import_module(module), name, None) is function):
        raise TypeError(f"{function!r} is not a public {kind} function")
    return f"{module}:{name}"


def query_key(function: Callable) -> str:
    """The cache key of a query function of queries/: its module and name."""
    return _function_key(function, lambda module: module.startswith(QUERY_PACKAGE + "."), "queries/ query")


def chart_key(builder: Callable) -> str:
    """The cache key of a chart builder of dashboard.render.charts: its module and name."""
    return _function_key(builder, lambda module: module == CHART_MODULE, "chart builder")


def _resolved(key: str) -> Callable:
    module, name = key.split(":")
    return getattr(importlib.import_module(module), name)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _query(data_source: tuple[str, int], key: str, flt: MetricFilter, scope: Scope, extra: tuple):
    function = _resolved(key)
    source_function = getattr(function, "derived_from", None)
    if source_function is not None:
        # A figure of the outreach cohort: computed from the cohort's cached figures, so that a page reads the
        # cohort once, not once per chart.
        return function.derive(_query(data_source, query_key(source_function), flt, scope, ()), flt, *extra)
    return function(_engine_for(data_source[0]), flt, scope, *extra)


def query(function: Callable, flt: MetricFilter, scope: Scope, *extra):
    """A query function's result, cached per database and data version, filter, scope and extra arguments."""
    return _query(source(), query_key(function), flt, scope, extra)


def sendable(spec: dict) -> dict:
    """The spec with its tables already in the Arrow form Streamlit sends, so a cached chart is converted once."""
    # Streamlit turns each dataset (a list of records) into a DataFrame, then into Arrow bytes, on every rerun; under
    # fifty sessions that was 8 % of the server's CPU. Bytes go through as they are. GeoJSON stays in the spec.
    datasets = {name: records if _geographic(records) else dataframe_util.convert_anything_to_arrow_bytes(records)
                for name, records in spec.get("datasets", {}).items()}
    return {**spec, "datasets": datasets} if datasets else spec


def _geographic(records) -> bool:
    return not isinstance(records, list) or bool(records) and isinstance(records[0], dict) and "geometry" in records[0]


def sendable_table(frame: pd.DataFrame) -> pa.Table:
    """A table to show, in Arrow form: converted once when cached, not on every rerun."""
    return pa.Table.from_pandas(frame, preserve_index=False)


# Built charts are cached too: on a warm rerun, building and validating Altair specs and formatting map
# tooltips cost more than the (cached) queries. Each comes with its text equivalent, from the same frame.
@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _chart_view(data_source: tuple[str, int], builder: str, key: str, flt: MetricFilter, scope: Scope,
                language_code: str, options: tuple, extra: tuple) -> tuple[dict, str, pa.Table]:
    frame = _query(data_source, key, flt, scope, extra)
    build = _resolved(builder)
    summary, table = chart_text.in_words(build, frame, language_code, *options)
    # Vega-Lite's description becomes the drawn chart's accessible name.
    spec = {**charts.served_spec(build(frame, language_code, *options)), "description": summary}
    return sendable(spec), summary, sendable_table(table)


def chart(builder: Callable, function: Callable, flt: MetricFilter, scope: Scope, *options, extra: tuple = (),
          caption: str | None = None) -> None:
    """Draw a chart builder's chart of a query function's result, then its summary, caption and table, all cached."""
    spec, summary, table = _chart_view(source(), chart_key(builder), query_key(function), flt, scope, language(),
                                       options, extra)
    st.vega_lite_chart(spec, width="stretch")
    in_words(summary, table, caption, key=table_key(builder.__name__))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _boundaries(url: str, codes: tuple[str, ...]) -> dict:
    return boundaries(_engine_for(url), codes)


def boundaries_of(codes: tuple[str, ...]) -> dict:
    """The imported boundary polygons of these municipalities, by code."""
    return _boundaries(settings.database_url(), codes)


class SentMap:
    """A built map as st.pydeck_chart sends it: its JSON written once, compact, when cached."""

    # What st.pydeck_chart reads of a pydeck.Deck besides its JSON: none of these, and the tooltip.
    width = deck_widget = mapbox_key = None
    layers = ()

    def __init__(self, deck: pdk.Deck) -> None:
        # pydeck writes its JSON indented, on every rerun: for a province's 1,118 municipalities 444 kB and 18 ms
        # of the server's time each time; compact and cached, 207 kB once.
        self.json = json.dumps(json.loads(deck.to_json()), separators=(",", ":"), ensure_ascii=False)
        self._tooltip = deck._tooltip

    def to_json(self) -> str:
        """The deck's JSON, as pydeck.Deck.to_json gives it."""
        return self.json


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _map(data_source: tuple[str, int], flt: MetricFilter, scope: Scope, language_code: str, measure: str):
    places = _query(data_source, query_key(municipality_table), flt, scope, ())
    shapes = _boundaries(data_source[0], tuple(places["code"]))
    if shapes:
        places = places.assign(geometry=places["code"].map(shapes))
    summary, table = chart_text.in_words(charts.municipality_map, places, language_code, measure)
    return SentMap(charts.municipality_map(places, language_code, measure)), "geometry" in places, summary, table


def municipality_map(flt: MetricFilter, scope: Scope, measure: str, caption: str, boundaries_caption: str) -> None:
    """Draw the map of the municipalities, its summary and how to read it (and its boundaries, if any)."""
    deck, with_boundaries, summary, _table = _map(source(), flt, scope, language(), measure)
    st.pydeck_chart(deck, width="stretch", alt=summary)
    # Its rows are the municipality table's, further down the page: sent once, not in an expander as well (a
    # province's 1,118 rows).
    st.caption(summary)
    # With boundaries the map is flat: no column to read.
    st.caption((boundaries_caption if with_boundaries else caption) + " " + tr("chart.text.table_below"))


LONG_TABLE_ROWS = 30
WIDE_TABLE_COLUMNS = 7
TABLE_KEY_PREFIX = "table_"


def table_key(name: str) -> str:
    """The session-state key of a chart's "see as table" expander: open or closed, per chart."""
    return TABLE_KEY_PREFIX + name


def in_words(summary: str, table: pa.Table | pd.DataFrame, caption: str | None = None, *, key: str) -> None:
    """A chart's summary sentence, how to read it, and its rows in a table a screen reader or keyboard can walk."""
    st.caption(summary)
    if caption:
        st.caption(caption)
    # The table is drawn once the expander is opened: closed, it cost the browser as much as a chart (the Overview
    # settled 300 ms later with its tables drawn hidden).
    box = st.expander(tr("chart.text.see_table"), icon=":material/table:", key=key, on_change="rerun")
    if not box.open:
        return
    with box:
        # A real HTML table reads best; past a page's worth, or wider than a column holds, a grid the keyboard can
        # scroll (an HTML table that overflows scrolls in a box the keyboard cannot reach).
        rows, columns = table.shape
        if rows > LONG_TABLE_ROWS or columns > WIDE_TABLE_COLUMNS:
            st.dataframe(table, hide_index=True, height=420)
        else:
            st.table(table, hide_index=True)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _choices(data_source: tuple[str, int], scope: Scope,
             language_code: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    # Keyed by the data version: municipalities and their services are replaced from the Data page.
    bind = _engine_for(data_source[0])
    services = services_in_scope(bind, scope)
    places = municipalities_in_scope(bind, scope)
    return (
        dict(zip(services["code"], services[f"name_{language_code}"])),
        {code: (name, service) for code, name, service in places.itertuples(index=False)},
    )


def choices(scope: Scope) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The police services (code → name) and municipalities (code → name, service) a scope may choose from."""
    return _choices(source(), scope, language())
