"""Vue d'ensemble: intervention volume of the viewer's police services."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import ui

viewer = viewer_for_page("overview")
flt = ui.sidebar_filter(viewer)
ui.record_view(viewer, "overview", ui.filter_description(flt))

st.title(ui.text("page.overview"))
ui.identity(viewer, flt)
totals = ui.query("totals", flt, viewer.scope)
columns = st.columns(3)
columns[0].metric(ui.text("metrics.total"), ui.number(totals.total, ui.language()))
columns[1].metric(ui.text("metrics.arrests"), ui.number(totals.arrests, ui.language()))
columns[2].metric(ui.text("metrics.repeat"), ui.number(totals.repeat, ui.language()))
