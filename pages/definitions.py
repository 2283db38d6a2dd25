"""Définitions: what every figure means, as in the data contract, in the viewer's language."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import settings
from dashboard.figures import SECTIONS, definition, in_section, label
from dashboard.web.audit import record_view
from dashboard.web.language import language, tr

viewer = viewer_for_page("definitions")
record_view(viewer, "definitions")

st.title(tr("page.definitions"))
st.markdown(tr("definitions.intro"))
st.subheader(tr("definitions.section.time"))
st.markdown(tr("definition.time"))
for section in SECTIONS:
    st.subheader(tr(f"report.section.{section}"))
    st.markdown("\n".join(f"- **{label(figure.key, language())}** — {definition(figure.key, language())}"
                          for figure in in_section(section)))
st.caption(tr("definitions.empty_denominator"))
st.subheader(tr("overview.unusual"))
st.markdown(tr("definition.expected_range"))

st.subheader(tr("report.label.suppression"))
threshold = settings.suppression_threshold()
rule = tr("report.definition.suppression", threshold=threshold, below=threshold - 1)
st.markdown(rule[:1].upper() + rule[1:])
