"""Vue d'ensemble: the captain's Monday morning — volume, trend, map and municipalities of the period."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import ui

viewer = viewer_for_page("overview")
flt = ui.sidebar_filter(viewer)
ui.record_view(viewer, "overview", ui.filter_description(flt))
scope = viewer.scope

st.title(ui.tr("page.overview"))
ui.identity(viewer, flt)
headline = ui.query("headline", flt, scope)
ui.headline_tiles(headline)

if headline.current.interventions == 0:
    st.info(ui.tr("overview.empty"))
    st.stop()

st.subheader(ui.tr("overview.weekly"))
ui.chart("weekly_chart", "weekly_trend", flt, scope)

st.subheader(ui.tr("overview.map"))
measure = st.segmented_control(
    ui.tr("overview.map.measure"), ["count", "rate"], default="count", key="map_measure",
    format_func=ui.labels(["overview.map.count", "overview.map.rate"]),
) or "count"
with_boundaries = ui.municipality_map(flt, scope, measure)
st.caption(ui.tr(f"chart.map.caption.{measure}")
           + (" " + ui.tr("chart.map.caption.boundaries") if with_boundaries else ""))

table = ui.query("municipality_table", flt, scope)
st.subheader(ui.tr("overview.heatmap"))
ui.chart("heatmap_chart", "municipality_weeks", flt, scope)
if len(table) > ui.HEATMAP_ROWS:
    st.caption(ui.tr("overview.heatmap.busiest", shown=ui.HEATMAP_ROWS, total=ui.number(len(table), ui.language())))

st.subheader(ui.tr("overview.table"))
shown = ui.municipality_table_for_display(table)
st.dataframe(shown, hide_index=True, width="stretch", column_config=ui.localized_numbers(shown))
file_name = "relais-municipalites.csv" if ui.language() == "fr" else "relais-municipalities.csv"
ui.csv_download(shown, file_name, viewer, "overview", flt)
