"""Rapport: a period's figures for funders, small counts suppressed, each with its definition, and the files."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import report_content as content
from dashboard import charts, settings, ui

LONG_TABLE_ROWS = 30

viewer = viewer_for_page("report")
flt = ui.report_filter(viewer)
ui.record_view(viewer, "report", ui.filter_description(flt))
language = ui.language()
built = ui.report(flt, viewer.scope)
scope_text = ui.report_scope_text(viewer, flt)
periods = built.periods

st.title(ui.tr("page.report"))
label, dates = content.period_label(periods["current"], language), content.dates_text(periods["current"], language)
st.markdown(f"**{label}**" + (f" · {dates}" if dates != label else "") + f"  \n{scope_text}")
st.caption(" · ".join(
    ui.tr("report.compared", label=ui.tr(f"report.column.{name}"), dates=content.dates_text(periods[name], language))
    for name in content.compared_periods(built)
))
ui.report_downloads(viewer, flt, built, scope_text)
st.caption(content.legend(built, language))
if viewer.scope.exact_figures and not content.like_funders_reports(flt, settings.funder_period()):
    st.warning(ui.tr(f"report.other_kind.{settings.funder_period()}"))

if built.figures["interventions"]["current"].value == 0 and built.figures["cohort"]["current"].value == 0:
    st.info(ui.tr("report.empty"))
    st.stop()

specs, maps, tables = ui.report_views(flt, viewer.scope)


def figures(section: str) -> None:
    """A section's figures against the two earlier periods, then each one's definition."""
    st.table(content.figure_table(built, section, language), hide_index=True)
    st.caption("  \n".join(f"**{ui.tr(content.LABELS[figure])}** — {content.definition(figure, language)}"
                           for figure, _kind in dict(content.SECTIONS)[section]))


def chart(name: str, caption: str, broken_down: bool = True) -> None:
    """A report chart with its caption, or a note when the counts are too few to break down."""
    if broken_down:
        st.vega_lite_chart(specs[name], width="stretch")
        st.caption(caption)
    else:
        st.info(ui.tr("report.not_broken_down"))


st.subheader(ui.tr("report.section.headline"))
st.markdown("\n".join(f"- {message}" for message in content.headline_messages(built, language).values()))

st.subheader(ui.tr("report.section.volume"))
figures("volume")

st.subheader(ui.tr("report.section.trend"))
chart("trend", ui.tr("report.caption.trend"), content.is_broken_down(built.weekly, "interventions"))

st.subheader(ui.tr("report.section.map"))
if content.is_broken_down(built.municipalities, "interventions"):
    for column, (service, spec) in zip(st.columns(min(len(maps), 2) or 1), maps):
        with column:
            if len(maps) > 1:
                st.markdown(f"**{service}**")
            st.vega_lite_chart(spec, width=charts.MAP_WIDTH)
    st.caption(ui.tr("report.caption.map"))
else:
    st.info(ui.tr("report.not_broken_down"))
# A province has a thousand municipalities: past a page's worth, a scrolling table rather than a long page.
if len(tables["municipalities"]) > LONG_TABLE_ROWS:
    st.dataframe(tables["municipalities"], hide_index=True, height=420)
else:
    st.table(tables["municipalities"], hide_index=True)

st.subheader(ui.tr("report.section.outreach"))
figures("outreach")
chart("funnel", ui.tr("report.caption.funnel"))

st.subheader(ui.tr("report.section.timeliness"))
figures("timeliness")
target = ui.tr("metrics.hours", value=ui.number(settings.outreach_target()[0], language))
chart("delays", ui.tr("report.caption.delays", target=target), content.is_broken_down(built.delays, "members"))

st.subheader(ui.tr("report.section.outcomes"))
chart("outcomes", ui.tr("report.caption.outcomes"), content.is_broken_down(built.outcomes, "members"))

st.subheader(ui.tr("report.section.definitions"))
st.markdown(f"**{ui.tr('report.label.suppression')}** — {content.suppression_definition(built, language)}")
