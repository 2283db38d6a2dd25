"""The administrator's Data page on screen: an upload checked whole before anything is written, then imported on her
click; the history of imports."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from auth.viewer import Viewer
from dashboard import settings
from dashboard.i18n import number
from dashboard.ingest import uploads
from dashboard.ingest.importer import KINDS, ImportReport, rejects_csv
from dashboard.web import cache
from dashboard.web.audit import audited_file
from dashboard.web.cache import engine
from dashboard.web.language import language, tr
from dashboard.web.widgets import local_time
from queries.filters import MetricFilter, Period
from queries.imports import HISTORY_LIMIT, import_history, import_services
from queries.intake import unconfirmed_entries
from queries.localtime import LOCAL_TIMEZONE

ROLE = "admin"
CHECK_KEY = "data_checked_upload"
RESULT_KEY = "data_last_import"
# Bumped after an import: the uploader gets a new key, and Streamlit drops the file it held in memory.
GENERATION_KEY = "data_upload_generation"
SHORT_HASH = 8
NO_FILE = "—"
REFERENCE_KINDS = ("municipalities", "organisations")
# The history's columns as shown (its finish time is the batch's, not shown: imports take seconds) and their pixels.
COLUMN_WIDTHS = {"started_at": 118, "imported_by": 80, "channel": 112, "kind": 100, "police_service": 66,
                 "status": 110, "rows_read": 52, "rows_accepted": 78, "rows_rejected": 72, "file_name": 110,
                 "file_sha256": 80}
# At most about this many redraws of a progress bar, whatever the file's length.
PROGRESS_STEPS = 100


class ProgressBar:
    """One tqdm-like bar drawn on an st.progress: iterated over, or updated by hand inside a with block."""

    def __init__(self, element, iterable: Iterable | None, total: int | None, text: str) -> None:
        self.element, self.iterable, self.text = element, iterable, text
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else 0)
        self.done, self.drawn = 0, -1
        self._draw()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0) if self.total else 0.0
        step = int(share * PROGRESS_STEPS)
        if step != self.drawn:
            self.drawn = step
            self.element.progress(share, text=self.text)

    def update(self, count: int = 1) -> None:
        """Count rows done."""
        self.done += count
        self._draw()

    def __iter__(self) -> Iterator:
        for item in self.iterable or ():
            yield item
            self.update()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc) -> None:
        return None


class ProgressBars:
    """The importer's `progress` (tqdm's signature) drawn on one Streamlit progress bar."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.element = st.empty()

    def __call__(self, iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
                 **_options) -> ProgressBar:
        return ProgressBar(self.element, iterable, total, f"{self.text} {desc}".strip())

    def clear(self) -> None:
        """Remove the bar once its work is done."""
        self.element.empty()


@dataclass(frozen=True)
class CheckedUpload:
    """A checked file as this session keeps it: what identifies it, the check's report, its import's token."""

    key: tuple[str, str, str, str]
    report: ImportReport
    token: str


def _uploader(viewer: Viewer) -> uploads.Uploader:
    return uploads.Uploader(viewer.subject, viewer.scope)


def _service_names(viewer: Viewer) -> dict[str, str]:
    frame = import_services(engine(), viewer.scope)
    column = "name_fr" if language() == "fr" else "name_en"
    return dict(zip(frame["code"], frame["code"] + " · " + frame[column]))


def _tiles(report: ImportReport) -> None:
    with st.container(horizontal=True):
        for label, count in (("read", report.rows_read), ("valid", report.valid),
                             ("rejected", report.rejected_count), ("problems", len(report.problems))):
            st.metric(tr(f"data.upload.tile.{label}"), number(count, language()), border=True, width="content")


def problem_table(report: ImportReport) -> pd.DataFrame:
    """Every problem: line, column, value and reason."""
    return pd.DataFrame({
        tr("import.table.line"): [problem.line for problem in report.problems],
        tr("import.table.column"): [problem.column for problem in report.problems],
        tr("import.table.value"): [problem.value for problem in report.problems],
        tr("import.table.reason"): [problem.reason for problem in report.problems],
    })


def _report(viewer: Viewer, report: ImportReport) -> None:
    """What the check found: the figures, each problem, and the refused rows to download."""
    _tiles(report)
    if report.file_problem:
        st.error(tr("data.upload.file_problem"))
    elif not report.problems:
        st.success(tr("data.upload.no_problem", rows=number(report.rows_read, language())))
    else:
        st.warning(tr("data.upload.problems", problems=number(len(report.problems), language()),
                      rows=number(report.rows_read, language()), valid=number(report.valid, language())))
    if report.problems:
        st.dataframe(problem_table(report), hide_index=True, width="stretch")
    if report.rejected:
        stem = report.file_name.rsplit(".", 1)[0]
        st.download_button(tr("data.upload.rejects"),
                           audited_file(lambda: rejects_csv(report), viewer, "data",
                                        {"file": f"{stem}-rejects.csv", "source": report.file_name}),
                           file_name=f"{stem}-rejects.csv", mime="text/csv", icon=":material/download:",
                           on_click="ignore")
    st.caption(tr("data.upload.checked", seconds=number(report.check_seconds, language(), 1)))
    if report.demo:
        st.info(tr("data.upload.demo"), icon=":material/science:")


def _checked(viewer: Viewer, kind: str, service: str, name: str, data: bytes) -> CheckedUpload:
    """This file's check, made once per file, kind and service (and again after an import)."""
    key = (hashlib.sha256(data).hexdigest(), kind, service, name)
    checked = st.session_state.get(CHECK_KEY)
    if isinstance(checked, CheckedUpload) and checked.key == key:
        return checked
    bars = ProgressBars(tr("data.upload.checking", file=name))
    report = uploads.check_upload(engine(), kind, data, name, _uploader(viewer), service, progress=bars)
    bars.clear()
    checked = st.session_state[CHECK_KEY] = CheckedUpload(key, report, uploads.new_token())
    return checked


def _import(viewer: Viewer, checked: CheckedUpload, data: bytes, skip_invalid: bool) -> None:
    kind, service, name = checked.key[1:]
    bars = ProgressBars(tr("data.upload.writing", file=name))
    try:
        report = uploads.import_upload(engine(), kind, data, name, _uploader(viewer), service,
                                       skip_invalid=skip_invalid, token=checked.token, progress=bars)
    except PermissionError:
        st.error(tr("data.upload.forbidden"))
        return
    except SQLAlchemyError:
        st.error(tr("data.upload.failed"))
        return
    finally:
        bars.clear()
    st.session_state[RESULT_KEY] = report
    # The file leaves this session: the uploader is drawn anew, empty, and Streamlit drops the bytes it held.
    st.session_state.pop(CHECK_KEY, None)
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1
    st.rerun()


def _last_import() -> None:
    report = st.session_state.get(RESULT_KEY)
    if not isinstance(report, ImportReport):
        return
    words = {"file": report.file_name, **{name: number(count, language()) for name, count in (
        ("accepted", report.accepted), ("new", report.new), ("replaced", report.replaced),
        ("rejected", report.rejected_count))}}
    if report.written:
        st.success(tr("data.upload.done", **words), icon=":material/check_circle:")
    else:
        st.error(tr("data.upload.refused", file=report.file_name))
        if report.problems:  # a repeated click's report keeps no problem (they quote the file's values)
            st.dataframe(problem_table(report), hide_index=True, width="stretch")


def upload_section(viewer: Viewer) -> None:
    """Choose kind and service, upload a file, read its check, then import it whole or its valid rows."""
    if ROLE not in viewer.roles:
        return
    # A container of its own: the page's other sections (freshness, reference data) have tables and uploaders too.
    with st.container(key="data_upload"):
        _upload(viewer)


def _upload(viewer: Viewer) -> None:
    st.subheader(tr("data.upload.title"))
    st.caption(tr("data.upload.intro"))
    services = _service_names(viewer)
    if not services:
        st.info(tr("data.upload.no_service"))
        return
    _last_import()
    kind_column, service_column = st.columns(2)
    kind = kind_column.selectbox(tr("data.upload.kind"), tuple(KINDS), key="data_kind",
                                 format_func=lambda value: tr(f"data.history.kind.{value}"))
    service = service_column.selectbox(tr("data.upload.service"), tuple(services), key="data_service",
                                       format_func=services.get)
    limit = settings.upload_max_mb()
    uploaded = st.file_uploader(tr("data.upload.file"), type=["csv", "txt"], max_upload_size=limit,
                                key=f"data_upload_{st.session_state.get(GENERATION_KEY, 0)}",
                                help=tr("data.upload.file.help", limit=limit))
    if uploaded is None:
        st.session_state.pop(CHECK_KEY, None)
        return
    st.session_state.pop(RESULT_KEY, None)
    data = uploaded.getvalue()
    checked = _checked(viewer, kind, service, uploaded.name, data)
    report = checked.report
    _report(viewer, report)
    whole, valid = st.columns(2)
    # The token in the buttons' keys: a second click that arrives once the file is imported finds no such button.
    if whole.button(tr("data.upload.import"), key=f"data_import_{checked.token}", type="primary",
                    disabled=bool(report.problems), help=tr("data.upload.import.help"), width="stretch"):
        _import(viewer, checked, data, skip_invalid=False)
    if valid.button(tr("data.upload.import_valid"), key=f"data_import_valid_{checked.token}",
                    type="primary" if report.problems else "secondary",
                    disabled=not report.problems or not report.valid, help=tr("data.upload.import_valid.help"),
                    width="stretch"):
        _import(viewer, checked, data, skip_invalid=True)


def history_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The batches as shown: local times, channel, kind and status in words, the hash shortened."""
    shown = frame[list(COLUMN_WIDTHS)].assign(
        started_at=[local_time(moment)[:16] for moment in frame["started_at"]],
        channel=[tr(f"data.history.channel.{value}") if isinstance(value, str) else "" for value in frame["channel"]],
        kind=[tr(f"data.history.kind.{value}") for value in frame["kind"]],
        # No service: reference data, or a police file holding several services' rows (the demo's, a command's).
        police_service=[value if isinstance(value, str) else tr("data.history.no_service")
                        if kind in REFERENCE_KINDS else tr("data.history.several_services")
                        for value, kind in zip(frame["police_service"], frame["kind"])],
        status=[tr(f"data.history.status.{value}") for value in frame["status"]],
        # A hand entry's batch has no file: its hash is that of the form's token, which says nothing to anyone.
        file_sha256=[NO_FILE if channel == "form" else value[:SHORT_HASH] + "…"
                     for value, channel in zip(frame["file_sha256"], frame["channel"])],
    )
    shown.columns = [tr(f"data.history.column.{name}") for name in shown.columns]
    return shown


def history_section(viewer: Viewer) -> None:
    """The latest imports of the viewer's services, by every channel, newest first."""
    if ROLE not in viewer.roles:
        return
    with st.container(key="data_history"):
        _history(viewer)


def _history(viewer: Viewer) -> None:
    st.subheader(tr("data.history.title"))
    st.caption(tr("data.history.caption", limit=HISTORY_LIMIT))
    frame = import_history(engine(), viewer.scope)
    if frame.empty:
        st.info(tr("data.history.empty"))
        return
    # Widths to the values: at 1440 px the whole row fits, the file's name and hash included.
    widths = {tr(f"data.history.column.{name}"): st.column_config.Column(width=width)
              for name, width in COLUMN_WIDTHS.items()}
    st.dataframe(history_table(frame), hide_index=True, width="stretch", column_config=widths)


def unconfirmed_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The old unconfirmed hand entries as shown: service, municipality, local time, who, age in days."""
    return pd.DataFrame({
        tr("data.unconfirmed.column.police_service"): frame["police_service"],
        tr("data.unconfirmed.column.municipality"): frame["municipality"],
        # The day is enough to chase an extract; the minute would come close to the case itself.
        tr("data.unconfirmed.column.entered_at"): [local_time(moment)[:10] for moment in frame["entered_at"]],
        tr("data.unconfirmed.column.entered_by"): frame["entered_by"],
        tr("data.unconfirmed.column.age_days"): [number(days, language()) for days in frame["age_days"]],
    })


def unconfirmed_section(viewer: Viewer) -> None:
    """Cases workers entered by hand that no police file has brought after the set days: the police to ask."""
    if ROLE not in viewer.roles:
        return
    days = settings.unconfirmed_days()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    today = now.astimezone(LOCAL_TIMEZONE).date()
    frame = cache.query(unconfirmed_entries, MetricFilter(Period(today, today)), viewer.scope, now, days)
    with st.container(key="data_unconfirmed"):
        st.subheader(tr("data.unconfirmed.title"))
        st.caption(tr("data.unconfirmed.caption", days=days))
        if frame.empty:
            st.caption(tr("data.unconfirmed.none", days=days))
            return
        st.warning(tr("data.unconfirmed.some", count=number(len(frame), language()), days=days))
        st.dataframe(unconfirmed_table(frame), hide_index=True, width="stretch")
