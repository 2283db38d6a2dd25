"""Late police data said in words at the top of a page, and each police service's freshness for the Data page."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from auth.viewer import Viewer
from dashboard import settings
from dashboard.i18n import elapsed, moment, number, t
from dashboard.web import cache
from dashboard.web.language import language, tr
from queries import freshness
from queries.localtime import LOCAL_TIMEZONE


def _now() -> datetime:
    """This minute (UTC): the freshness read is cached per minute and data version, not per rerun."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _limit(language_code: str) -> str:
    return number(settings.stale_hours(), language_code, 0 if settings.stale_hours().is_integer() else 1)


def stale_lines(late: pd.DataFrame, language_code: str) -> list[str]:
    """One sentence per late service: how long since its latest data, or that none ever came."""
    lines = []
    for row in late.itertuples(index=False):
        if pd.isna(row.last_import_at):
            lines.append(t("freshness.never", language_code, service=row.code))
        else:
            lines.append(t("freshness.stale", language_code, service=row.code,
                           elapsed=elapsed(row.hours_since_import, language_code), limit=_limit(language_code)))
    return lines


def stale_warning(viewer: Viewer) -> None:
    """A warning per police service of the viewer's scope whose data is late; nothing when all are fresh."""
    scope = viewer.scope
    if not scope.exact_figures:
        return
    late = cache.query(freshness.stale_services, None, scope, _now(), settings.stale_hours())
    for line in stale_lines(late, language()):
        st.warning(line, icon=":material/schedule:")


def _local(value, language_code: str) -> str:
    if pd.isna(value):
        return t("freshness.never_at", language_code)
    return moment(pd.Timestamp(value).to_pydatetime().astimezone(LOCAL_TIMEZONE), language_code)


def _age(hours: float, language_code: str) -> str:
    return "" if pd.isna(hours) else elapsed(hours, language_code)


def status(row, language_code: str) -> str:
    """Up to date, or late in words: since when, or never received."""
    if pd.isna(row.last_import_at):
        return t("freshness.status.never", language_code)
    if row.hours_since_import >= settings.stale_hours():
        return t("freshness.status.late", language_code, elapsed=elapsed(row.hours_since_import, language_code))
    return t("freshness.status.fresh", language_code)


def freshness_for_display(frame: pd.DataFrame, language_code: str) -> pd.DataFrame:
    """Each service's latest import and intervention in local time, the time since each, and its status, in words."""
    rows = list(frame.itertuples(index=False))
    return pd.DataFrame({
        t("freshness.column.service", language_code): [
            f"{getattr(row, f'name_{language_code}')} ({row.code})" for row in rows],
        t("freshness.column.last_import", language_code): [_local(row.last_import_at, language_code) for row in rows],
        t("freshness.column.import_age", language_code): [_age(row.hours_since_import, language_code) for row in rows],
        t("freshness.column.last_intervention", language_code): [
            _local(row.last_intervention_at, language_code) for row in rows],
        t("freshness.column.intervention_age", language_code): [
            _age(row.hours_since_intervention, language_code) for row in rows],
        t("freshness.column.status", language_code): [status(row, language_code) for row in rows],
    })


def freshness_table(viewer: Viewer) -> None:
    """The Data page's table: each service of the viewer's scope, its latest import and intervention, late ones
    flagged in words."""
    scope = viewer.scope
    if not scope.exact_figures:
        return
    frame = cache.query(freshness.service_freshness, None, scope, _now())
    st.subheader(tr("freshness.title"))
    st.table(freshness_for_display(frame, language()), hide_index=True)
    st.caption(tr("freshness.caption", limit=_limit(language())))
