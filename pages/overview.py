"""Vue d'ensemble: the captain's Monday morning — volume, trend, map and municipalities of the period."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import charts, ui

viewer = viewer_for_page("overview")
flt = ui.sidebar_filter(viewer)
ui.record_view(viewer, "overview", ui.filter_description(flt))
language = ui.language()

st.title(ui.text("page.overview"))
ui.identity(viewer, flt)
headline = ui.query("headline", flt, viewer.scope)
ui.headline_tiles(headline)

if headline.current.interventions == 0:
    st.info(ui.text("overview.empty"))
    st.stop()

st.subheader(ui.text("overview.weekly"))
st.altair_chart(charts.weekly_chart(ui.query("weekly_trend", flt, viewer.scope), language), width="stretch")

table = ui.query("municipality_table", flt, viewer.scope)
st.subheader(ui.text("overview.map"))
measure = st.segmented_control(
    ui.text("overview.map.measure"), ["count", "rate"], default="count", key="map_measure",
    format_func=ui.labels(["overview.map.count", "overview.map.rate"]),
) or "count"
places = ui.with_boundaries(table)
st.pydeck_chart(charts.municipality_map(places, language, measure), width="stretch")
st.caption(ui.text(f"chart.map.caption.{measure}")
           + (" " + ui.text("chart.map.caption.boundaries") if "geometry" in places else ""))

st.subheader(ui.text("overview.heatmap"))
st.altair_chart(
    charts.heatmap_chart(ui.query("municipality_weeks", flt, viewer.scope), language), width="stretch"
)

st.subheader(ui.text("overview.table"))
shown = ui.municipality_table_for_display(table)
st.dataframe(shown, hide_index=True, width="stretch", column_config=ui.localized_numbers(shown))
ui.csv_download(shown, "relais-municipalites.csv" if language == "fr" else "relais-municipalities.csv",
                viewer, "overview", flt)
