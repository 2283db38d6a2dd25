"""The audit trail of what a viewer looks at: page views, and the filters as plain values."""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from auth import session
from auth.viewer import Viewer
from dashboard import settings
from dashboard.database import engine_for
from dashboard.web.cache import engine
from queries.audit import audit_services, record_event
from queries.filters import MetricFilter


def record_view(viewer: Viewer, page: str, filters: dict | None = None) -> None:
    """Audit a page view: a new page or new filters, not a rerun of the same view (a click on a widget)."""
    key = (viewer.subject, page, json.dumps(filters, sort_keys=True, default=str))
    if st.session_state.get("last_audited_view") == key:
        return
    record_event(engine(), subject=viewer.subject, roles=viewer.roles, services=audit_services(viewer.scope),
                 action="view", page=page, filters=filters)
    st.session_state["last_audited_view"] = key


def record_search(viewer: Viewer, filters: dict) -> None:
    """Audit what an administrator searched in the audit trail, once per new search."""
    key = json.dumps(filters, sort_keys=True, default=str)
    if st.session_state.get("last_audited_search") != key:
        record_event(engine(), subject=viewer.subject, roles=viewer.roles, services=audit_services(viewer.scope),
                     action="search", page="audit", filters=filters)
        st.session_state["last_audited_search"] = key


def audited_file(produce: Callable[[], bytes], viewer: Viewer, page: str, filters: dict) -> Callable[[], bytes]:
    """A download's file maker: made only while the sign-in is honoured, and recorded when made, not when drawn."""

    def make() -> bytes:
        data = produce()
        # Streamlit calls this outside the script run: the engine comes from the module cache, not st.cache_resource.
        record_event(engine_for(settings.database_url()), subject=viewer.subject, roles=viewer.roles,
                     services=audit_services(viewer.scope), action="export", page=page, filters=filters)
        return data

    return session.checked_download(make)


def filter_description(flt: MetricFilter) -> dict:
    """The filter as plain values, for the audit trail."""
    return {
        "from": flt.period.start.isoformat(),
        "to": flt.period.end.isoformat(),
        "services": list(flt.services),
        "municipalities": list(flt.municipalities),
    }
