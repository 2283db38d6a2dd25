"""Vue d'ensemble: the captain's Monday morning — volume, trend, map and municipalities of the period."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard.i18n import number
from dashboard.render import charts
from dashboard.web import cache, freshness_view, widgets
from dashboard.web.audit import filter_description, record_view
from dashboard.web.language import labels, language, tr
from dashboard.web.sidebar import sidebar_filter
from queries import expected, trends

viewer = viewer_for_page("overview")
flt = sidebar_filter(viewer)
record_view(viewer, "overview", filter_description(flt))
scope = viewer.scope

st.title(tr("page.overview"))
freshness_view.stale_warning(viewer)
widgets.identity(viewer, flt)
headline = cache.query(trends.headline, flt, scope)
widgets.headline_tiles(headline)

if headline.current.interventions == 0:
    st.info(tr("overview.empty"))
    st.stop()

st.subheader(tr("overview.weekly"))
cache.chart(charts.weekly_chart, expected.weekly_range, flt, scope, caption=tr("overview.band"))

st.subheader(tr("overview.unusual"))
unusual = cache.query(expected.unusual_weeks, flt, scope)
if unusual.empty:
    st.info(tr("overview.unusual.none"))
else:
    shown = widgets.unusual_weeks_for_display(unusual)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=widgets.localized_numbers(shown))
st.caption(tr("overview.unusual.caption"))

st.subheader(tr("overview.map"))
measure = st.segmented_control(
    tr("overview.map.measure"), ["count", "rate"], default="count", key="map_measure",
    format_func=labels(["overview.map.count", "overview.map.rate"]),
) or "count"
cache.municipality_map(flt, scope, measure, tr(f"chart.map.caption.{measure}"),
                       tr("chart.map.caption.boundaries"))

table = cache.query(trends.municipality_table, flt, scope)
st.subheader(tr("overview.heatmap"))
if trends.heat_unit(flt.period) == "week":
    cache.chart(charts.heatmap_chart, expected.municipality_weeks_marked, flt, scope,
                extra=(cache.HEATMAP_ROWS,), caption=tr("overview.heatmap.unusual"))
else:
    cache.chart(charts.monthly_heatmap_chart, trends.municipality_months, flt, scope,
                extra=(cache.HEATMAP_ROWS,), caption=tr("overview.heatmap.monthly"))
if len(table) > cache.HEATMAP_ROWS:
    st.caption(tr("overview.heatmap.busiest", shown=cache.HEATMAP_ROWS, total=number(len(table), language())))

st.subheader(tr("overview.table"))
shown = widgets.municipality_table_for_display(table)
st.dataframe(shown, hide_index=True, width="stretch", column_config=widgets.localized_numbers(shown))
file_name = "relais-municipalites.csv" if language() == "fr" else "relais-municipalities.csv"
widgets.csv_download(shown, file_name, viewer, "overview", flt)
