"""Journal d'audit: who viewed or exported what, for administrators."""

from datetime import timedelta

import streamlit as st

from auth.session import viewer_for_page
from dashboard import ui
from queries.audit import AuditFilter, audit_events, audit_subjects

viewer = viewer_for_page("audit")
ui.record_view(viewer, "audit")

st.title(ui.text("page.audit"))
ui.identity(viewer)
today = ui.local_today()
left, middle, right = st.columns(3)
period = left.date_input(ui.text("audit.period"), (today - timedelta(days=30), today), format="YYYY-MM-DD")
subjects = audit_subjects(ui.engine(), viewer.scope)
everyone = ui.text("audit.all")
subject = middle.selectbox(ui.text("audit.subject"), [None, *subjects], format_func=lambda s: s or everyone)
action = right.selectbox(
    ui.text("audit.action"), [None, "view", "export"],
    format_func=lambda action: ui.text(f"audit.action.{action}") if action else everyone
)
start, end = (period[0], period[-1]) if period else (today, today)
events = audit_events(ui.engine(), AuditFilter(start, end, subject, action), viewer.scope)
if events.empty:
    st.info(ui.text("audit.empty"))
else:
    shown = events.assign(
        occurred_at=events["occurred_at"].map(ui.local_time),
        roles=events["roles"].map(lambda roles: ", ".join(ui.text(f"role.{role}") for role in roles.split(",") if role)),
        action=events["action"].map(lambda action: ui.text(f"audit.action.{action}")),
        page=events["page"].map(lambda page: ui.text(f"page.{page}") if page else ""),
    )
    shown.columns = [ui.text(f"audit.column.{name}") for name in events.columns]
    st.dataframe(shown, hide_index=True, width="stretch")
