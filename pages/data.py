"""Données: the administrator's uploads, checked whole before anything is written, the history of imports, each
service's freshness, the hand entries no police file confirmed, and the reference data."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard.web import data_view, freshness_view
from dashboard.web.audit import record_view
from dashboard.web.language import tr
from dashboard.web.reference_view import reference_section
from dashboard.web.widgets import identity

viewer = viewer_for_page("data")
record_view(viewer, "data")

st.title(tr("page.data"))
identity(viewer)
freshness_view.stale_warning(viewer)
data_view.upload_section(viewer)
data_view.history_section(viewer)
freshness_view.freshness_table(viewer)
data_view.unconfirmed_section(viewer)
reference_section(viewer)
