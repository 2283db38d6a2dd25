"""Suivi: how fast arrested men were reached, how many accepted help, and what happened next."""

import streamlit as st

from auth.session import viewer_for_page
from dashboard import settings
from dashboard.render import charts
from dashboard.web import cache, widgets
from dashboard.web.audit import filter_description, record_view
from dashboard.web.language import tr
from dashboard.web.sidebar import local_today, sidebar_filter
from queries import followup, outreach, timeliness

viewer = viewer_for_page("outreach")
flt = sidebar_filter(viewer)
record_view(viewer, "outreach", filter_description(flt))
scope = viewer.scope
target_hours, target_share = settings.outreach_target()

st.title(tr("page.outreach"))
widgets.identity(viewer, flt)
summary = cache.query(outreach.outreach_summary, flt, scope)
widgets.outreach_tiles(summary)
if summary.cohort == 0:
    # Victim follow-ups do not depend on arrests: they still show.
    st.info(tr("outreach.empty"))
else:
    left, right = st.columns(2)
    with left:
        st.subheader(tr("outreach.funnel"))
        cache.chart(charts.funnel_chart, timeliness.funnel, flt, scope)
    with right:
        st.subheader(tr("outreach.delay"))
        percentiles = cache.query(timeliness.delay_percentiles, flt, scope)
        cache.chart(charts.delay_chart, timeliness.delay_distribution, flt, scope, target_hours,
                    percentiles.median_hours, percentiles.p90_hours)

    st.subheader(tr("outreach.within_trend"))
    cache.chart(charts.within_24h_trend_chart, timeliness.weekly_within_24h, flt, scope, target_share)

    left, right = st.columns(2)
    with left:
        st.subheader(tr("outreach.outcomes"))
        cache.chart(charts.outcomes_chart, followup.outcomes_by_month, flt, scope)
    with right:
        st.subheader(tr("outreach.referrals"))
        if cache.query(followup.referrals_by_month, flt, scope)["attempts"].sum() == 0:
            st.info(tr("outreach.no_referrals"))
        else:
            cache.chart(charts.referrals_chart, followup.referrals_by_month, flt, scope)


st.subheader(tr("outreach.victims"))
widgets.victim_tiles(cache.query(followup.victim_followups, flt, scope))


if summary.cohort:
    st.subheader(tr("outreach.after"))
    as_of = (local_today(),)
    if cache.query(followup.repeat_after_outreach, flt, scope, *as_of)["members"].sum() == 0:
        st.info(tr("outreach.after.too_recent"))
        st.caption(tr("outreach.after.caution"))
    else:
        cache.chart(charts.repeat_chart, followup.repeat_after_outreach, flt, scope, extra=as_of,
                    caption=tr("outreach.after.caution"))
