"""Each chart in words: a summary sentence and the table of its rows, built from the chart's own aggregated frame."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
from babel.dates import format_date

from dashboard.i18n import LOCALES, day, number, percent, t
from dashboard.render import charts
from queries.timeliness import FUNNEL_STAGES, NEVER

Text = Callable[..., str]
Table = Callable[..., pd.DataFrame]


def _count(value: float, language: str) -> str:
    return number(value, language)


def _optional(value: float | None, language: str, digits: int = 0) -> str:
    """A number in the language, or a dash when missing."""
    return t("metrics.none", language) if value is None or pd.isna(value) else number(value, language, digits)


def _share(part: float, whole: float, language: str) -> str:
    """A share as a percentage, or a dash when there is nothing to divide by."""
    return percent(part / whole, language) if whole else t("metrics.none", language)


def _headed(frame: pd.DataFrame, keys: list[str], language: str) -> pd.DataFrame:
    """A frame with its columns named by catalogue keys, in the language."""
    frame.columns = [t(key, language) for key in keys]
    return frame.reset_index(drop=True)


def _month(value: date, language: str) -> str:
    """A month as "janvier 2026" / "January 2026"."""
    return format_date(pd.Timestamp(value).date(), format="MMMM y", locale=LOCALES[language])


def _period(value: date, unit: str, language: str) -> str:
    """A heat map column: an ISO week, a month or a quarter."""
    if unit == "quarter":
        start = pd.Timestamp(value)
        return t("report.quarter", language, quarter=(start.month - 1) // 3 + 1, year=start.year)
    return _month(value, language)


# Weekly volume


def weekly_summary(frame: pd.DataFrame, language: str) -> str:
    """Total, weekly mean and busiest week of the period, and the same weeks last year."""
    if frame.empty:
        return t("chart.text.empty", language)
    busiest = frame.loc[frame["interventions"].idxmax()]
    total = frame["interventions"].sum()
    return t("chart.text.weekly", language, total=_count(total, language), weeks=_count(len(frame), language),
             mean=number(total / len(frame), language, 1), week=busiest["week"],
             busiest=_count(busiest["interventions"], language),
             last_year=_count(frame["last_year"].fillna(0).sum(), language))


def weekly_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """One row per week: its counts, rolling average, last year's and, when known, its usual range."""
    columns = {
        "week": [str(week) for week in frame["week"]],
        "week_start": [day(pd.Timestamp(start).date(), language) for start in frame["week_start"]],
        "interventions": [_count(value, language) for value in frame["interventions"]],
        "rolling_average": [_optional(value, language, 1) for value in frame["rolling_average"]],
        "last_year": [_optional(value, language) for value in frame["last_year"]],
    }
    keys = ["chart.iso_week", "chart.week_start", "chart.interventions", "chart.rolling_average", "chart.last_year"]
    if {"expected", "upper"} <= set(frame.columns):
        columns["expected"] = [_optional(value, language, 1) for value in frame["expected"]]
        columns["upper"] = [_optional(value, language) for value in frame["upper"]]
        keys += ["chart.expected", "chart.upper"]
    return _headed(pd.DataFrame(columns), keys, language)


# Heat maps: municipalities × weeks, months or quarters


def _heat_grid(frame: pd.DataFrame, period: str, labels: Callable[[object], str], language: str) -> pd.DataFrame:
    """Municipalities as rows, busiest first, periods as columns in time order, counts as text."""
    data = frame.assign(municipality=charts.distinct_names(frame))
    order = data.groupby("municipality")["interventions"].sum().sort_values(ascending=False, kind="stable").index
    grid = data.pivot_table(index="municipality", columns=period, values="interventions", aggfunc="sum")
    grid = grid.reindex(index=order, columns=sorted(grid.columns))
    # Built at once: a column added at a time copied the frame for each of up to 53 weeks.
    return pd.DataFrame({t("chart.municipality", language): list(grid.index),
                         **{labels(column): [_count(value, language) for value in grid[column]]
                            for column in grid.columns}})


def heatmap_summary(frame: pd.DataFrame, language: str) -> str:
    """How many municipalities and weeks, the busiest municipality and its share, and the unusual cells."""
    if frame.empty or frame["interventions"].sum() == 0:
        return t("chart.text.empty", language)
    text = _heat_summary(frame, frame["week"].nunique(), "chart.text.heat.weeks", language)
    if "unusual" in frame.columns:
        cells = int(frame["unusual"].sum())
        key = "chart.text.heat.unusual_one" if cells == 1 else "chart.text.heat.unusual"
        text += " " + t(key, language, cells=_count(cells, language))
    return text


def heatmap_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """Interventions per municipality (rows) and ISO week (columns)."""
    return _heat_grid(frame, "week", str, language)


def monthly_heatmap_summary(frame: pd.DataFrame, language: str) -> str:
    """How many municipalities and months (or quarters), and the busiest municipality and its share."""
    if frame.empty or frame["interventions"].sum() == 0:
        return t("chart.text.empty", language)
    key = "chart.text.heat.quarters" if frame["unit"].iloc[0] == "quarter" else "chart.text.heat.months"
    return _heat_summary(frame, frame["start"].nunique(), key, language)


def monthly_heatmap_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """Interventions per municipality (rows) and month or quarter (columns)."""
    unit = frame["unit"].iloc[0] if len(frame) else "month"
    return _heat_grid(frame, "start", lambda start: _period(start, unit, language), language)


def _heat_summary(frame: pd.DataFrame, periods: int, key: str, language: str) -> str:
    totals = frame.assign(municipality=charts.distinct_names(frame)).groupby("municipality")["interventions"].sum()
    busiest = totals.sort_values(ascending=False, kind="stable")
    return t(key, language, municipalities=_count(len(totals), language), periods=_count(periods, language),
             name=busiest.index[0], count=_count(busiest.iloc[0], language),
             share=_share(busiest.iloc[0], totals.sum(), language))


# Map of the municipalities


MAP_COLUMNS = {"count": "interventions", "rate": "rate_per_1000"}


def map_summary(frame: pd.DataFrame, language: str, measure: str) -> str:
    """The municipality highest on the measure the map shows, among how many."""
    values = pd.to_numeric(frame[MAP_COLUMNS[measure]], errors="coerce") if len(frame) else pd.Series([], dtype=float)
    if values.dropna().empty or values.max() == 0:
        return t("chart.text.empty", language)
    top = frame.loc[values.idxmax()]
    value = _count(top["interventions"], language) if measure == "count" else number(top["rate_per_1000"], language, 2)
    return t(f"chart.text.map.{measure}", language, municipalities=_count(len(frame), language), name=top["name"],
             value=value)


def map_table(frame: pd.DataFrame, language: str, measure: str) -> pd.DataFrame:
    """Each municipality with what the map shows of it, highest on the measure first."""
    data = frame.assign(name=charts.distinct_names(frame), order=pd.to_numeric(frame[MAP_COLUMNS[measure]],
                                                                                errors="coerce"))
    data = data.sort_values(["order", "name"], ascending=[False, True], na_position="last")
    shown = pd.DataFrame({
        "name": data["name"],
        "interventions": [_count(value, language) for value in data["interventions"]],
        "rate": [_optional(value, language, 2) for value in data["rate_per_1000"]],
        "population": [_optional(value, language) for value in data["population"]],
    })
    return _headed(shown, ["chart.municipality", "chart.interventions", "chart.rate_per_1000", "chart.population"],
                   language)


# Outreach


def funnel_summary(frame: pd.DataFrame, language: str) -> str:
    """From arrests to help accepted, in one sentence."""
    members = dict(zip(frame["stage"], frame["members"]))
    arrests = members.get("arrests", 0)
    if not arrests:
        return t("chart.text.empty", language)
    return t("chart.text.funnel", language, arrests=_count(arrests, language),
             attempted=_count(members.get("attempted", 0), language),
             reached=_count(members.get("reached", 0), language),
             accepted=_count(members.get("accepted", 0), language),
             share=_share(members.get("accepted", 0), arrests, language))


def funnel_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """Each stage, its people and their share of arrests, in the chart's order."""
    members = dict(zip(frame["stage"], frame["members"]))
    arrests = members.get("arrests", 0)
    stages = [stage for stage in FUNNEL_STAGES if stage in members]
    shown = pd.DataFrame({
        "stage": [t(f"chart.stage.{stage}", language) for stage in stages],
        "members": [_count(members[stage], language) for stage in stages],
        "share": [_share(members[stage], arrests, language) for stage in stages],
    })
    return _headed(shown, ["chart.stage", "chart.members", "chart.text.share_of_arrests"], language)


def _timings(frame: pd.DataFrame, target_hours: float) -> list[str]:
    return [charts.timing_of(bucket, upper, target_hours)
            for bucket, upper in zip(frame["bucket"], frame["upper_hours"])]


def delay_summary(frame: pd.DataFrame, language: str, target_hours: float, median_hours: float | None,
                  p90_hours: float | None) -> str:
    """How many were first attempted within the target, the median and 90th percentile, and the never attempted."""
    total = frame["members"].sum()
    if not total:
        return t("chart.text.empty", language)
    timings = _timings(frame, target_hours)
    within = frame["members"][[timing == "on_time" for timing in timings]].sum()
    never = frame["members"][[bucket == NEVER for bucket in frame["bucket"]]].sum()
    text = t("chart.text.delay", language, within=_count(within, language), total=_count(total, language),
             share=_share(within, total, language), target=charts.hours_text(target_hours, language),
             never=_count(never, language))
    known = [t(key, language, value=charts.hours_text(hours, language))
             for key, hours in (("chart.median", median_hours), ("chart.p90", p90_hours)) if hours is not None]
    return " ".join([text, *(f"{part}." for part in [" · ".join(known)] if known)])


def delay_table(frame: pd.DataFrame, language: str, target_hours: float, median_hours: float | None = None,
                p90_hours: float | None = None) -> pd.DataFrame:
    """Each delay bucket, its people, their share of the cohort and whether it is within the target, in words."""
    total = frame["members"].sum()
    shown = pd.DataFrame({
        "bucket": [t(f"chart.bucket.{bucket}", language) for bucket in frame["bucket"]],
        "members": [_count(value, language) for value in frame["members"]],
        "share": [_share(value, total, language) for value in frame["members"]],
        "timing": [t(f"chart.timing.{timing}", language) for timing in _timings(frame, target_hours)],
    })
    return _headed(shown, ["chart.delay", "chart.members", "chart.text.share_of_cohort", "chart.timing"], language)


def within_24h_summary(frame: pd.DataFrame, language: str, target_share: float) -> str:
    """How many weeks met the target share, and the range of the weekly shares."""
    shares = frame["share_24h"].dropna() if len(frame) else pd.Series([], dtype=float)
    if shares.empty:
        return t("chart.text.empty", language)
    return t("chart.text.within_24h", language, met=_count((shares >= target_share).sum(), language),
             weeks=_count(len(shares), language), target=percent(target_share, language),
             low=percent(shares.min(), language), high=percent(shares.max(), language))


def within_24h_table(frame: pd.DataFrame, language: str, target_share: float) -> pd.DataFrame:
    """One row per week: its cohort, how many were attempted within 24 h, the share, and the target met or not."""
    shown = pd.DataFrame({
        "week": [str(week) for week in frame["week"]],
        "week_start": [day(pd.Timestamp(start).date(), language) for start in frame["week_start"]],
        "cohort": [_count(value, language) for value in frame["cohort"]],
        "within": [_count(value, language) for value in frame["within_24h"]],
        "share": [t("metrics.none", language) if pd.isna(share) else percent(share, language)
                  for share in frame["share_24h"]],
        "met": [t("metrics.none", language) if pd.isna(share) else t("yes" if share >= target_share else "no",
                                                                       language) for share in frame["share_24h"]],
    })
    return _headed(shown, ["chart.iso_week", "chart.week_start", "chart.cohort", "chart.within_24h",
                           "chart.share_24h", "chart.text.target_met"], language)


def _monthly_summary(frame: pd.DataFrame, category: str, value: str, key: str, language: str) -> str:
    total = frame[value].sum() if len(frame) else 0
    if not total:
        return t("chart.text.empty", language)
    totals = frame.groupby(category)[value].sum().sort_values(ascending=False, kind="stable")
    return t(key, language, total=_count(total, language), months=_count(frame["month_start"].nunique(), language),
             label=t(f"chart.{category}.{totals.index[0]}", language), count=_count(totals.iloc[0], language),
             share=_share(totals.iloc[0], total, language))


def _monthly_table(frame: pd.DataFrame, category: str, order: dict[str, str], value: str,
                   language: str) -> pd.DataFrame:
    """Months as rows, categories as columns in the chart's stacking order."""
    grid = frame.pivot_table(index="month_start", columns=category, values=value, aggfunc="sum", fill_value=0)
    grid = grid.reindex(columns=[key for key in order if key in grid.columns]).sort_index()
    return pd.DataFrame({t("chart.month", language): [_month(month, language) for month in grid.index],
                         **{t(f"chart.{category}.{key}", language): [_count(count, language) for count in grid[key]]
                            for key in grid.columns}})


def outcomes_summary(frame: pd.DataFrame, language: str) -> str:
    """The cohort over the months shown, and its most frequent outcome."""
    return _monthly_summary(frame, "outcome", "members", "chart.text.outcomes", language)


def outcomes_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """People per month (rows) and outcome (columns)."""
    return _monthly_table(frame, "outcome", charts.OUTCOME_COLOURS, "members", language)


def referrals_summary(frame: pd.DataFrame, language: str) -> str:
    """The referrals over the months shown, and the most frequent kind."""
    return _monthly_summary(frame, "referral", "attempts", "chart.text.referrals", language)


def referrals_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """Referrals per month (rows) and kind of service (columns)."""
    return _monthly_table(frame, "referral", charts.REFERRAL_COLOURS, "attempts", language)


def repeat_summary(frame: pd.DataFrame, language: str) -> str:
    """Each group's share with a repeat intervention within 12 months, with its counts."""
    if frame.empty:
        return t("chart.text.empty", language)
    parts = [
        t("chart.text.repeat.group", language, group=t(f"chart.group.{row.group}", language),
          share=t("metrics.none", language) if pd.isna(row.share) else t(
              "chart.share_of", language, share=percent(row.share, language), repeated=_count(row.repeated, language),
              members=_count(row.members, language)))
        for row in frame.itertuples(index=False)
    ]
    return t("chart.text.repeat", language, groups=t("chart.text.separator", language).join(parts))


def repeat_table(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """Each group: its people, those with a repeat intervention within 12 months, and the share."""
    shown = pd.DataFrame({
        "group": [t(f"chart.group.{group}", language) for group in frame["group"]],
        "members": [_count(value, language) for value in frame["members"]],
        "repeated": [_count(value, language) for value in frame["repeated"]],
        "share": [t("metrics.none", language) if pd.isna(share) else percent(share, language)
                  for share in frame["share"]],
    })
    return _headed(shown, ["chart.group", "chart.members", "chart.repeated", "chart.repeat_share"], language)


# By chart builder: the summary and the table of the frame it draws, taking the same options.
EQUIVALENTS: dict[Callable, tuple[Text, Table]] = {
    charts.weekly_chart: (weekly_summary, weekly_table),
    charts.heatmap_chart: (heatmap_summary, heatmap_table),
    charts.monthly_heatmap_chart: (monthly_heatmap_summary, monthly_heatmap_table),
    charts.municipality_map: (map_summary, map_table),
    charts.funnel_chart: (funnel_summary, funnel_table),
    charts.delay_chart: (delay_summary, delay_table),
    charts.within_24h_trend_chart: (within_24h_summary, within_24h_table),
    charts.outcomes_chart: (outcomes_summary, outcomes_table),
    charts.referrals_chart: (referrals_summary, referrals_table),
    charts.repeat_chart: (repeat_summary, repeat_table),
}


def in_words(builder: Callable, frame: pd.DataFrame, language: str, *options) -> tuple[str, pd.DataFrame]:
    """A chart builder's frame as a summary sentence and a table, in the language."""
    summary, table = EQUIVALENTS[builder]
    return summary(frame, language, *options), table(frame, language, *options)
