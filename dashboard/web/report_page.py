"""The report page's cached views and its downloads: PDF, PowerPoint and CSV, each made when clicked."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import streamlit as st

from auth.viewer import Viewer
from dashboard import settings
from dashboard.render import charts, report_content
from dashboard.web.audit import audited_file, filter_description
from dashboard.web.cache import CACHE_SECONDS, boundaries_of, choices, query, sendable, sendable_table, source
from dashboard.web.language import language, tr
from dashboard.web.sidebar import local_today
from queries.filters import MetricFilter, Scope
from queries.report import funder_report

REPORT_FILES = (  # (kind, MIME type, extension)
    ("pdf", "application/pdf", "pdf"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    ("csv", "application/zip", "zip"),
)


class ReportViews(NamedTuple):
    """What the report page draws: chart specs, maps per police service, tables as text, each chart in words."""

    specs: dict[str, dict]
    maps: list[tuple[str, dict]]
    tables: dict[str, pd.DataFrame]
    texts: dict[str, tuple[str, pa.Table]]


def report(flt: MetricFilter, scope: Scope):
    """The suppressed report of the filter's period in the viewer's scope."""
    return query(funder_report, flt, scope, settings.suppression_threshold())


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _report_views(data_source: tuple[str, int], flt: MetricFilter, scope: Scope, language_code: str,
                  threshold: int, target_hours: float) -> ReportViews:
    built = query(funder_report, flt, scope, threshold)
    shapes = boundaries_of(tuple(built.municipalities["code"]))
    texts = report_content.chart_texts(built, language_code)
    # Vega-Lite's description becomes the drawn chart's accessible name.
    specs = {name: sendable({**charts.served_spec(chart), "description": texts[name][0]})
             for name, chart in report_content.report_charts(built, language_code, target_hours).items()}
    places = built.municipalities
    maps = [(service, sendable({**charts.served_spec(chart), "description": report_content.map_summary(
                places[places["police_service"] == service], built.threshold, language_code)}))
            for service, chart in report_content.map_charts(built, language_code, shapes)]
    texts = {name: (summary, sendable_table(table)) for name, (summary, table) in texts.items()}
    return ReportViews(specs, maps, report_content.tables(built, language_code), texts)


def report_views(flt: MetricFilter, scope: Scope) -> ReportViews:
    """The report's chart specs, its maps per police service and its tables as shown, cached."""
    return _report_views(source(), flt, scope, language(), settings.suppression_threshold(),
                         settings.outreach_target()[0])


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=64)
def _report_file(data_source: tuple[str, int], kind: str, flt: MetricFilter, scope: Scope, language_code: str,
                 threshold: int, target_hours: float, scope_text: str, produced: date) -> bytes:
    from dashboard.render import report_files  # ReportLab and python-pptx load only when a file is asked for

    built = query(funder_report, flt, scope, threshold)
    if kind == "csv":
        return report_files.report_csv_zip(built, language_code)
    shapes = boundaries_of(tuple(built.municipalities["code"]))
    make = report_files.report_pdf if kind == "pdf" else report_files.report_pptx
    return make(built, language_code, scope_text, target_hours, shapes, produced)


def report_downloads(viewer: Viewer, flt: MetricFilter, built, scope_text: str) -> None:
    """PDF, PowerPoint and CSV buttons: each file is made when clicked, and each click is audited."""
    arguments = (source(), flt, viewer.scope, language(), built.threshold,
                 settings.outreach_target()[0], scope_text, local_today())
    stem = report_content.file_stem(built, language())
    for column, (kind, mime, extension) in zip(st.columns(len(REPORT_FILES)), REPORT_FILES):
        file_name = f"{stem}.{extension}"
        details = {**filter_description(flt), "file": file_name, "language": language()}
        column.download_button(
            tr(f"report.download.{kind}"),
            data=audited_file(lambda kind=kind: _report_file(arguments[0], kind, *arguments[1:]), viewer, "report",
                              details),
            file_name=file_name, mime=mime, icon=":material/download:", key=f"report_download_{kind}",
            on_click="ignore", width="stretch",
        )


def report_scope_text(viewer: Viewer, flt: MetricFilter) -> str:
    """The police services and municipalities a report covers, in words."""
    services, places = choices(viewer.scope)
    # Chosen municipalities name their own services; otherwise the chosen service, or all of the viewer's.
    serving = {places[code][1] for code in flt.municipalities if code in places} or set(flt.services)
    chosen = {code: name for code, name in services.items() if not serving or code in serving}
    return report_content.scope_text(chosen, [places[code][0] for code in flt.municipalities if code in places],
                                     viewer.all_services and not serving, language())
