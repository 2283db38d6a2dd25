"""Suivi: how fast arrested men were reached, and how many accepted help."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import ui

viewer = viewer_for_page("outreach")
flt = ui.sidebar_filter(viewer)
ui.record_view(viewer, "outreach", ui.filter_description(flt))

st.title(ui.text("page.outreach"))
ui.identity(viewer, flt)
summary = ui.query("outreach", flt, viewer.scope)
columns = st.columns(3)
columns[0].metric(ui.text("metrics.cohort"), ui.number(summary.cohort, ui.language()))
columns[1].metric(ui.text("metrics.reached"), ui.number(summary.reached, ui.language()))
columns[2].metric(
    ui.text("metrics.acceptance_rate"),
    ui.text("metrics.none") if summary.acceptance_rate is None else ui.percent(summary.acceptance_rate, ui.language()),
)
