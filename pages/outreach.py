"""Suivi: how fast arrested men were reached, how many accepted help, and what happened next."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import settings, ui

viewer = viewer_for_page("outreach")
flt = ui.sidebar_filter(viewer)
ui.record_view(viewer, "outreach", ui.filter_description(flt))
scope = viewer.scope
target_hours, target_share = settings.outreach_target()

st.title(ui.tr("page.outreach"))
ui.identity(viewer, flt)
summary = ui.query("outreach", flt, scope)
ui.outreach_tiles(summary)
if summary.cohort == 0:
    # Victim follow-ups do not depend on arrests: they still show.
    st.info(ui.tr("outreach.empty"))
else:
    left, right = st.columns(2)
    with left:
        st.subheader(ui.tr("outreach.funnel"))
        ui.chart("funnel_chart", "funnel", flt, scope)
    with right:
        st.subheader(ui.tr("outreach.delay"))
        percentiles = ui.query("delay_percentiles", flt, scope)
        ui.chart("delay_chart", "delay_distribution", flt, scope, target_hours, percentiles.median_hours,
                 percentiles.p90_hours)

    st.subheader(ui.tr("outreach.within_trend"))
    ui.chart("within_24h_trend_chart", "weekly_within_24h", flt, scope, target_share)

    left, right = st.columns(2)
    with left:
        st.subheader(ui.tr("outreach.outcomes"))
        ui.chart("outcomes_chart", "outcomes_by_month", flt, scope)
    with right:
        st.subheader(ui.tr("outreach.referrals"))
        if ui.query("referrals_by_month", flt, scope)["attempts"].sum() == 0:
            st.info(ui.tr("outreach.no_referrals"))
        else:
            ui.chart("referrals_chart", "referrals_by_month", flt, scope)


st.subheader(ui.tr("outreach.victims"))
ui.victim_tiles(ui.query("victim_followups", flt, scope))


if summary.cohort:
    st.subheader(ui.tr("outreach.after"))
    as_of = (ui.local_today(),)
    if ui.query("repeat_after_outreach", flt, scope, *as_of)["members"].sum() == 0:
        st.info(ui.tr("outreach.after.too_recent"))
    else:
        ui.chart("repeat_chart", "repeat_after_outreach", flt, scope, extra=as_of)
    st.caption(ui.tr("outreach.after.caution"))
