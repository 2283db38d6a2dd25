"""The audit trail of what a viewer looks at: page views, and the filters as plain values."""

from __future__ import annotations

import json

import streamlit as st

from auth.viewer import Viewer
from dashboard.web.cache import engine
from queries.audit import record_event
from queries.filters import MetricFilter


def record_view(viewer: Viewer, page: str, filters: dict | None = None) -> None:
    """Audit a page view: a new page or new filters, not a rerun of the same view (a click on a widget)."""
    key = (viewer.subject, page, json.dumps(filters, sort_keys=True, default=str))
    if st.session_state.get("last_audited_view") == key:
        return
    record_event(engine(), subject=viewer.subject, roles=viewer.roles, action="view", page=page, filters=filters)
    st.session_state["last_audited_view"] = key


def filter_description(flt: MetricFilter) -> dict:
    """The filter as plain values, for the audit trail."""
    return {
        "from": flt.period.start.isoformat(),
        "to": flt.period.end.isoformat(),
        "services": list(flt.services),
        "municipalities": list(flt.municipalities),
    }
