"""Rapport: a period's figures for funders, small counts suppressed, each with its definition, and the files."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import settings
from dashboard.figures import definition, in_section, label
from dashboard.i18n import number
from dashboard.render import charts
from dashboard.render import report_content as content
from dashboard.web import cache
from dashboard.web.audit import filter_description, record_view
from dashboard.web.language import language as viewer_language
from dashboard.web.language import tr
from dashboard.web.report_page import report, report_downloads, report_scope_text, report_views
from dashboard.web.sidebar import report_filter

LONG_TABLE_ROWS = 30

viewer = viewer_for_page("report")
flt = report_filter(viewer)
record_view(viewer, "report", filter_description(flt))
language = viewer_language()
built = report(flt, viewer.scope)
scope_text = report_scope_text(viewer, flt)
periods = built.periods

st.title(tr("page.report"))
period_name = content.period_label(periods["current"], language)
dates = content.dates_text(periods["current"], language)
st.markdown(f"**{period_name}**" + (f" · {dates}" if dates != period_name else "") + f"  \n{scope_text}")
st.caption(" · ".join(
    tr("report.compared", label=tr(f"report.column.{name}"), dates=content.dates_text(periods[name], language))
    for name in content.compared_periods(built)
))
report_downloads(viewer, flt, built, scope_text)
st.caption(content.legend(built, language))
if viewer.scope.exact_figures and not content.like_funders_reports(flt, settings.funder_period()):
    st.warning(tr(f"report.other_kind.{settings.funder_period()}"))

if built.figures["interventions"]["current"].value == 0 and built.figures["cohort"]["current"].value == 0:
    st.info(tr("report.empty"))
    st.stop()

specs, maps, tables, texts = report_views(flt, viewer.scope)


def figures(section: str) -> None:
    """A section's figures against the two earlier periods, then each one's definition."""
    st.table(content.figure_table(built, section, language), hide_index=True)
    st.caption("  \n".join(f"**{label(figure.key, language)}** — {definition(figure.key, language)}"
                           for figure in in_section(section)))


def chart(name: str, caption: str, broken_down: bool = True) -> None:
    """A report chart with its summary, caption and table, or a note when the counts are too few to break down."""
    if broken_down:
        st.vega_lite_chart(specs[name], width="stretch")
        cache.in_words(*texts[name], caption, key=cache.table_key(f"report_{name}"))
    else:
        st.info(tr("report.not_broken_down"))


st.subheader(tr("report.section.headline"))
st.markdown("\n".join(f"- {message}" for message in content.headline_messages(built, language).values()))

st.subheader(tr("report.section.volume"))
figures("volume")

st.subheader(tr("report.section.trend"))
chart("trend", tr("report.caption.trend"), content.is_broken_down(built.weekly, "interventions"))

st.subheader(tr("report.section.map"))
if content.is_broken_down(built.municipalities, "interventions"):
    for column, (service, spec) in zip(st.columns(min(len(maps), 2) or 1), maps):
        with column:
            if len(maps) > 1:
                st.markdown(f"**{service}**")
            st.vega_lite_chart(spec, width=charts.MAP_WIDTH)
    st.caption(texts["map"][0])
    st.caption(tr("report.caption.map"))
else:
    st.info(tr("report.not_broken_down"))
# The maps' table, shown open. A province has a thousand municipalities: past a page's worth, a scrolling table.
if len(tables["municipalities"]) > LONG_TABLE_ROWS:
    st.dataframe(tables["municipalities"], hide_index=True, height=420)
else:
    st.table(tables["municipalities"], hide_index=True)

st.subheader(tr("report.section.outreach"))
figures("outreach")
chart("funnel", tr("report.caption.funnel"))

st.subheader(tr("report.section.timeliness"))
figures("timeliness")
target = tr("metrics.hours", value=number(settings.outreach_target()[0], language))
chart("delays", tr("report.caption.delays", target=target), content.is_broken_down(built.delays, "members"))

st.subheader(tr("report.section.outcomes"))
chart("outcomes", tr("report.caption.outcomes"), content.is_broken_down(built.outcomes, "members"))

st.subheader(tr("report.section.definitions"))
st.markdown(f"**{tr('report.label.suppression')}** — {content.suppression_definition(built, language)}")
