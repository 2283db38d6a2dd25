"""Définitions: what every figure means, as in the data contract, in the viewer's language."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import settings
from dashboard.web.audit import record_view
from dashboard.web.language import tr

SECTIONS = {
    "definitions.section.time": (("", "definition.time"),),
    "definitions.section.volume": (
        ("metrics.total", "definition.total"),
        ("metrics.arrests", "definition.arrests"),
        ("metrics.rate", "definition.rate"),
        ("metrics.repeat", "definition.repeat"),
        ("metrics.contact_bans", "definition.contact_bans"),
    ),
    "definitions.section.outreach": (
        ("metrics.cohort", "definition.cohort"),
        ("metrics.attempted", "definition.attempted"),
        ("metrics.reached", "definition.reached"),
        ("metrics.accepted", "definition.accepted"),
        ("metrics.already_in_help", "definition.already_in_help"),
        ("metrics.median_hours", "definition.hours"),
        ("metrics.within_24h", "definition.within"),
        ("metrics.reach_rate", "definition.rates"),
    ),
}

viewer = viewer_for_page("definitions")
record_view(viewer, "definitions")

st.title(tr("page.definitions"))
st.markdown(tr("definitions.intro"))
for section, entries in SECTIONS.items():
    st.subheader(tr(section))
    for label, definition in entries:
        st.markdown(f"**{tr(label)}** — {tr(definition)}" if label else tr(definition))

st.subheader(tr("report.label.suppression"))
threshold = settings.suppression_threshold()
rule = tr("report.definition.suppression", threshold=threshold, below=threshold - 1)
st.markdown(rule[:1].upper() + rule[1:])
