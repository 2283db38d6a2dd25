"""Widgets the pages share: who is signed in, headline tiles, tables and their CSV downloads."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from auth.viewer import Viewer
from dashboard.figures import DIGITS, definition, formatted, short_label, unit
from dashboard.i18n import day, number, percent
from dashboard.web.audit import audited_file, filter_description
from dashboard.web.language import language, tr
from queries import trends
from queries.filters import MetricFilter
from queries.localtime import LOCAL_TIMEZONE
from queries.outreach import OutreachSummary


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


MAX_DECIMALS = 3
HEADLINE_TILES = ("interventions", "arrests", "rate_per_1000", "repeat", "contact_bans")
# Outreach tiles: (registered figure, the OutreachSummary field that holds it).
OUTREACH_TILES = (
    ("cohort", "cohort"),
    ("reach_rate", "reach_rate"),
    ("acceptance_rate", "acceptance_rate"),
    ("median_hours", "median_hours_to_first_attempt"),
    ("within_24h_share", "within_24h_share"),
    ("within_48h_share", "within_48h_share"),
)


def headline_tiles(headline: trends.Headline) -> None:
    """The five headline figures, each against the previous period and the same period last year."""
    for column, key in zip(st.columns(len(HEADLINE_TILES)), HEADLINE_TILES):
        current, previous, last_year = (getattr(period, key) for period in
                                        (headline.current, headline.previous, headline.last_year))
        title, digits = short_label(key, language()), DIGITS[unit(key)]
        if current is None:
            column.metric(title, tr("metrics.none"))
            continue
        column.metric(
            title,
            formatted(unit(key), current, language()),
            delta=None if previous is None else signed_change(current, previous, digits),
            delta_color="off",
            help=definition(key, language()) + " " + tr("tile.vs_previous"),
        )
        if last_year is not None:
            column.caption(tr("tile.vs_last_year", value=formatted(unit(key), last_year, language()),
                              change=signed_change(current, last_year, digits)))


def municipality_table_for_display(table: pd.DataFrame) -> pd.DataFrame:
    """The per-municipality table with translated headers and rounded figures, as shown and downloaded."""
    shown = table[["name", "population", "interventions", "rate_per_1000", "arrests", "previous", "change"]].copy()
    shown["rate_per_1000"] = shown["rate_per_1000"].round(2)
    shown = shown.sort_values(["interventions", "name"], ascending=[False, True])
    shown.columns = [tr(f"table.{name}") for name in shown.columns]
    return shown


def outreach_tiles(summary: OutreachSummary) -> None:
    """Cohort, reach, acceptance, median delay and the within-24 h / 48 h shares."""
    for column, (key, field) in zip(st.columns(len(OUTREACH_TILES)), OUTREACH_TILES):
        column.metric(short_label(key, language()), formatted(unit(key), getattr(summary, field), language()),
                      help=definition(key, language()))


def victim_tiles(frame: pd.DataFrame) -> None:
    """Victim follow-ups of the period, counted apart from the men's outreach."""
    interventions, followed, attempts, reached = (int(frame[name].sum()) for name in
                                                  ("interventions", "followed_up", "attempts", "reached"))
    tiles = (
        ("victims.followed_up", number(followed, language()),
         percent(followed / interventions, language()) if interventions else None),
        ("victims.reached", number(reached, language()), None),
        ("victims.attempts", number(attempts, language()), None),
    )
    for column, (label, value, share) in zip(st.columns(len(tiles)), tiles):
        column.metric(tr(label), value)
        if share:
            column.caption(tr("victims.share", share=share))


def unusual_weeks_for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The unusual weeks as the reader sees them: names, weeks, counts, the range's numbers, the method."""
    return pd.DataFrame({
        tr("unusual.column.municipality"): frame["name"],
        tr("unusual.column.week"): frame["week"],
        tr("unusual.column.interventions"): frame["interventions"].astype(int),
        tr("unusual.column.expected"): frame["expected"].round(1),
        tr("unusual.column.upper"): frame["upper"].round(1),
        tr("unusual.column.excess"): frame["excess"].round(1),
        tr("unusual.column.method"): [tr(f"unusual.method.{method}") for method in frame["method"]],
    })


def localized_numbers(frame: pd.DataFrame) -> dict:
    """Column settings that show a table's numbers in the reader's locale (1 234,5 in French), decimals kept."""
    return {
        name: st.column_config.NumberColumn(format="localized", step=_step(frame[name]))
        for name in frame.columns
        if pd.api.types.is_numeric_dtype(frame[name])
    }


def _step(values: pd.Series) -> float | None:
    # The browser shows as many decimals as the step has: without one a rate of 3.00 reads 3 beside 2.67.
    if not pd.api.types.is_float_dtype(values):
        return None
    shown = values.dropna()
    decimals = next((digits for digits in range(MAX_DECIMALS) if (shown.round(digits) == shown).all()), MAX_DECIMALS)
    return 10.0 ** -decimals if decimals else 1.0


def csv_download(frame: pd.DataFrame, file_name: str, viewer: Viewer, page: str, flt: MetricFilter) -> None:
    """A CSV download of an aggregated table, audited when the file is made; `;` and a BOM in French."""
    french = language() == "fr"
    separator, decimal = (";", ",") if french else (",", ".")
    details = {**filter_description(flt), "file": file_name}
    st.download_button(
        tr("download.csv"),
        audited_file(lambda: frame.to_csv(index=False, sep=separator, decimal=decimal).encode("utf-8-sig"),
                     viewer, page, details),
        file_name=file_name, mime="text/csv", icon=":material/download:", on_click="ignore",
    )
