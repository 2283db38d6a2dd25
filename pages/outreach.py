"""Suivi: how fast arrested men were reached, how many accepted help, and what happened next."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import charts, settings, ui

viewer = viewer_for_page("outreach")
flt = ui.sidebar_filter(viewer)
ui.record_view(viewer, "outreach", ui.filter_description(flt))
language = ui.language()
target_hours, target_share = settings.outreach_target()

st.title(ui.text("page.outreach"))
ui.identity(viewer, flt)
summary = ui.query("outreach", flt, viewer.scope)
ui.outreach_tiles(summary)
if summary.cohort == 0:
    st.info(ui.text("outreach.empty"))
    st.stop()

left, right = st.columns(2)
with left:
    st.subheader(ui.text("outreach.funnel"))
    st.altair_chart(charts.funnel_chart(ui.query("funnel", flt, viewer.scope), language), width="stretch")
with right:
    st.subheader(ui.text("outreach.delay"))
    percentiles = ui.query("delay_percentiles", flt, viewer.scope)
    distribution = ui.query("delay_distribution", flt, viewer.scope)
    st.altair_chart(
        charts.delay_chart(distribution, language, target_hours, percentiles.median_hours, percentiles.p90_hours),
        width="stretch",
    )

st.subheader(ui.text("outreach.within_trend", hours=ui.number(target_hours, language)))
st.altair_chart(
    charts.within_24h_trend_chart(ui.query("weekly_within_24h", flt, viewer.scope), language, target_share),
    width="stretch",
)

left, right = st.columns(2)
with left:
    st.subheader(ui.text("outreach.outcomes"))
    st.altair_chart(charts.outcomes_chart(ui.query("outcomes_by_month", flt, viewer.scope), language),
                    width="stretch")
with right:
    st.subheader(ui.text("outreach.referrals"))
    referrals = ui.query("referrals_by_month", flt, viewer.scope)
    if referrals["attempts"].sum() == 0:
        st.info(ui.text("outreach.no_referrals"))
    else:
        st.altair_chart(charts.referrals_chart(referrals, language), width="stretch")

st.subheader(ui.text("outreach.victims"))
ui.victim_tiles(ui.query("victim_followups", flt, viewer.scope))

st.subheader(ui.text("outreach.after"))
after = ui.query("repeat_after_outreach", flt, viewer.scope, ui.local_today())
if after["members"].sum() == 0:
    st.info(ui.text("outreach.after.too_recent"))
else:
    st.altair_chart(charts.repeat_chart(after, language), width="stretch")
st.caption(ui.text("outreach.after.caution"))
