"""Streamlit plumbing shared by the pages: cached engine and queries, language, sidebar, audit of views."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import streamlit as st
from sqlalchemy import Engine

from auth.viewer import Viewer
from dashboard import settings
from dashboard.database import engine_for
from dashboard.i18n import LANGUAGES, day, number, percent, t
from queries.audit import record_event
from queries.filters import MetricFilter, Period, Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.interventions import InterventionTotals, intervention_totals
from queries.outreach import OutreachSummary, outreach_summary

CACHE_SECONDS = 300
LANGUAGE_KEY = "language"


@st.cache_resource
def _engine_for(url: str) -> Engine:
    return engine_for(url)


def engine() -> Engine:
    """The engine of the configured database, one per server process."""
    return _engine_for(settings.database_url())


# Cached results are shared by every session: the viewer's scope (and the database) is part of each key.
@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _totals(url: str, flt: MetricFilter, scope: Scope) -> InterventionTotals:
    return intervention_totals(_engine_for(url), flt, scope)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _outreach(url: str, flt: MetricFilter, scope: Scope) -> OutreachSummary:
    return outreach_summary(_engine_for(url), flt, scope)


def cached_totals(flt: MetricFilter, scope: Scope) -> InterventionTotals:
    """Headline intervention counts."""
    return _totals(settings.database_url(), flt, scope)


def cached_outreach(flt: MetricFilter, scope: Scope) -> OutreachSummary:
    """Outreach figures of the arrest cohort."""
    return _outreach(settings.database_url(), flt, scope)


def language() -> str:
    """The viewer's language: the URL's lang parameter, else French."""
    chosen = st.query_params.get("lang", "fr")
    return chosen if chosen in LANGUAGES else "fr"


def text(key: str, **values: object) -> str:
    """Catalogue text in the viewer's language."""
    return t(key, language(), **values)


def default_filter(today: date | None = None) -> MetricFilter:
    """The last 12 full weeks, Monday to Sunday."""
    today = today or date.today()
    last_sunday = today - timedelta(days=today.weekday() + 1)
    return MetricFilter(Period(last_sunday - timedelta(weeks=12) + timedelta(days=1), last_sunday))


def record_view(viewer: Viewer, page: str, filters: dict | None = None) -> None:
    """Audit a page view once per session, page and filters, not on every rerun."""
    key = (page, json.dumps(filters, sort_keys=True, default=str))
    seen = st.session_state.setdefault("audited_views", set())
    if key in seen:
        return
    record_event(engine(), subject=viewer.subject, roles=viewer.roles, action="view", page=page, filters=filters)
    seen.add(key)


def identity(viewer: Viewer, flt: MetricFilter | None = None) -> None:
    """Who is signed in, with which roles and services, and the period shown."""
    services = ", ".join(sorted(viewer.police_services)) or ""
    if viewer.all_services:
        services = text("page.services.all")
    roles = ", ".join(sorted(text(f"role.{role}") for role in viewer.roles))
    lines = [text("page.roles", roles=roles), text("page.services", services=services)]
    if flt is not None:
        lines.append(text("page.period", start=day(flt.period.start, language()), end=day(flt.period.end, language())))
    st.caption(" · ".join(lines))


def filter_description(flt: MetricFilter) -> dict:
    """The filter as plain values, for the audit trail."""
    return {
        "from": flt.period.start.isoformat(),
        "to": flt.period.end.isoformat(),
        "services": list(flt.services),
        "municipalities": list(flt.municipalities),
    }


def local_time(moment: datetime) -> str:
    """A UTC moment as Quebec local date and time, to the second."""
    return moment.astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
