"""The sidebar's filters, read from and written back to the URL so that a link reproduces a view."""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from auth.viewer import Viewer
from dashboard import settings
from dashboard.i18n import day, t
from dashboard.web.cache import choices
from dashboard.web.language import labels, language, tr
from dashboard.web.url_state import (
    ALL,
    DEFAULT_PRESET,
    FIRST_DAY,
    PRESETS,
    REPORT_KINDS,
    FilterChoice,
    choice_from_params,
    metric_filter,
    params_from_choice,
    preset_period,
    quarters_offered,
    report_choice_from_params,
    report_params,
    within_offered_dates,
    years_offered,
)
from queries.filters import MetricFilter
from queries.localtime import LOCAL_TIMEZONE
from queries.periods import quarter_period, year_period


def local_today() -> date:
    """Today's date in Quebec."""
    return datetime.now(LOCAL_TIMEZONE).date()


def default_filter(today: date | None = None) -> MetricFilter:
    """The last 12 full weeks, Monday to Sunday, every service in scope."""
    return MetricFilter(preset_period(DEFAULT_PRESET, today or local_today()))


# The sidebar's choices: those every page shares, then the report's own period, kept apart from the others'.
KEPT_CHOICES = ("filter_preset", "filter_dates", "filter_service", "filter_places",
                "report_kind", "report_quarter", "report_year", "report_dates")


def _kept_across_pages() -> None:
    """Keep the person's sidebar choices when they open another page, or one that does not draw them all."""
    # Streamlit forgets a widget's value once a run does not draw that same widget, and a page is part of a widget's
    # identity: without this, "Cette année" on the Overview became the last 12 weeks on Outreach.
    for key in KEPT_CHOICES:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _place_filters(services: dict[str, str], places: dict[str, tuple[str, str]], from_url: FilterChoice):
    """The sidebar's service and municipality choices, and the municipalities offered for that service."""
    st.session_state.setdefault("filter_service", from_url.service if from_url.service in services else ALL)
    st.session_state.setdefault("filter_places", [code for code in from_url.municipalities if code in places])
    service = st.selectbox(tr("filter.service"), [ALL, *services], key="filter_service",
                           format_func={ALL: tr("filter.all_services"), **services}.get)
    offered = {code: value for code, value in places.items() if not service or value[1] == service}
    st.session_state["filter_places"] = [code for code in st.session_state["filter_places"] if code in offered]
    municipalities = st.multiselect(tr("filter.municipalities"), list(offered), key="filter_places",
                                    format_func={code: value[0] for code, value in offered.items()}.get,
                                    placeholder=tr("filter.all_municipalities"))
    return service, tuple(municipalities), offered


def _keep_in_url(params: dict[str, str]) -> None:
    wanted = {**params, **({"lang": language()} if language() != "fr" else {})}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _clamped_warning(start: date, end: date, today: date) -> None:
    st.warning(tr("filter.clamped", first=day(FIRST_DAY, language()), last=day(today, language()),
                  start=day(start, language()), end=day(end, language())), icon=":material/date_range:")


def sidebar_filter(viewer: Viewer) -> MetricFilter:
    """The sidebar's period, service and municipality filters, read from and written back to the URL."""
    _kept_across_pages()
    services, places = choices(viewer.scope)
    today = local_today()
    asked = choice_from_params(st.query_params.to_dict())
    from_url = within_offered_dates(asked, today)
    st.session_state.setdefault("filter_preset", from_url.preset)
    st.session_state.setdefault("filter_dates", (from_url.start, from_url.end) if from_url.start else None)
    with st.sidebar:
        st.subheader(tr("filter.title"))
        if from_url != asked and "filter_clamped" not in st.session_state:
            st.session_state["filter_clamped"] = (from_url.start, from_url.end)
        clamped = st.session_state.get("filter_clamped")
        if clamped and tuple(st.session_state.get("filter_dates") or ()) == clamped:
            _clamped_warning(*clamped, today)
        preset = st.selectbox(tr("filter.period"), PRESETS, key="filter_preset",
                              format_func=labels(f"filter.preset.{key}" for key in PRESETS))
        start = end = None
        if preset == "custom":
            if not st.session_state["filter_dates"]:
                chosen = preset_period(DEFAULT_PRESET, today)
                st.session_state["filter_dates"] = (chosen.start, chosen.end)
            dates = st.date_input(tr("filter.dates"), key="filter_dates", format="YYYY-MM-DD",
                                  min_value=FIRST_DAY, max_value=today)
            if len(dates) == 2:
                start, end = dates
        service, municipalities, offered = _place_filters(services, places, from_url)
    choice = FilterChoice(preset if start or preset != "custom" else DEFAULT_PRESET, start, end, service,
                          municipalities)
    _keep_in_url(params_from_choice(choice))
    return metric_filter(choice, today, services, offered)


def queue_filter(viewer: Viewer) -> MetricFilter:
    """The queue's service and municipality filters, kept in the URL; the queue is about now, so today's date."""
    _kept_across_pages()
    services, places = choices(viewer.scope)
    today = local_today()
    from_url = choice_from_params(st.query_params.to_dict())
    with st.sidebar:
        st.subheader(tr("filter.title"))
        service, municipalities, offered = _place_filters(services, places, from_url)
    choice = FilterChoice("custom", today, today, service, municipalities)
    params = params_from_choice(choice)
    _keep_in_url({key: value for key, value in params.items() if key not in ("period", "from", "to")})
    return metric_filter(choice, today, services, offered)


def report_filter(viewer: Viewer) -> MetricFilter:
    """The report's period (quarter, year or, except for funders, dates) and, except for funders, its places."""
    _kept_across_pages()
    exact = viewer.scope.exact_figures
    kinds = REPORT_KINDS if exact else (settings.funder_period(),)
    today = local_today()
    params = st.query_params.to_dict()
    from_url = report_choice_from_params(params, today, kinds)
    if params.get("period") == "custom" == from_url.preset and (
            params.get("from"), params.get("to")) != (from_url.start.isoformat(), from_url.end.isoformat()):
        st.session_state.setdefault("report_clamped", (from_url.start, from_url.end))
    quarters, years = quarters_offered(today, not exact), years_offered(today, not exact)
    st.session_state.setdefault("report_kind", from_url.preset)
    st.session_state.setdefault("report_quarter", from_url.start if from_url.preset == "quarter" else quarters[0])
    st.session_state.setdefault("report_year", from_url.start.year if from_url.preset == "year" else years[0])
    st.session_state.setdefault("report_dates", (from_url.start, from_url.end))
    with st.sidebar:
        st.subheader(tr("report.kind"))
        kind = kinds[0] if len(kinds) == 1 else st.segmented_control(
            tr("report.kind"), kinds, key="report_kind", label_visibility="collapsed",
            format_func=labels(f"report.kind.{kind}" for kind in kinds)) or from_url.preset
        start, end = from_url.start, from_url.end
        if kind == "quarter":
            quarter_names = {
                first: t("report.quarter", language(), quarter=(first.month - 1) // 3 + 1, year=first.year)
                for first in quarters
            }
            chosen = st.selectbox(tr("report.choose.quarter"), quarters, key="report_quarter",
                                  format_func=quarter_names.get)
            start, end = chosen, quarter_period(chosen, today).end
        elif kind == "year":
            chosen = st.selectbox(tr("report.choose.year"), years, key="report_year")
            start, end = year_period(chosen, today).start, year_period(chosen, today).end
        else:
            clamped = st.session_state.get("report_clamped")
            if clamped and tuple(st.session_state.get("report_dates") or ()) == clamped:
                _clamped_warning(*clamped, today)
            dates = st.date_input(tr("filter.dates"), key="report_dates", format="YYYY-MM-DD",
                                  min_value=FIRST_DAY, max_value=today)
            if len(dates) == 2:
                start, end = dates
        if exact:
            st.subheader(tr("filter.title"))
            services, places = choices(viewer.scope)
            service, municipalities, offered = _place_filters(services, places, from_url)
        else:
            # A funder's scope is the account's: choosing a part of it would allow reports to be subtracted.
            st.caption(tr("report.funder_fixed"))
            services, offered, service, municipalities = {}, {}, ALL, ()
    choice = FilterChoice(kind, start, end, service, municipalities)
    _keep_in_url(report_params(choice))
    return metric_filter(choice, today, services, offered)
