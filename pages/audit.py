"""Journal d'audit: who viewed or exported what, for administrators."""

from datetime import timedelta

import streamlit as st

from auth.session import viewer_for_page
from dashboard import ui
from queries.audit import AuditFilter, audit_events, audit_subjects

viewer = viewer_for_page("audit")
ui.record_view(viewer, "audit")

st.title(ui.tr("page.audit"))
ui.identity(viewer)
today = ui.local_today()
left, middle, right = st.columns(3)
period = left.date_input(ui.tr("audit.period"), (today - timedelta(days=30), today), format="YYYY-MM-DD")
subjects = audit_subjects(ui.engine(), viewer.scope)
everyone = ui.tr("audit.all")
subject = middle.selectbox(ui.tr("audit.subject"), [None, *subjects], format_func=lambda s: s or everyone)
action = right.selectbox(
    ui.tr("audit.action"), [None, "view", "export"],
    format_func=lambda action: ui.tr(f"audit.action.{action}") if action else everyone
)
start, end = (period[0], period[-1]) if period else (today, today)
events = audit_events(ui.engine(), AuditFilter(start, end, subject, action), viewer.scope)
if events.empty:
    st.info(ui.tr("audit.empty"))
else:
    shown = events.assign(
        occurred_at=events["occurred_at"].map(ui.local_time),
        roles=events["roles"].map(lambda roles: ", ".join(ui.tr(f"role.{role}") for role in roles.split(",") if role)),
        action=events["action"].map(lambda action: ui.tr(f"audit.action.{action}")),
        page=events["page"].map(lambda page: ui.tr(f"page.{page}") if page else ""),
    )
    shown.columns = [ui.tr(f"audit.column.{name}") for name in events.columns]
    st.dataframe(shown, hide_index=True, width="stretch")
