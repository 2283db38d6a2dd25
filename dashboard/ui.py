"""Streamlit plumbing shared by the pages: cached engine and queries, language, sidebar, audit of views."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import NamedTuple

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from auth.viewer import Viewer
from dashboard import charts, report_content, settings
from dashboard.database import engine_for
from dashboard.i18n import LANGUAGES, day, number, percent, t
from queries.audit import record_event
from dashboard.filters import (
    ALL,
    DEFAULT_PRESET,
    PRESETS,
    REPORT_KINDS,
    FilterChoice,
    choice_from_params,
    metric_filter,
    params_from_choice,
    preset_period,
    quarter_period,
    quarters_offered,
    report_choice_from_params,
    report_params,
    year_period,
    years_offered,
)
from queries.filters import MetricFilter, Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.interventions import intervention_totals
from queries import followup, timeliness, trends
from queries.boundaries import boundaries
from queries.outreach import outreach_summary
from queries.places import municipalities_in_scope, services_in_scope
from queries.report import funder_report

CACHE_SECONDS = 300
LANGUAGE_KEY = "language"


@st.cache_resource
def _engine_for(url: str) -> Engine:
    return engine_for(url)


def engine() -> Engine:
    """The engine of the configured database, one per server process."""
    return _engine_for(settings.database_url())


# Every query a page may run, by name. Cached results are shared by every session: the database, the filter
# and the viewer's scope are all part of each cache key.
QUERIES = {
    "totals": intervention_totals,
    "outreach": outreach_summary,
    "headline": trends.headline,
    "weekly_trend": trends.weekly_trend,
    "municipality_weeks": trends.municipality_weeks,
    "municipality_table": trends.municipality_table,
    "delay_distribution": timeliness.delay_distribution,
    "delay_percentiles": timeliness.delay_percentiles,
    "weekly_within_24h": timeliness.weekly_within_24h,
    "funnel": timeliness.funnel,
    "outcomes_by_month": followup.outcomes_by_month,
    "referrals_by_month": followup.referrals_by_month,
    "victim_followups": followup.victim_followups,
    "repeat_after_outreach": followup.repeat_after_outreach,
    # Suppressed in the query layer: the only query a funder's scope may run.
    "report": funder_report,
}


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _query(url: str, name: str, flt: MetricFilter, scope: Scope, extra: tuple):
    return QUERIES[name](_engine_for(url), flt, scope, *extra)


def query(name: str, flt: MetricFilter, scope: Scope, *extra):
    """A query function's result, cached per database, filter, scope and extra arguments."""
    return _query(settings.database_url(), name, flt, scope, extra)


# Built charts are cached too: on a warm rerun, building and validating Altair specs and formatting map
# tooltips cost more than the (cached) queries.
HEATMAP_ROWS = 30


def busiest_municipalities(frame: pd.DataFrame, rows: int = HEATMAP_ROWS) -> pd.DataFrame:
    """The municipality × week cells of the municipalities with the most interventions, at most `rows` of them."""
    totals = frame.groupby("code")["interventions"].sum().sort_values(ascending=False, kind="stable")
    return frame[frame["code"].isin(totals.index[:rows])]


# A province-wide heat map would send every municipality × week to the browser: keep the busiest rows.
PREPARE = {"heatmap_chart": busiest_municipalities}


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _chart_spec(url: str, builder: str, name: str, flt: MetricFilter, scope: Scope, language_code: str,
                options: tuple, extra: tuple) -> dict:
    frame = _query(url, name, flt, scope, extra)
    frame = PREPARE.get(builder, lambda unchanged: unchanged)(frame)
    return getattr(charts, builder)(frame, language_code, *options).to_dict()


def chart(builder: str, name: str, flt: MetricFilter, scope: Scope, *options, extra: tuple = ()) -> None:
    """Draw a chart builder's chart of a query's result, both cached."""
    spec = _chart_spec(settings.database_url(), builder, name, flt, scope, language(), options, extra)
    st.vega_lite_chart(spec, width="stretch")


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _map(url: str, flt: MetricFilter, scope: Scope, language_code: str, measure: str):
    places = _query(url, "municipality_table", flt, scope, ())
    shapes = _boundaries(url, tuple(places["code"]))
    if shapes:
        places = places.assign(geometry=places["code"].map(shapes))
    return charts.municipality_map(places, language_code, measure), "geometry" in places


def municipality_map(flt: MetricFilter, scope: Scope, measure: str) -> bool:
    """Draw the map of the municipalities; whether it shows imported boundaries."""
    deck, with_boundaries = _map(settings.database_url(), flt, scope, language(), measure)
    st.pydeck_chart(deck, width="stretch")
    return with_boundaries


def csv_download(frame: pd.DataFrame, file_name: str, viewer: Viewer, page: str, flt: MetricFilter) -> None:
    """A CSV download of an aggregated table, audited when clicked; `;` and a BOM in French for spreadsheets."""
    french = language() == "fr"
    data = frame.to_csv(index=False, sep=";" if french else ",", decimal="," if french else ".").encode("utf-8-sig")
    details = {**filter_description(flt), "file": file_name}
    st.download_button(
        tr("download.csv"), data, file_name=file_name, mime="text/csv", icon=":material/download:",
        on_click=record_event, args=(engine(),),
        kwargs={"subject": viewer.subject, "roles": viewer.roles, "action": "export", "page": page, "filters": details},
    )


def language() -> str:
    """The viewer's language: the URL's lang parameter, else the session's, else French."""
    chosen = st.query_params.get("lang") or st.session_state.get(LANGUAGE_KEY) or "fr"
    chosen = chosen if chosen in LANGUAGES else "fr"
    st.session_state[LANGUAGE_KEY] = chosen
    return chosen


def language_switch() -> None:
    """Français / English in the sidebar, kept in the URL."""
    names = {"fr": "Français", "en": "English"}
    current = language()
    chosen = st.segmented_control(tr("app.language"), list(names), default=current, format_func=names.get,
                                  key="language_choice", label_visibility="collapsed")
    if chosen and chosen != current:
        st.session_state[LANGUAGE_KEY] = chosen
        st.query_params["lang"] = chosen
        st.rerun()


def labels(keys) -> callable:
    """A format_func for widgets: option → its text, looked up now, since tests call it outside the script."""
    table = {key.rsplit(".", 1)[-1]: tr(key) for key in keys}
    return lambda option: table.get(option, option)


def tr(key: str, **values: object) -> str:
    """Catalogue text in the viewer's language."""
    return t(key, language(), **values)


def local_today() -> date:
    """Today's date in Quebec."""
    return datetime.now(LOCAL_TIMEZONE).date()


def default_filter(today: date | None = None) -> MetricFilter:
    """The last 12 full weeks, Monday to Sunday, every service in scope."""
    return MetricFilter(preset_period(DEFAULT_PRESET, today or local_today()))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _choices(url: str, scope: Scope, language_code: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    bind = _engine_for(url)
    services = services_in_scope(bind, scope)
    places = municipalities_in_scope(bind, scope)
    return (
        dict(zip(services["code"], services[f"name_{language_code}"])),
        {code: (name, service) for code, name, service in places.itertuples(index=False)},
    )


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


def sidebar_filter(viewer: Viewer) -> MetricFilter:
    """The sidebar's period, service and municipality filters, read from and written back to the URL."""
    services, places = _choices(settings.database_url(), viewer.scope, language())
    from_url = choice_from_params(st.query_params.to_dict())
    st.session_state.setdefault("filter_preset", from_url.preset)
    st.session_state.setdefault("filter_dates", (from_url.start, from_url.end) if from_url.start else None)
    today = local_today()
    with st.sidebar:
        st.subheader(tr("filter.title"))
        preset = st.selectbox(tr("filter.period"), PRESETS, key="filter_preset",
                              format_func=labels(f"filter.preset.{key}" for key in PRESETS))
        start = end = None
        if preset == "custom":
            if not st.session_state["filter_dates"]:
                chosen = preset_period(DEFAULT_PRESET, today)
                st.session_state["filter_dates"] = (chosen.start, chosen.end)
            dates = st.date_input(tr("filter.dates"), key="filter_dates", format="YYYY-MM-DD",
                                  min_value=date(2000, 1, 1), max_value=today)
            if len(dates) == 2:
                start, end = dates
        service, municipalities, offered = _place_filters(services, places, from_url)
    choice = FilterChoice(preset if start or preset != "custom" else DEFAULT_PRESET, start, end, service,
                          municipalities)
    _keep_in_url(params_from_choice(choice))
    return metric_filter(choice, today, services, offered)


def report_filter(viewer: Viewer) -> MetricFilter:
    """The report's period (quarter, year or, except for funders, dates) and, except for funders, its places."""
    exact = viewer.scope.exact_figures
    kinds = REPORT_KINDS if exact else (settings.funder_period(),)
    today = local_today()
    from_url = report_choice_from_params(st.query_params.to_dict(), today, kinds)
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
            dates = st.date_input(tr("filter.dates"), key="report_dates", format="YYYY-MM-DD",
                                  min_value=date(2000, 1, 1), max_value=today)
            if len(dates) == 2:
                start, end = dates
        if exact:
            st.subheader(tr("filter.title"))
            services, places = _choices(settings.database_url(), viewer.scope, language())
            service, municipalities, offered = _place_filters(services, places, from_url)
        else:
            # A funder's scope is the account's: choosing a part of it would allow reports to be subtracted.
            st.caption(tr("report.funder_fixed"))
            services, offered, service, municipalities = {}, {}, ALL, ()
    choice = FilterChoice(kind, start, end, service, municipalities)
    _keep_in_url(report_params(choice))
    return metric_filter(choice, today, services, offered)


def record_view(viewer: Viewer, page: str, filters: dict | None = None) -> None:
    """Audit a page view: a new page or new filters, not a rerun of the same view (a click on a widget)."""
    key = (viewer.subject, page, json.dumps(filters, sort_keys=True, default=str))
    if st.session_state.get("last_audited_view") == key:
        return
    record_event(engine(), subject=viewer.subject, roles=viewer.roles, action="view", page=page, filters=filters)
    st.session_state["last_audited_view"] = key


def identity(viewer: Viewer, flt: MetricFilter | None = None) -> None:
    """Who is signed in, with which roles and services, and the period shown."""
    services = ", ".join(sorted(viewer.police_services)) or ""
    if viewer.all_services:
        services = tr("page.services.all")
    roles = ", ".join(sorted(tr(f"role.{role}") for role in viewer.roles))
    lines = [tr("page.roles", roles=roles), tr("page.services", services=services)]
    if flt is not None:
        lines.append(tr("page.period", start=day(flt.period.start, language()), end=day(flt.period.end, language())))
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


def signed_change(current: float, previous: float, digits: int = 0) -> str:
    """A change as "+12 (+8 %)", or "+12" when there is nothing to divide by."""
    difference = current - previous
    sign = "+" if difference > 0 else ""
    text_value = sign + number(difference, language(), digits)
    if previous:
        text_value += f" ({sign}{percent(difference / previous, language())})"
    return text_value


TILES = (
    ("interventions", "metrics.total", 0),
    ("arrests", "metrics.arrests", 0),
    ("rate_per_1000", "metrics.rate", 2),
    ("repeat", "metrics.repeat", 0),
    ("contact_bans", "metrics.contact_bans", 0),
)


def headline_tiles(headline: trends.Headline) -> None:
    """The five headline figures, each against the previous period and the same period last year."""
    columns = st.columns(len(TILES))
    for column, (field, label, digits) in zip(columns, TILES):
        current, previous, last_year = (getattr(figures, field) for figures in
                                        (headline.current, headline.previous, headline.last_year))
        if current is None:
            column.metric(tr(label), tr("metrics.none"))
            continue
        column.metric(
            tr(label),
            number(current, language(), digits),
            delta=None if previous is None else signed_change(current, previous, digits),
            delta_color="off",
            help=tr(f"tile.help.{field}") + " " + tr("tile.vs_previous"),
        )
        if last_year is not None:
            column.caption(tr("tile.vs_last_year", value=number(last_year, language(), digits),
                                change=signed_change(current, last_year, digits)))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _boundaries(url: str, codes: tuple[str, ...]) -> dict:
    return boundaries(_engine_for(url), codes)


def municipality_table_for_display(table: pd.DataFrame) -> pd.DataFrame:
    """The per-municipality table with translated headers and rounded figures, as shown and downloaded."""
    shown = table[["name", "population", "interventions", "rate_per_1000", "arrests", "previous", "change"]].copy()
    shown["rate_per_1000"] = shown["rate_per_1000"].round(2)
    shown = shown.sort_values(["interventions", "name"], ascending=[False, True])
    shown.columns = [tr(f"table.{name}") for name in shown.columns]
    return shown


def _rate(value: float | None) -> str:
    return tr("metrics.none") if value is None else percent(value, language())


def outreach_tiles(summary) -> None:
    """Cohort, reach, acceptance, median delay and the within-24 h / 48 h shares."""
    median = summary.median_hours_to_first_attempt
    tiles = (
        ("tile.cohort", number(summary.cohort, language()), "tile.help.cohort"),
        ("metrics.reach_rate", _rate(summary.reach_rate), "tile.help.reach_rate"),
        ("metrics.acceptance_rate", _rate(summary.acceptance_rate), "tile.help.acceptance_rate"),
        ("tile.median_hours", tr("metrics.none") if median is None
         else tr("metrics.hours", value=number(median, language(), 1)), "tile.help.median_hours"),
        ("tile.within_24h", _rate(summary.within_24h_share), "tile.help.within_24h"),
        ("tile.within_48h", _rate(summary.within_48h_share), "tile.help.within_48h"),
    )
    for column, (label, value, help_key) in zip(st.columns(len(tiles)), tiles):
        column.metric(tr(label), value, help=tr(help_key))


def victim_tiles(frame: pd.DataFrame) -> None:
    """Victim follow-ups of the period, counted apart from the men's outreach."""
    interventions, followed, attempts, reached = (int(frame[name].sum()) for name in
                                                  ("interventions", "followed_up", "attempts", "reached"))
    tiles = (
        ("victims.followed_up", number(followed, language()), _rate(followed / interventions if interventions else None)),
        ("victims.reached", number(reached, language()), None),
        ("victims.attempts", number(attempts, language()), None),
    )
    for column, (label, value, share) in zip(st.columns(len(tiles)), tiles):
        column.metric(tr(label), value)
        if share:
            column.caption(tr("victims.share", share=share))


def localized_numbers(frame: pd.DataFrame) -> dict:
    """Column settings that show a table's numbers in the reader's locale (1 234,5 in French)."""
    return {
        name: st.column_config.NumberColumn(format="localized")
        for name in frame.columns
        if pd.api.types.is_numeric_dtype(frame[name])
    }


# The report page and its downloads.

REPORT_FILES = (  # (kind, MIME type, extension)
    ("pdf", "application/pdf", "pdf"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    ("csv", "application/zip", "zip"),
)


class ReportViews(NamedTuple):
    """What the report page draws: chart specs, maps per police service, and tables as text."""

    specs: dict[str, dict]
    maps: list[tuple[str, dict]]
    tables: dict[str, pd.DataFrame]


def report(flt: MetricFilter, scope: Scope):
    """The suppressed report of the filter's period in the viewer's scope."""
    return query("report", flt, scope, settings.suppression_threshold())


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _report_views(url: str, flt: MetricFilter, scope: Scope, language_code: str, threshold: int,
                  target_hours: float) -> ReportViews:
    built = _query(url, "report", flt, scope, (threshold,))
    shapes = _boundaries(url, tuple(built.municipalities["code"]))
    specs = {name: chart.to_dict() for name, chart in report_content.report_charts(built, language_code,
                                                                                   target_hours).items()}
    maps = [(service, chart.to_dict()) for service, chart in report_content.map_charts(built, language_code, shapes)]
    return ReportViews(specs, maps, report_content.tables(built, language_code))


def report_views(flt: MetricFilter, scope: Scope) -> ReportViews:
    """The report's chart specs, its maps per police service and its tables as shown, cached."""
    return _report_views(settings.database_url(), flt, scope, language(), settings.suppression_threshold(),
                         settings.outreach_target()[0])


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=64)
def _report_file(url: str, kind: str, flt: MetricFilter, scope: Scope, language_code: str, threshold: int,
                 target_hours: float, scope_text: str, produced: date) -> bytes:
    from dashboard import report_files  # ReportLab and python-pptx load only when a file is asked for

    built = _query(url, "report", flt, scope, (threshold,))
    if kind == "csv":
        return report_files.report_csv_zip(built, language_code)
    shapes = _boundaries(url, tuple(built.municipalities["code"]))
    make = report_files.report_pdf if kind == "pdf" else report_files.report_pptx
    return make(built, language_code, scope_text, target_hours, shapes, produced)


def report_downloads(viewer: Viewer, flt: MetricFilter, built, scope_text: str) -> None:
    """PDF, PowerPoint and CSV buttons: each file is made when clicked, and each click is audited."""
    arguments = (settings.database_url(), flt, viewer.scope, language(), built.threshold,
                 settings.outreach_target()[0], scope_text, local_today())
    stem = report_content.file_stem(built, language())
    for column, (kind, mime, extension) in zip(st.columns(len(REPORT_FILES)), REPORT_FILES):
        file_name = f"{stem}.{extension}"
        column.download_button(
            tr(f"report.download.{kind}"),
            data=lambda kind=kind: _report_file(arguments[0], kind, *arguments[1:]),
            file_name=file_name, mime=mime, icon=":material/download:", key=f"report_download_{kind}",
            on_click=record_event, args=(engine(),), width="stretch",
            kwargs={"subject": viewer.subject, "roles": viewer.roles, "action": "export", "page": "report",
                    "filters": {**filter_description(flt), "file": file_name, "language": language()}},
        )


def report_scope_text(viewer: Viewer, flt: MetricFilter) -> str:
    """The police services and municipalities a report covers, in words."""
    services, places = _choices(settings.database_url(), viewer.scope, language())
    # Chosen municipalities name their own services; otherwise the chosen service, or all of the viewer's.
    serving = {places[code][1] for code in flt.municipalities if code in places} or set(flt.services)
    chosen = {code: name for code, name in services.items() if not serving or code in serving}
    return report_content.scope_text(chosen, [places[code][0] for code in flt.municipalities if code in places],
                                     viewer.all_services and not serving, language())
