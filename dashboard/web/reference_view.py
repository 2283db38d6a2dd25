"""Reference data on the Data page: municipalities and partner organisations shown, downloaded, and replaced."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from auth.viewer import Viewer
from dashboard import settings
from dashboard.i18n import day, number, speaking
from dashboard.ingest import reference_file
from dashboard.web import cache
from dashboard.web.audit import audited_file
from dashboard.web.language import language, tr
from queries.reference import municipality_reference, organisation_reference

PAGE = "data"
# Bumped after a replacement: the uploader comes back empty, and a late second click finds no button.
GENERATION_KEY = "reference_upload_generation"
CODES_SHOWN = 20


def _when(value) -> str:
    return day(value, language()) if value is not None and not pd.isna(value) else tr("reference.no_date")


def municipality_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The municipalities as shown: code, name, service, population and dates in the viewer's language."""
    return pd.DataFrame({
        tr("reference.column.code"): frame["code"],
        tr("reference.column.name"): frame["name"],
        tr("reference.column.police_service"): frame["police_service"].fillna(""),
        tr("reference.column.population"): [number(value, language()) for value in frame["population_2021"]],
        tr("reference.column.member_from"): frame["member_from"].map(_when),
        tr("reference.column.member_until"): frame["member_until"].map(_when),
    })


def organisation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The partner organisations as shown: code, name and kind in the viewer's language, services and dates."""
    return pd.DataFrame({
        tr("reference.column.code"): frame["code"],
        tr("reference.column.name"): frame[f"name_{language()}"],
        tr("reference.column.kind"): frame["kind"].map(lambda kind: tr(f"organisation.kind.{kind}")),
        tr("reference.column.police_services"): frame["police_services"].str.replace(";", ", "),
        tr("reference.column.member_from"): frame["member_from"].map(_when),
        tr("reference.column.member_until"): frame["member_until"].map(_when),
    })


def problem_table(report: reference_file.ReferenceReport) -> pd.DataFrame:
    """Every problem: line, column, value and reason."""
    return pd.DataFrame({
        tr("import.table.line"): [problem.line for problem in report.problems],
        tr("import.table.column"): [problem.column for problem in report.problems],
        tr("import.table.value"): [problem.value for problem in report.problems],
        tr("import.table.reason"): [problem.reason for problem in report.problems],
    })


def _codes(key: str, codes: tuple[str, ...]) -> None:
    if codes:
        shown = ", ".join(codes[:CODES_SHOWN]) + (" …" if len(codes) > CODES_SHOWN else "")
        st.caption(tr(key, codes=shown))


def _summary(report: reference_file.ReferenceReport) -> None:
    """What the replacement would change, in counts, then the codes it adds, changes and removes."""
    figures = {name: number(len(getattr(report, name)), language()) for name in ("added", "changed", "removed")}
    st.success(tr("reference.summary", rows=number(report.rows_read, language()),
                  unchanged=number(report.unchanged, language()), **figures))
    _codes("reference.codes.added", report.added)
    _codes("reference.codes.changed", report.changed)
    _codes("reference.codes.removed", report.removed)


def _problems(report: reference_file.ReferenceReport) -> None:
    st.error(tr("reference.problems", problems=number(len(report.problems), language())))
    st.dataframe(problem_table(report), hide_index=True, width="stretch")


def _uploader(viewer: Viewer, kind: str) -> None:
    """Upload a file of this kind, read its check, and replace the stored rows on a click."""
    try:
        reference_file.allowed(viewer.scope)
    except PermissionError:
        st.caption(tr("reference.forbidden"))
        return
    generation = st.session_state.get(GENERATION_KEY, 0)
    limit = settings.upload_max_mb()
    uploaded = st.file_uploader(tr(f"reference.upload.{kind}"), type=["csv", "txt"], max_upload_size=limit,
                                key=f"reference_upload_{kind}_{generation}", help=tr("reference.upload.help",
                                                                                      limit=limit))
    if uploaded is None:
        return
    data = uploaded.getvalue()
    with speaking(language()):
        report = reference_file.check_reference_file(cache.engine(), kind, data, uploaded.name, viewer.scope)
    if not report.acceptable:
        _problems(report)
        return
    _summary(report)
    if st.button(tr("reference.confirm"), type="primary", key=f"reference_confirm_{kind}_{generation}"):
        with speaking(language()):
            written = reference_file.replace_reference(cache.engine(), kind, data, uploaded.name,
                                                       subject=viewer.subject, scope=viewer.scope)
        if not written.written:
            st.error(tr("reference.refused"))
            _problems(written)
            return
        st.session_state[GENERATION_KEY] = generation + 1
        st.toast(tr("reference.done", **{name: number(len(getattr(written, name)), language())
                                         for name in ("added", "changed", "removed")}), icon=":material/check:")
        st.rerun()


def _section(viewer: Viewer, kind: str, frame: pd.DataFrame, shown: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    if frame.empty:
        st.info(tr("reference.empty"))
    else:
        st.dataframe(shown(frame), hide_index=True, width="stretch")
    st.download_button(
        tr("reference.download"),
        audited_file(lambda: reference_file.reference_csv(frame), viewer, PAGE, {"file": f"{kind}.csv"}),
        file_name=f"{kind}.csv", mime="text/csv", icon=":material/download:", on_click="ignore",
        key=f"reference_download_{kind}",
    )
    _uploader(viewer, kind)


def reference_section(viewer: Viewer) -> None:
    """The reference data, one tab per kind: its table, its file to download, and an upload that replaces it."""
    if "admin" not in viewer.roles:
        return
    st.subheader(tr("reference.title"))
    st.caption(tr("reference.intro"))
    places, partners = st.tabs([tr("reference.tab.municipalities"), tr("reference.tab.organisations")])
    with places:
        _section(viewer, "municipalities", municipality_reference(cache.engine(), viewer.scope), municipality_table)
    with partners:
        _section(viewer, "organisations", organisation_reference(cache.engine(), viewer.scope), organisation_table)
