"""Définitions: what every figure means, as in the data contract."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import ui

viewer = viewer_for_page("definitions")
ui.record_view(viewer, "definitions")

st.title(ui.text("page.definitions"))
ui.identity(viewer)
for key in ("total", "arrests", "repeat", "cohort", "attempted", "reached", "accepted", "already_in_help"):
    st.markdown(f"**{ui.text('metrics.' + key)}**: {ui.text('definition.' + key)}")
