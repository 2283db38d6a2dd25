"""File d'attente: the people still to reach, oldest first, with the clock; the worker records each attempt here."""

import streamlit as st

from auth.session import fragment, viewer_for_page
from dashboard.web import freshness_view, queue_view, widgets
from dashboard.web.audit import filter_description, record_view
from dashboard.web.language import tr
from dashboard.web.sidebar import queue_filter
from queries.queue import QUEUES

viewer = viewer_for_page("queue")
flt = queue_filter(viewer)
places = {key: value for key, value in filter_description(flt).items() if key in ("services", "municipalities")}
record_view(viewer, "queue", places)

st.title(tr("page.queue"))
freshness_view.stale_warning(viewer)
widgets.identity(viewer)
if "worker" in viewer.roles:
    queue_view.intake_form(viewer)
for role, tab in zip(QUEUES, st.tabs([tr(f"queue.tab.{role}") for role in QUEUES])):
    with tab:
        fragment(queue_view.waiting_list, run_every=queue_view.refresh_seconds())(viewer, flt, role)
if "worker" in viewer.roles:
    queue_view.recent_attempts(viewer, flt)
