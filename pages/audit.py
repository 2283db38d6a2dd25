"""Journal d'audit: who viewed or exported what, for administrators."""

from datetime import timedelta

import streamlit as st

from auth.session import viewer_for_page
from dashboard.web.audit import record_search, record_view
from dashboard.web.cache import engine
from dashboard.web.language import tr, tr_or_raw
from dashboard.web.sidebar import local_today
from dashboard.web.widgets import identity, local_time
from queries.audit import AUDIT_ACTIONS, AuditFilter, audit_events, audit_subjects

viewer = viewer_for_page("audit")
record_view(viewer, "audit")

st.title(tr("page.audit"))
identity(viewer)
today = local_today()
left, middle, right = st.columns(3)
period = left.date_input(tr("audit.period"), (today - timedelta(days=30), today), format="YYYY-MM-DD")
subjects = audit_subjects(engine(), viewer.scope)
everyone = tr("audit.all")
subject = middle.selectbox(tr("audit.subject"), [None, *subjects], format_func=lambda s: s or everyone)
action = right.selectbox(
    tr("audit.action"), [None, *AUDIT_ACTIONS],
    format_func=lambda action: tr(f"audit.action.{action}") if action else everyone
)
start, end = (period[0], period[-1]) if period else (today, today)
record_search(viewer, {"from": start.isoformat(), "to": end.isoformat(), "subject": subject, "action": action})
events = audit_events(engine(), AuditFilter(start, end, subject, action), viewer.scope)
if events.empty:
    st.info(tr("audit.empty"))
else:
    # Stored values that are not the catalogue's (a path typed in a URL, a command's role) are shown as stored.
    shown = events.assign(
        occurred_at=events["occurred_at"].map(local_time),
        roles=events["roles"].map(lambda roles: ", ".join(tr_or_raw("role", name) for name in roles.split(",")
                                                          if name)),
        action=events["action"].map(lambda action: tr_or_raw("audit.action", action)),
        services=events["services"].map(
            lambda services: tr("page.services.all") if services == "*" else services if isinstance(services, str)
            else ""),
        page=events["page"].map(lambda page: tr_or_raw("page", page) if isinstance(page, str) else ""),
        filters=events["filters"].map(lambda filters: filters if isinstance(filters, str) else ""),
        # What a command did, why a session or page was refused: stored JSON, shown as written.
        detail=events["detail"].map(lambda detail: detail if isinstance(detail, str) else ""),
    )
    shown.columns = [tr(f"audit.column.{name}") for name in events.columns]
    st.dataframe(shown, hide_index=True, width="stretch")
