"""Rapport: the period's aggregate figures for funders."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import ui

viewer = viewer_for_page("report")
flt = ui.sidebar_filter(viewer)
ui.record_view(viewer, "report", ui.filter_description(flt))

st.title(ui.tr("page.report"))
ui.identity(viewer, flt)
totals = ui.query("totals", flt, viewer.scope)
st.metric(ui.tr("metrics.total"), ui.number(totals.total, ui.language()))
