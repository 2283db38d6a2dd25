"""The report's words, numbers and charts in one language: shared by the report page and every download."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.figures import FIGURES, SECTIONS, definition, formatted, in_section, label, marker
from dashboard.figures import plain as plain_number
from dashboard.i18n import day, number, percent, t
from dashboard.render import charts
from queries.filters import MetricFilter, Period
from queries.periods import calendar_period
from queries.report import FUNNEL, Figure, Report
from queries.suppression import MASKED, SMALL


def value_text(figure: Figure, unit: str, threshold: int, language: str) -> str:
    """A figure as shown: formatted in its unit, its suppression marker, or a dash when undefined."""
    if figure.hidden:
        return marker(figure.hidden, threshold, language)
    return formatted(unit, figure.value, language)


def change_text(current: Figure, earlier: Figure, kind: str, language: str) -> str:
    """The change from an earlier figure: a percentage for counts and rates, points for shares, hours for delays."""
    if current.value is None or earlier.value is None:
        return t("metrics.none", language)
    # Rounded first, so that the sign is that of the figure shown ("+0 pts", never "-0 pts").
    if kind == "share":
        points = round((current.value - earlier.value) * 100)
        return ("+" if points >= 0 else "") + t("report.points", language, value=number(points, language, 0))
    if kind == "hours":
        hours = round(current.value - earlier.value, 1)
        return ("+" if hours >= 0 else "") + t("metrics.hours", language, value=number(hours, language, 1))
    if not earlier.value:
        return t("metrics.none", language)
    change = round((current.value - earlier.value) / earlier.value, 2)
    return ("+" if change >= 0 else "") + percent(change, language)


def like_funders_reports(flt: MetricFilter, funder_period: str) -> bool:
    """Whether a report is of the kind funders get: a whole quarter (or year) of the whole scope."""
    calendar = calendar_period(flt.period)
    return (calendar is not None and calendar[0] == funder_period and flt.period.end == calendar[3]
            and not flt.services and not flt.municipalities)


def period_label(period: Period, language: str) -> str:
    """A quarter as "T3 2026", a year as "2026", either "to" its last date when partial, anything else as dates."""
    calendar = calendar_period(period)
    if calendar is None:
        return dates_text(period, language)
    kind, year, quarter, last_day = calendar
    label = t("report.quarter", language, quarter=quarter, year=year) if kind == "quarter" else str(year)
    if period.end != last_day:
        label = t("report.partial", language, label=label, end=day(period.end, language))
    return label


def dates_text(period: Period, language: str) -> str:
    """A period's first and last dates."""
    return t("report.range", language, start=day(period.start, language), end=day(period.end, language))


def scope_text(services: dict[str, str], municipalities: list[str], all_services: bool, language: str) -> str:
    """The police services and municipalities the report covers, in words."""
    text = (t("report.scope.all_services", language) if all_services
            else t("report.scope.services", language, services=", ".join(services.values())))
    if municipalities:
        text += " · " + t("report.scope.municipalities", language, names=", ".join(municipalities))
    return text


def compared_periods(report: Report) -> tuple[str, ...]:
    """The earlier periods the report compares with: both, or last year alone when it is also the previous one."""
    periods = report.periods
    return ("last_year",) if periods["previous"] == periods["last_year"] else ("previous", "last_year")


def title(report: Report, language: str) -> str:
    """The report's title: the funder report, or an internal one when nothing is hidden."""
    return t("report.title.exact" if report.exact else "report.title", language)


def intro(report: Report, language: str) -> str:
    """What the report holds and hides, in two sentences."""
    key = "report.intro" if len(compared_periods(report)) == 2 else "report.intro.last_year"
    return t(key + (".exact" if report.exact else ""), language, below=report.threshold - 1)


def _plain_figure(figure: Figure, unit: str, threshold: int, language: str) -> str:
    """A figure for a spreadsheet: a bare number in the unit of its row, or its marker."""
    if figure.hidden or figure.value is None:
        return value_text(figure, unit, threshold, language)
    return plain_number(unit, figure.value, language)


def plain_figure_table(report: Report, language: str) -> pd.DataFrame:
    """Every figure with its unit, as bare numbers a spreadsheet reads; changes are left to the spreadsheet."""
    rows = [
        {
            "figure": label(published.key, language),
            "unit": t(f"report.unit.{published.unit}", language),
            **{name: _plain_figure(report.figures[published.key][name], published.unit, report.threshold, language)
               for name in ("current", *compared_periods(report))},
            "definition": definition(published.key, language),
        }
        for published in FIGURES
    ]
    frame = pd.DataFrame(rows)
    frame.columns = [t(f"report.column.{name}", language) for name in frame.columns]
    return frame


def figure_table(report: Report, section: str, language: str, definitions: bool = False) -> pd.DataFrame:
    """A section's figures against the previous period and last year, as text, with their definitions if asked."""
    rows = []
    for published in in_section(section):
        values, unit = report.figures[published.key], published.unit
        row = {"figure": label(published.key, language),
               "current": value_text(values["current"], unit, report.threshold, language)}
        for name in compared_periods(report):
            row[name] = value_text(values[name], unit, report.threshold, language)
            row[f"change_{name}"] = change_text(values["current"], values[name], unit, language)
        if definitions:
            row["definition"] = definition(published.key, language)
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.columns = [t(f"report.column.{name}", language) for name in frame.columns]
    return frame


def headline_messages(report: Report, language: str) -> dict[str, str]:
    """One plain sentence per part of the report, for slide titles and the page's summary."""
    figures, threshold = report.figures, report.threshold

    def shown(name: str, kind: str) -> str:
        return value_text(figures[name]["current"], kind, threshold, language)

    change = change_text(figures["interventions"]["current"], figures["interventions"]["last_year"], "count", language)
    volume = (t("report.message.volume", language, interventions=shown("interventions", "count"), change=change)
              if change != t("metrics.none", language)
              else t("report.message.volume.plain", language, interventions=shown("interventions", "count")))
    return {
        "volume": volume,
        "outreach": _message(language, "report.message.outreach",
                             reach=_published(figures["reach_rate"]["current"], "share", language),
                             acceptance=_published(figures["acceptance_rate"]["current"], "share", language)),
        "timeliness": _message(language, "report.message.timeliness",
                               within=_published(figures["within_24h_share"]["current"], "share", language),
                               median=_published(figures["median_hours"]["current"], "hours", language)),
    }


def _published(figure: Figure, kind: str, language: str) -> str | None:
    """A figure's text when it has a value to show, else None."""
    return None if figure.value is None else value_text(figure, kind, 0, language)


def _message(language: str, key: str, **values: str | None) -> str:
    """A headline sentence with all its values, or with those that are shown, or saying they are not published."""
    shown = {name: value for name, value in values.items() if value is not None}
    if len(shown) == len(values):
        return t(key, language, **values)
    if shown:
        name, value = next(iter(shown.items()))
        return t(f"{key}.{name}", language, **{name: value})
    return t("report.message.hidden", language)


def tables(report: Report, language: str, plain: bool = False) -> dict[str, pd.DataFrame]:
    """Every table of the report, as shown (or, plain, as numbers a spreadsheet reads), markers in hidden cells."""
    threshold = report.threshold

    def written(value: float, language: str, unit: str = "count") -> str:
        return plain_number(unit, value, language) if plain else formatted(unit, value, language)

    def _cells(frame: pd.DataFrame, column: str, threshold: int, language: str) -> list[str]:
        return [marker(hidden, threshold, language) if hidden else written(value, language)
                for value, hidden in zip(frame[column], frame[f"{column}_hidden"])]

    figures = plain_figure_table(report, language) if plain else pd.concat(
        [figure_table(report, section, language, definitions=True) for section in SECTIONS], ignore_index=True)
    weekly = pd.DataFrame({
        "week": report.weekly["week"],
        "week_start": [value.isoformat() for value in report.weekly["week_start"]],
        "interventions": _cells(report.weekly, "interventions", threshold, language),
    })
    places = report.municipalities.sort_values("name")
    municipalities = pd.DataFrame({
        "code": places["code"],
        "municipality": places["name"],
        "population": [written(value, language) for value in places["population"]],
        "interventions": _cells(places, "interventions", threshold, language),
        "rate_per_1000": [
            marker(MASKED, threshold, language) if hidden else
            t("metrics.none", language) if pd.isna(rate) else written(rate, language, "rate")
            for rate, hidden in zip(places["rate_per_1000"], places["interventions_hidden"])
        ],
    })
    outcomes = pd.DataFrame({
        "outcome": [t(f"chart.outcome.{status}", language) for status in report.outcomes["status"]],
        "members": _cells(report.outcomes, "members", threshold, language),
    })
    delays = pd.DataFrame({
        "delay": [t(f"chart.bucket.{bucket}", language) for bucket in report.delays["bucket"]],
        "members": _cells(report.delays, "members", threshold, language),
    })
    result = {"figures": figures, "weekly": weekly, "municipalities": municipalities, "outcomes": outcomes,
              "delays": delays}
    for name, frame in result.items():
        if name != "figures":
            frame.columns = [t(f"report.column.{column}", language) for column in frame.columns]
    return result


def legend(report: Report, language: str) -> str:
    """What the suppression markers mean."""
    return t("report.legend" + (".exact" if report.exact else ""), language, threshold=report.threshold,
             below=report.threshold - 1)


def suppression_definition(report: Report, language: str) -> str:
    """The suppression rule in one sentence."""
    text = t("report.definition.suppression" + (".exact" if report.exact else ""), language,
             threshold=report.threshold, below=report.threshold - 1)
    return text[0].upper() + text[1:]


def file_stem(report: Report, language: str) -> str:
    """A download's name without extension: relais-rapport-2026-T3, relais-report-2026, or with the dates."""
    period = report.periods["current"]
    calendar = calendar_period(period)
    if calendar is None or period.end != calendar[3]:
        readable = f"{period.start.isoformat()}-{period.end.isoformat()}"
    else:
        kind, year, quarter, _last_day = calendar
        readable = f"{year}-{t('report.quarter', language, quarter=quarter, year='').strip()}" if kind == "quarter" \
            else str(year)
    return f"{t('report.file.stem', language)}-{readable}"


def map_charts(report: Report, language: str,
               shapes: dict[str, dict] | None = None) -> list[tuple[str, alt.LayerChart]]:
    """The report's maps, one per police service (the busiest first), from its suppressed frame only."""
    return charts.report_map_charts(report.municipalities, language, report.threshold, shapes)


def report_charts(report: Report, language: str, target_hours: float) -> dict[str, alt.TopLevelMixin]:
    """The report's charts other than the maps, built from its suppressed frames only."""
    figures = report.figures
    funnel = pd.DataFrame({
        "key": list(FUNNEL),
        "value": [figures[stage]["current"].value for stage in FUNNEL],
        "hidden": [figures[stage]["current"].hidden for stage in FUNNEL],
    })
    cohort = figures["cohort"]["current"].value
    return {
        "trend": charts.report_weekly_chart(report.weekly, language, report.threshold),
        "funnel": charts.report_bars_chart(funnel, language, report.threshold, "chart.stage", "funnel", cohort),
        "delays": charts.report_bars_chart(
            report.delays.rename(columns={"bucket": "key", "members": "value", "members_hidden": "hidden"}),
            language, report.threshold, "chart.bucket", "delays", cohort, target_hours=target_hours),
        "outcomes": charts.report_bars_chart(
            report.outcomes.rename(columns={"status": "key", "members": "value", "members_hidden": "hidden"}),
            language, report.threshold, "chart.outcome", "outcomes", cohort),
    }


def is_broken_down(frame: pd.DataFrame, column: str) -> bool:
    """Whether a series shows anything beyond its total: some count shown that is not zero."""
    return bool((frame[f"{column}_hidden"].isna() & frame[column].fillna(0).gt(0)).any())



def _hidden_counts(hidden: pd.Series) -> dict[str, int]:
    """How many values are shown as "< 5" and how many as "x"."""
    return {"small": int((hidden == SMALL).sum()), "masked": int((hidden.notna() & (hidden != SMALL)).sum())}


def _with_hidden(text: str, hidden: pd.Series, threshold: int, language: str) -> str:
    """A sentence, then how many of its values are hidden and how, when any are."""
    counts = _hidden_counts(hidden)
    if not any(counts.values()):
        return text
    return text + " " + t("chart.text.report.hidden", language, small=counts["small"], masked=counts["masked"],
                          marker=marker(SMALL, threshold, language))


def weekly_summary(report: Report, language: str) -> str:
    """The period's interventions, its weeks and the busiest week shown; hidden weeks counted, never their values."""
    weekly, threshold = report.weekly, report.threshold
    total = value_text(report.figures["interventions"]["current"], "count", threshold, language)
    shown = weekly[weekly["interventions_hidden"].isna()]
    if shown.empty or not shown["interventions"].max():
        text = t("chart.text.report.trend.plain", language, total=total, weeks=number(len(weekly), language))
    else:
        busiest = shown.loc[shown["interventions"].idxmax()]
        text = t("chart.text.report.trend", language, total=total, weeks=number(len(weekly), language),
                 week=busiest["week"], busiest=number(busiest["interventions"], language))
    return _with_hidden(text, weekly["interventions_hidden"], threshold, language)


def map_summary(places: pd.DataFrame, threshold: int, language: str) -> str:
    """How many municipalities, the highest rate shown, and how many counts are hidden."""
    rates = places[places["interventions_hidden"].isna()].dropna(subset=["rate_per_1000"])
    count = number(len(places), language)
    if rates.empty:
        text = t("chart.text.report.map.plain", language, municipalities=count)
    else:
        top = rates.loc[rates["rate_per_1000"].idxmax()]
        text = t("chart.text.report.map", language, municipalities=count, name=top["name"],
                 rate=formatted("rate", top["rate_per_1000"], language))
    return _with_hidden(text, places["interventions_hidden"], threshold, language)


def funnel_table(report: Report, language: str) -> pd.DataFrame:
    """The funnel's stages and their people as shown, markers in hidden cells."""
    frame = pd.DataFrame({
        "stage": [t(f"chart.stage.{stage}", language) for stage in FUNNEL],
        "members": [value_text(report.figures[stage]["current"], "count", report.threshold, language)
                    for stage in FUNNEL],
    })
    frame.columns = [t("chart.stage", language), t("chart.members", language)]
    return frame


def _listed(labels: list[str], values: list[str], language: str) -> str:
    """"label: value" pairs in one line."""
    return t("chart.text.separator", language).join(
        t("chart.pair", language, label=label, value=value) for label, value in zip(labels, values))


def chart_texts(report: Report, language: str) -> dict[str, tuple[str, pd.DataFrame]]:
    """Each report chart as a sentence and a table, from the same suppressed figures and frames, markers and all."""
    shown, threshold = tables(report, language), report.threshold

    def current(name: str, unit: str = "count") -> str:
        return value_text(report.figures[name]["current"], unit, threshold, language)

    funnel = funnel_table(report, language)
    outcomes = shown["outcomes"]
    return {
        "trend": (weekly_summary(report, language), shown["weekly"]),
        "map": (map_summary(report.municipalities, threshold, language), shown["municipalities"]),
        "funnel": (t("chart.text.report.funnel", language, arrests=current("cohort"), attempted=current("attempted"),
                     reached=current("reached"), accepted=current("accepted")), funnel),
        "delays": (t("chart.text.report.delays", language, within=current("within_24h_share", "share"),
                     median=current("median_hours", "hours")), shown["delays"]),
        "outcomes": (_listed(list(outcomes.iloc[:, 0]), list(outcomes.iloc[:, 1]), language) + ".", outcomes),
    }
