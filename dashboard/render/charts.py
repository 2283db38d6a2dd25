"""Chart builders: aggregated frames in, Altair charts and pydeck maps out, labelled in the viewer's language."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Iterator, Sequence

import altair as alt
import pandas as pd
import pydeck as pdk
from babel.dates import get_day_names, get_month_names, get_period_names
from babel.numbers import get_decimal_symbol, get_group_symbol

from dashboard.figures import label, marker
from dashboard.i18n import LOCALES, number, percent, t
from queries.timeliness import FUNNEL_BREAKDOWN, FUNNEL_STAGES, NEVER

# One hue for volumes; Okabe–Ito colours (colour-blind safe) for categories.
VOLUME_SCHEME = "blues"
BLUE, SKY, ORANGE, VERMILLION, GREEN, PURPLE = "#0072B2", "#56B4E9", "#E69F00", "#D55E00", "#009E73", "#CC79A7"
GREY, LIGHT_GREY, DARK_BLUE = "#8C8C8C", "#BDBDBD", "#08306B"
TARGET_COLOUR = VERMILLION
# Text in charts at 4.5:1 or more on white (WCAG AA): vermillion itself reads at 3.9:1, so the target's words take a
# darker shade of it; axis and legend words a darker grey than Streamlit's default (3.7:1).
TARGET_TEXT_COLOUR = "#A64200"
CHART_TEXT_COLOUR = "#555867"

WEEKLY_SERIES = (  # (column, catalogue key, colour, dash)
    ("interventions", "chart.interventions", SKY, [1, 0]),
    ("rolling_average", "chart.rolling_average", DARK_BLUE, [1, 0]),
    ("last_year", "chart.last_year", GREY, [5, 4]),
)
TIMING_COLOURS = {"on_time": BLUE, "late": ORANGE, "never": LIGHT_GREY}
OUTCOME_COLOURS = {
    "accepted": BLUE,
    "already_in_help": SKY,
    "declined": ORANGE,
    "no_answer": VERMILLION,
    "not_attempted": LIGHT_GREY,
}
REFERRAL_COLOURS = {
    "men_program": BLUE,
    "therapy": SKY,
    "addiction": GREEN,
    "shelter": ORANGE,
    "victim_assistance": PURPLE,
    "legal": VERMILLION,
    "other": GREY,
}
REPEAT_GROUP_COLOURS = {"accepted": BLUE, "declined_or_in_help": ORANGE, "not_reached": LIGHT_GREY}

# Short spans get one tick per data point (weeks start on Monday, d3's week ticks on Sunday).
EXPLICIT_TICKS_UP_TO = 16
BAR_LABEL_ROOM = 1.5  # x domain headroom so the text beside the longest bar is not cut off

# Map: ColorBrewer Blues from light to dark, and the view when there is nothing to fit.
MAP_RAMP = ((198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107))
MAP_NO_VALUE = [200, 200, 200, 140]
MAP_ALPHA = 210
QUEBEC_VIEW = {"latitude": 46.8, "longitude": -71.2, "zoom": 5.0}
VIEWPORT_PIXELS = (360, 480)  # st.pydeck_chart's 500 px height on a phone: the view fitted to it fits wider ones
MAX_ZOOM = 11.0
WORLD_PIXELS = 512  # deck.gl's world width at zoom 0
FIT_MARGIN = 1.15
COLUMN_PITCH = 35
PITCH_ZOOM_OUT = 0.3  # a tilted view makes its near side loom larger


def vega_locale(language: str) -> dict:
    """Vega's number and time format locale for a language, read from Babel's fr_CA / en_CA data."""
    locale = LOCALES[language]
    days = get_day_names("wide", locale=locale)
    short_days = get_day_names("abbreviated", locale=locale)
    periods = get_period_names(locale=locale)
    return {
        "number": {
            "decimal": get_decimal_symbol(locale),
            "thousands": get_group_symbol(locale),
            "grouping": [3],
            "currency": ["", "\u00a0$"] if language == "fr" else ["$", ""],
            "percent": percent(0, language).removeprefix("0"),
        },
        "time": {
            "dateTime": "%x %X",
            "date": "%Y-%m-%d",
            "time": "%H:%M:%S",
            "periods": [periods.get("am", "AM"), periods.get("pm", "PM")],  # unused: the formats are 24-hour
            # Babel counts days from Monday, d3 from Sunday.
            "days": [days[(index + 6) % 7] for index in range(7)],
            "shortDays": [short_days[(index + 6) % 7] for index in range(7)],
            "months": [get_month_names("wide", locale=locale)[month] for month in range(1, 13)],
            "shortMonths": [get_month_names("abbreviated", locale=locale)[month] for month in range(1, 13)],
        },
    }


# Every channel is given as its class (alt.X, alt.Text, alt.XValue...), never as "field:Q" text or alt.value():
# Altair turns those into classes by hashing its whole schema, about 2 ms each, on every page's cold path.


def weekly_chart(frame: pd.DataFrame, language: str) -> alt.LayerChart:
    """Interventions per week, their 4-week rolling average and last year's same weeks, with a hover rule; with
    `expected` and `upper` columns, each week's usual range as a band behind them."""
    data = _with_iso_days(frame, "week_start")
    ranged = {"expected", "upper"} <= set(data.columns)
    labels = {column: t(key, language) for column, key, _, _ in WEEKLY_SERIES}
    x = alt.X("week_start:T", title=t("chart.week", language), scale=alt.Scale(type="utc"),
              axis=_time_axis(language, data["week_start"]))
    base = alt.Chart(data).encode(x=x)
    lines = (
        base.transform_fold([column for column, *_ in WEEKLY_SERIES], as_=["series", "value"])
        .transform_calculate(series_label=_lookup_expression("series", labels))
        .mark_line(invalid="break-paths-filter-domains")
        .encode(
            y=alt.Y("value:Q", title=t("chart.interventions", language), axis=alt.Axis(format=",d")),
            color=alt.Color(
                "series_label:N",
                title=t("chart.series", language),
                scale=alt.Scale(domain=list(labels.values()), range=[colour for *_, colour, _ in WEEKLY_SERIES]),
            ),
            strokeDash=alt.StrokeDash(
                "series_label:N",
                title=t("chart.series", language),
                scale=alt.Scale(domain=list(labels.values()), range=[dash for *_, dash in WEEKLY_SERIES]),
            ),
            strokeWidth=alt.StrokeWidth(
                "series_label:N",
                title=t("chart.series", language),
                scale=alt.Scale(domain=list(labels.values()), range=[1.5, 3, 2]),
            ),
        )
    )
    hovered = alt.selection_point(nearest=True, on="pointerover", fields=["week_start"], empty=False)
    hover_rule = (
        base.mark_rule(color=GREY, strokeWidth=8)
        .encode(
            opacity=alt.OpacityValue(0, condition=[{"param": hovered.name, "empty": False, "value": 0.3}]),
            tooltip=[
                _week_tooltip(language),
                _date_tooltip("week_start", "chart.week_start", language),
                alt.Tooltip("interventions:Q", title=labels["interventions"], format=",d"),
                alt.Tooltip("rolling_average:Q", title=labels["rolling_average"], format=",.1f"),
                alt.Tooltip("last_year:Q", title=labels["last_year"], format=",d"),
                *([alt.Tooltip("expected:Q", title=t("chart.expected", language), format=",.1f"),
                   alt.Tooltip("upper:Q", title=t("chart.upper", language), format=",d")] if ranged else []),
            ],
        )
        .add_params(hovered)
    )
    if not ranged:
        return _finished(alt.layer(lines, hover_rule), language)
    band = base.mark_area(color=ORANGE, opacity=0.18).encode(
        y=alt.Y("expected:Q"), y2=alt.Y2("upper:Q"))
    return _finished(alt.layer(band, lines, hover_rule), language)


def heatmap_chart(frame: pd.DataFrame, language: str) -> alt.Chart:
    """Interventions per municipality and week, municipalities with the most interventions first."""
    data = _with_iso_days(frame, "week_start")
    data["week_end"] = _iso_days(pd.to_datetime(data["week_start"]) + pd.Timedelta(days=7))
    x = alt.X("week_start:T", title=t("chart.week", language), scale=alt.Scale(type="utc"),
              axis=_time_axis(language, data["week_start"]))
    when = [_week_tooltip(language), _date_tooltip("week_start", "chart.week_start", language)]
    return _municipality_heat(data, x, "week_end:T", when, language)


def monthly_heatmap_chart(frame: pd.DataFrame, language: str) -> alt.Chart:
    """Interventions per municipality and month (or quarter, on long periods), busiest municipalities first."""
    data = _with_iso_days(frame, "start")
    quarterly = bool(len(data)) and data["unit"].iloc[0] == "quarter"
    data["end"] = _iso_days(pd.to_datetime(data["start"]) + pd.DateOffset(months=3 if quarterly else 1))
    unit = "chart.quarter" if quarterly else "chart.month"
    x = alt.X("start:T", title=t(unit, language), scale=alt.Scale(type="utc"),
              axis=alt.Axis(format=t("chart.format.month", language), formatType="utc", labelAngle=0,
                            labelOverlap=True))
    when = [_date_tooltip("start", f"{unit}_start", language, "chart.format.month")]
    return _municipality_heat(data, x, "end:T", when, language)


def _municipality_heat(data: pd.DataFrame, x: alt.X, x2: str, when: list[alt.Tooltip], language: str) -> alt.Chart:
    """The heat map's cells: one row per municipality, busiest first, coloured by interventions."""
    data["municipality"] = distinct_names(data)
    if "unusual" in data.columns:
        data["unusual_text"] = [t("yes" if flag else "no", language) for flag in data["unusual"]]
    busiest = max(data["interventions"].max(), 1) if len(data) else 1
    # Unusual weeks (a column only the weekly map has) are outlined: the outline, not a colour, carries it.
    marked = "unusual" in data.columns
    outline = {"stroke": alt.StrokeValue("white", condition={"test": "datum.unusual", "value": VERMILLION}),
               "strokeWidth": alt.StrokeWidthValue(0.5, condition={"test": "datum.unusual", "value": 2.5})
               } if marked else {}
    chart = (
        alt.Chart(data)
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            **outline,
            x=x,
            x2=x2,
            y=alt.Y(
                "municipality:N",
                title=None,
                sort=alt.EncodingSortField(field="interventions", op="sum", order="descending"),
                axis=alt.Axis(labelLimit=160, labelOverlap=False),
            ),
            color=alt.Color(
                "interventions:Q",
                title=t("chart.interventions", language),
                scale=alt.Scale(scheme=VOLUME_SCHEME, domain=[0, busiest]),
                legend=alt.Legend(format=",d", direction="horizontal"),
            ),
            tooltip=[
                alt.Tooltip("name:N", title=t("chart.municipality", language)),
                *when,
                alt.Tooltip("interventions:Q", title=t("chart.interventions", language), format=",d"),
                *([alt.Tooltip("unusual_text:N", title=t("overview.unusual", language))] if marked else []),
            ],
        )
        .properties(height=alt.Step(20))
    )
    return _finished(chart, language)


def municipality_map(frame: pd.DataFrame, language: str, measure: str) -> pdk.Deck:
    """Municipalities coloured (and raised, without boundaries) by count or rate per 1,000, with a tooltip."""
    values = _map_measure(frame, measure)
    top = values.max() if values.notna().any() else 0.0
    colours = [_ramp_colour(value, top) for value in values]
    # The tooltip is HTML: a name from an imported file must not become markup in the viewer's browser.
    properties = [
        {
            "name": html.escape(str(row.name)),
            "count_label": number(row.interventions, language),
            "rate_label": _optional_number(row.rate_per_1000, language, digits=1),
            "population_label": _optional_number(row.population, language),
            "fill_color": colour,
        }
        for row, colour in zip(frame.itertuples(index=False), colours)
    ]
    if "geometry" in frame.columns:
        view = _fitted_view(frame, pitch=0)
        layer = _boundary_layer(frame, properties)
    else:
        view = _fitted_view(frame, pitch=COLUMN_PITCH)
        layer = _column_layer(frame, properties, values, top, view.zoom)
    return pdk.Deck(
        layers=[layer],
        initial_view_state=view,
        # No basemap: police networks often have no internet, and with a provider (or map_style=None, which
        # Streamlit reads as "its theme's basemap") the browser would fetch tiles from a CDN. Boundaries suffice.
        map_provider=None,
        tooltip={"html": _map_tooltip_html(language), "style": {"fontSize": "13px"}},
    )


def funnel_chart(frame: pd.DataFrame, language: str) -> alt.LayerChart:
    """Arrests → attempted → reached → accepted, and the reached who did not accept, with counts and shares."""
    data = frame.loc[:, ["stage", "members"]].copy()
    arrests = data.loc[data["stage"] == "arrests", "members"].sum()
    data["stage_label"] = data["stage"].map(lambda stage: t(f"chart.stage.{stage}", language))
    data["section"] = data["stage"].map(
        lambda stage: t("chart.funnel.breakdown" if stage in FUNNEL_BREAKDOWN else "chart.funnel.path", language)
    )
    data["label"] = [
        _count_and_share(members, members / arrests if arrests else None, language) for members in data["members"]
    ]
    data["label_at"] = data["members"]
    chart = _labelled_bars(
        data,
        category="stage_label",
        order=[t(f"chart.stage.{stage}", language) for stage in FUNNEL_STAGES],
        value="members",
        value_title=t("chart.members", language),
        colour=alt.Color(
            "section:N",
            title=t("chart.funnel.section", language),
            scale=alt.Scale(
                domain=[t("chart.funnel.path", language), t("chart.funnel.breakdown", language)], range=[BLUE, ORANGE]
            ),
        ),
        tooltip=[
            alt.Tooltip("stage_label:N", title=t("chart.stage", language)),
            alt.Tooltip("label:N", title=t("chart.members_and_share", language)),
        ],
        room=data["members"].max() if len(data) else 0,
    )
    return _finished(chart, language)


def delay_chart(
    frame: pd.DataFrame,
    language: str,
    target_hours: float,
    median_hours: float | None,
    p90_hours: float | None,
) -> alt.LayerChart:
    """How long arrested men waited for a first attempt, per bucket, against the target line."""
    data = frame.loc[:, ["bucket", "lower_hours", "upper_hours", "members"]].copy()
    total = data["members"].sum()
    data["bucket_label"] = data["bucket"].map(lambda bucket: t(f"chart.bucket.{bucket}", language))
    data["timing"] = [
        t(f"chart.timing.{timing_of(row.bucket, row.upper_hours, target_hours)}", language)
        for row in data.itertuples(index=False)
    ]
    data["label"] = [
        _count_and_share(members, members / total if total else None, language) for members in data["members"]
    ]
    data["label_at"] = data["members"]
    buckets = list(data["bucket_label"])
    place = _bucket_position(target_hours, data["bucket"], data["lower_hours"], data["upper_hours"])
    target = _target_layers(target_hours, buckets, language, place, "bucket_label") if place else ()
    chart = _labelled_bars(
        data,
        category="bucket_label",
        order=buckets,
        value="members",
        value_title=t("chart.members", language),
        colour=alt.Color(
            "timing:N",
            title=t("chart.timing", language),
            scale=alt.Scale(
                domain=[t(f"chart.timing.{timing}", language) for timing in TIMING_COLOURS],
                range=list(TIMING_COLOURS.values()),
            ),
        ),
        tooltip=[
            alt.Tooltip("bucket_label:N", title=t("chart.delay", language)),
            alt.Tooltip("label:N", title=t("chart.members_and_share_of_cohort", language)),
        ],
        room=data["members"].max() if len(data) else 0,
        extra_layers=target,
    )
    summary = " · ".join(
        t(key, language, value=hours_text(hours, language))
        for key, hours in (("chart.median", median_hours), ("chart.p90", p90_hours))
        if hours is not None
    )
    if summary:
        chart = chart.properties(title=alt.TitleParams(summary, anchor="start", fontSize=13, fontWeight="normal"))
    return _finished(chart, language)


def within_24h_trend_chart(frame: pd.DataFrame, language: str, target_share: float) -> alt.LayerChart:
    """The weekly share of arrested men attempted within 24 h, with the target as a horizontal rule."""
    data = _with_iso_days(frame, "week_start")
    share = alt.Y("share_24h:Q", title=t("chart.share_24h", language), scale=alt.Scale(domain=[0, 1]),
                  axis=alt.Axis(format=".0%"))
    line = (
        alt.Chart(data)
        .mark_line(point=True, color=BLUE, invalid="break-paths-filter-domains")
        .encode(
            x=alt.X("week_start:T", title=t("chart.week", language), scale=alt.Scale(type="utc"),
                    axis=_time_axis(language, data["week_start"])),
            y=share,
            tooltip=[
                _week_tooltip(language),
                _date_tooltip("week_start", "chart.week_start", language),
                alt.Tooltip("share_24h:Q", title=t("chart.share_24h", language), format=".0%"),
                alt.Tooltip("within_24h:Q", title=t("chart.within_24h", language), format=",d"),
                alt.Tooltip("cohort:Q", title=t("chart.cohort", language), format=",d"),
            ],
        )
    )
    target_label = t("chart.target", language, value=percent(target_share, language))
    target = pd.DataFrame({"target_share": [target_share], "target_label": [target_label]})
    rule = (
        alt.Chart(target)
        .mark_rule(color=TARGET_COLOUR, strokeWidth=2, strokeDash=[6, 3])
        .encode(y=alt.Y("target_share:Q", scale=alt.Scale(domain=[0, 1])), tooltip=alt.Tooltip("target_label:N"))
    )
    # Labelled in the title, in the rule's colour: a label beside the rule would sit on some week's point.
    title = alt.TitleParams(target_label, anchor="start", color=TARGET_TEXT_COLOUR, fontSize=13)
    return _finished(alt.layer(line, rule).properties(title=title), language)


def outcomes_chart(frame: pd.DataFrame, language: str) -> alt.Chart:
    """Cohort members per month by outcome, stacked in a fixed order."""
    return _monthly_stacked_chart(frame, language, "outcome", OUTCOME_COLOURS, "members", "chart.members")


def referrals_chart(frame: pd.DataFrame, language: str) -> alt.Chart:
    """Referrals made per month by kind of service, stacked in a fixed order."""
    return _monthly_stacked_chart(frame, language, "referral", REFERRAL_COLOURS, "attempts", "chart.attempts")


def repeat_chart(frame: pd.DataFrame, language: str) -> alt.LayerChart:
    """Share of each group with a repeat intervention within 12 months, counts beside and in the tooltip."""
    data = frame.loc[:, ["group", "members", "repeated", "share"]].copy()
    data["group_label"] = data["group"].map(lambda group: t(f"chart.group.{group}", language))
    data["label"] = [
        t("metrics.none", language)
        if pd.isna(row.share)
        else t("chart.share_of", language, share=percent(row.share, language),
               repeated=number(row.repeated, language), members=number(row.members, language))
        for row in data.itertuples(index=False)
    ]
    data["label_at"] = data["share"].fillna(0.0)
    groups = [t(f"chart.group.{group}", language) for group in REPEAT_GROUP_COLOURS]
    chart = _labelled_bars(
        data,
        category="group_label",
        order=groups,
        value="share",
        value_title=t("chart.repeat_share", language),
        colour=alt.Color("group_label:N", legend=None,
                         scale=alt.Scale(domain=groups, range=list(REPEAT_GROUP_COLOURS.values()))),
        tooltip=[
            alt.Tooltip("group_label:N", title=t("chart.group", language)),
            alt.Tooltip("members:Q", title=t("chart.members", language), format=",d"),
            alt.Tooltip("repeated:Q", title=t("chart.repeated", language), format=",d"),
            alt.Tooltip("share:Q", title=t("chart.repeat_share", language), format=".0%"),
        ],
        room=max(data["share"].max(), 1 / BAR_LABEL_ROOM) if data["share"].notna().any() else 1 / BAR_LABEL_ROOM,
    )
    return _finished(chart, language)


# Shared pieces


# The funder report: built from suppressed frames, where a hidden count is an empty value with a marker.

MARKER_COLOUR = "#595959"  # dark enough to read on white (contrast 7:1)


def report_weekly_chart(frame: pd.DataFrame, language: str, threshold: int) -> alt.LayerChart:
    """Interventions per week as columns; a hidden week shows its marker instead of a column."""
    data = _with_iso_days(frame[["week", "week_start", "interventions", "interventions_hidden"]], "week_start")
    data["interventions"] = data["interventions"].astype(object).where(data["interventions"].notna(), None)
    data["shown"] = [marker(hidden, threshold, language) or number(value, language)
                     for value, hidden in zip(data["interventions"], data["interventions_hidden"])]
    data["marker"] = [marker(hidden, threshold, language) for hidden in data["interventions_hidden"]]
    data = data.drop(columns=["interventions_hidden"])
    # Each column spans its week, Monday to Saturday, so columns never overlap and a day of gap parts them.
    monday = pd.to_datetime(frame["week_start"])
    data["week_end"] = _iso_days(monday + pd.Timedelta(days=6))
    data["week_middle"] = _iso_days(monday + pd.Timedelta(days=3))
    x = alt.X("week_start:T", title=t("chart.week", language), scale=alt.Scale(type="utc", padding=12),
              axis=_time_axis(language, data["week_start"]))
    tooltip = [_week_tooltip(language), _date_tooltip("week_start", "chart.week_start", language),
               alt.Tooltip("shown:N", title=t("chart.interventions", language))]
    bars = alt.Chart(data).mark_bar(color=SKY, orient="vertical").encode(
        x=x, x2=alt.X2("week_end:T"), tooltip=tooltip,
        # Rounded to the axis' own ticks, so the tallest column never touches the top.
        y=alt.Y("interventions:Q", title=t("chart.interventions", language), axis=alt.Axis(format=",d", tickCount=6),
                scale=alt.Scale(nice=6)),
    )
    markers = alt.Chart(data).transform_filter("datum.marker != ''").mark_text(
        baseline="bottom", dy=-2, fontSize=11, color=MARKER_COLOUR
    ).encode(x=alt.X("week_middle:T"), y=alt.YValue("height"), text=alt.Text("marker:N"), tooltip=tooltip)
    return _finished(alt.layer(bars, markers).properties(height=260), language)


def report_bars_chart(frame: pd.DataFrame, language: str, threshold: int, label_prefix: str, kind: str,
                      cohort: float | None, target_hours: float | None = None) -> alt.LayerChart:
    """Labelled horizontal bars of suppressed counts (key, value, hidden), with their share of the cohort when shown."""
    data = frame[["key", "value", "hidden"]].copy()
    values = [None if pd.isna(value) else int(value) for value in data["value"]]
    total = cohort
    # A share is a rate: shown only when the cohort is shown and not small.
    shares = total is not None and total >= threshold
    data["value"] = pd.Series(values, dtype=object)
    data["category_label"] = [t(f"{label_prefix}.{key}", language) for key in data["key"]]
    data["label"] = [
        marker(hidden, threshold, language) if hidden else
        _count_and_share(value, value / total if shares else None, language)
        for value, hidden in zip(values, data["hidden"])
    ]
    data["label_at"] = [value or 0 for value in values]
    order = [t(f"{label_prefix}.{key}", language) for key in data["key"]]
    if kind == "funnel":
        sections = {t("chart.funnel.path", language): BLUE, t("chart.funnel.breakdown", language): ORANGE}
        data["colour"] = [t("chart.funnel.breakdown" if key in FUNNEL_BREAKDOWN else "chart.funnel.path", language)
                          for key in data["key"]]
        title = t("chart.funnel.section", language)
    elif kind == "delays":
        sections = {t(f"chart.timing.{timing}", language): colour for timing, colour in TIMING_COLOURS.items()}
        data["colour"] = [t(f"chart.timing.{timing_of(key, upper, target_hours or 24.0)}", language)
                          for key, upper in zip(frame["key"], frame["upper_hours"])]
        title = t("chart.timing", language)
    else:
        sections = {t(f"chart.outcome.{key}", language): colour for key, colour in OUTCOME_COLOURS.items()}
        data["colour"] = data["category_label"]
        title = t("chart.outcome", language)
    place = (_bucket_position(target_hours, frame["key"], frame["lower_hours"], frame["upper_hours"])
             if kind == "delays" and target_hours else None)
    extra = _target_layers(target_hours, order, language, place, "category_label") if place else ()
    data = data.drop(columns=["hidden"])
    chart = _labelled_bars(
        data,
        category="category_label",
        order=order,
        value="value",
        value_title=None,  # the labels beside the bars say what is counted
        colour=alt.Color("colour:N", title=title, scale=alt.Scale(domain=list(sections), range=list(sections.values())),
                         legend=None if kind == "outcomes" else alt.Legend()),
        tooltip=[alt.Tooltip("category_label:N", title=title),
                 alt.Tooltip("label:N", title=t("chart.members", language))],
        room=max([value for value in values if value is not None], default=0),
        extra_layers=extra,
    )
    return _finished(chart, language)


def _target_layers(target_hours: float, order: list[str], language: str, place: tuple[str, float],
                   category: str) -> tuple[alt.Chart, alt.Chart]:
    """The target rule across the delay bars, at its place (bucket, position within it), with its label."""
    target_bucket, position = place
    target = pd.DataFrame({
        category: [t(f"chart.bucket.{target_bucket}", language)],
        "target_hours": [target_hours],
        "target_label": [t("chart.target", language, value=hours_text(target_hours, language))],
    })
    target_y = alt.Y(f"{category}:N", sort=order, scale=_band_scale(order), bandPosition=position)
    rule = alt.Chart(target).mark_rule(color=TARGET_COLOUR, strokeWidth=2).encode(y=target_y)
    label = (alt.Chart(target)
             .mark_text(align="right", baseline="bottom", dy=-2, color=TARGET_TEXT_COLOUR, fontWeight="bold",
                        fontSize=13)
             .encode(y=target_y, x=alt.XValue("width"), text=alt.Text("target_label:N")))
    return rule, label


MAP_PANELS = 4
MAP_WIDTH = 330  # fits a phone's screen
MAP_HEIGHT = 300


def report_map_charts(frame: pd.DataFrame, language: str, threshold: int,
                      shapes: dict[str, dict] | None = None) -> list[tuple[str, alt.LayerChart]]:
    """Municipalities coloured by rate per 1,000 (boundaries when imported, else circles sized by interventions).

    One map per police service, each fitted to its own territory, the busiest services first, on shared scales.
    """
    data = frame[["code", "name", "police_service", "population", "latitude", "longitude", "interventions",
                  "interventions_hidden", "rate_per_1000"]].copy()
    data["name"] = distinct_names(data)
    data["interventions_text"] = [marker(hidden, threshold, language) or number(value, language)
                                  for value, hidden in zip(data["interventions"], data["interventions_hidden"])]
    # A rate on a hidden count is itself hidden ("x"): it is not below 5.
    data["rate_text"] = [marker("masked", threshold, language) if hidden else
                         (t("metrics.none", language) if pd.isna(rate) else number(rate, language, 2))
                         for rate, hidden in zip(data["rate_per_1000"], data["interventions_hidden"])]
    data["interventions"] = pd.Series([None if pd.isna(value) else int(value) for value in data["interventions"]],
                                      dtype=object, index=data.index)
    data["rate_per_1000"] = pd.Series([None if pd.isna(rate) else round(float(rate), 3)
                                       for rate in data["rate_per_1000"]], dtype=object, index=data.index)
    data["population"] = data["population"].astype(int)
    data = data.drop(columns=["interventions_hidden"])
    top_rate = max([rate for rate in data["rate_per_1000"] if rate is not None], default=1.0) or 1.0
    top_count = max([value for value in data["interventions"] if value is not None], default=1) or 1
    busiest = (data.assign(known=[value or 0 for value in data["interventions"]])
               .groupby("police_service")["known"].sum().sort_values(ascending=False, kind="stable"))
    # A fixed width: a projection fitted to a container's width is fitted before the width is known.
    return [(service, _finished(_map_panel(data[data["police_service"] == service], language, shapes, top_rate,
                                           top_count).properties(autosize={"type": "pad"}), language, fill=False))
            for service in busiest.index[:MAP_PANELS]]


def _map_panel(data: pd.DataFrame, language: str, shapes: dict[str, dict] | None, top_rate: float,
               top_count: int) -> alt.LayerChart:
    """One territory's municipalities, on a projection fitted to them."""
    # Scale and centre computed here: a projection "fit" is worked out before the chart's width is known in
    # the browser, and came out as a single point.
    longitudes = [lon for lon in data["longitude"] if not pd.isna(lon)] or [-71.2]
    latitudes = [lat for lat in data["latitude"] if not pd.isna(lat)] or [46.8]
    margin = max(max(longitudes) - min(longitudes), max(latitudes) - min(latitudes), 0.2) * 0.12
    west, east = min(longitudes) - margin, max(longitudes) + margin
    south, north = min(latitudes) - margin, max(latitudes) + margin
    if shapes:
        for code in data["code"]:
            for lon, lat in _positions(shapes[code].get("coordinates", [])) if code in shapes else ():
                west, east, south, north = min(west, lon), max(east, lon), min(south, lat), max(north, lat)
    projection = _mercator_fitted(west, east, south, north, MAP_WIDTH, MAP_HEIGHT)
    rate_title, count_title = label("rate_per_1000", language), t("chart.interventions", language)
    colour_scale = alt.Scale(scheme=VOLUME_SCHEME, domain=[0, top_rate])
    texts = (("name", t("table.name", language)), ("interventions_text", count_title), ("rate_text", rate_title))
    layers = []
    with_shapes = [code for code in data["code"] if shapes and code in shapes]
    if with_shapes:
        rows = data.set_index("code")
        features = [{"type": "Feature", "geometry": shapes[code],
                     "properties": {key: rows.at[code, key] for key in ("name", "interventions_text", "rate_text",
                                                                        "rate_per_1000")}}
                    for code in with_shapes]
        tooltip = [alt.Tooltip(f"properties.{field}:N", title=text) for field, text in texts]
        rated = [feature for feature in features if feature["properties"]["rate_per_1000"] is not None]
        unrated = [feature for feature in features if feature["properties"]["rate_per_1000"] is None]
        # Two layers rather than a colour condition: Vega-Lite drops the null rates before the condition sees them.
        # An empty layer is left out, here and below: drawn, it would be a graphic without a name for a screen reader.
        if rated:
            layers.append(alt.Chart(alt.Data(values=rated)).mark_geoshape(stroke="white", strokeWidth=0.8)
                          .encode(color=alt.Color("properties.rate_per_1000:Q", title=rate_title, scale=colour_scale,
                                                  legend=alt.Legend(format=",.1f")), tooltip=tooltip)
                          .project(**projection))
        if unrated:
            layers.append(alt.Chart(alt.Data(values=unrated))
                          .mark_geoshape(stroke="white", strokeWidth=0.8, fill=LIGHT_GREY)
                          .encode(tooltip=tooltip).project(**projection))
    centroids = data[~data["code"].isin(with_shapes)]
    shown, hidden = centroids[centroids["interventions"].notna()], centroids[centroids["interventions"].isna()]

    def located(frame: pd.DataFrame) -> alt.Chart:
        return alt.Chart(frame).encode(longitude=alt.Longitude("longitude:Q"), latitude=alt.Latitude("latitude:Q"),
                                       tooltip=[alt.Tooltip(f"{field}:N", title=text) for field, text in texts])

    # Circles only where a municipality has no boundary: sized by count, so their legend only with them.
    if not shown.empty:
        layers.append(
            located(shown).mark_circle(opacity=0.9, stroke=DARK_BLUE, strokeWidth=0.6)
            .encode(color=alt.Color("rate_per_1000:Q", title=rate_title, scale=colour_scale,
                                    legend=alt.Legend(format=",.1f")),
                    size=alt.Size("interventions:Q", title=count_title,
                                  scale=alt.Scale(domain=[0, top_count], range=[30, 900]),
                                  legend=alt.Legend(format=",d", symbolFillColor=SKY, symbolStrokeColor=DARK_BLUE)))
            .project(**projection))
    if not hidden.empty:
        layers.append(located(hidden).mark_circle(size=60, color=LIGHT_GREY, stroke=GREY, strokeWidth=0.8, opacity=1)
                      .project(**projection))
    # A hidden count is written on the map ("< 5", "x"): its grey alone would leave it to colour.
    markers = data[data["interventions"].isna()]
    if not markers.empty:
        layers.append(alt.Chart(markers).mark_text(baseline="bottom", dy=-5, fontSize=10, color=MARKER_COLOUR)
                      .encode(longitude=alt.Longitude("longitude:Q"), latitude=alt.Latitude("latitude:Q"),
                              text=alt.Text("interventions_text:N"))
                      .project(**projection))
    named = data.dropna(subset=["interventions"]).sort_values("interventions", ascending=False).head(2)
    if not named.empty:
        layers.append(alt.Chart(named).mark_text(align="left", dx=12, fontSize=11, color="#333333", fontWeight="bold")
                      .encode(longitude=alt.Longitude("longitude:Q"), latitude=alt.Latitude("latitude:Q"),
                              text=alt.Text("name:N")).project(**projection))
    return alt.layer(*layers).properties(width=MAP_WIDTH, height=MAP_HEIGHT)


def _mercator_fitted(west: float, east: float, south: float, north: float, width: int, height: int) -> dict:
    """A Mercator projection's scale and centre showing a longitude/latitude box in width × height pixels."""
    def y(latitude: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2))

    spread_x = max(math.radians(east - west), 1e-6)
    spread_y = max(y(north) - y(south), 1e-6)
    return {"type": "mercator", "scale": min(width / spread_x, height / spread_y), "translate": [width / 2, height / 2],
            "center": [(west + east) / 2,
                       math.degrees(2 * math.atan(math.exp((y(north) + y(south)) / 2)) - math.pi / 2)]}


def _finished(chart: alt.TopLevelMixin, language: str, fill: bool = True) -> alt.TopLevelMixin:
    """A chart that fills its container, formats in the language and keeps its legend below, for phones."""
    return (
        (chart.properties(width="container") if fill else chart)
        .configure(locale=vega_locale(language))
        # One entry per line: a row of entries would run off a phone's screen.
        .configure_legend(orient="bottom", direction="vertical", labelLimit=280, gradientLength=160,
                          labelColor=CHART_TEXT_COLOUR, titleColor=CHART_TEXT_COLOUR)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelColor=CHART_TEXT_COLOUR, titleColor=CHART_TEXT_COLOUR)
        .configure_view(stroke=None)
    )


def _time_axis(language: str, days: pd.Series, monthly: bool = False) -> alt.Axis:
    """An axis for a utc time scale in the language, ticking the data's own weeks or months when they are few."""
    distinct = sorted(set(days))
    if len(distinct) <= EXPLICIT_TICKS_UP_TO:
        # A month's tick goes mid-month, under the middle of its bar.
        ticks = [
            alt.DateTime(year=int(day[:4]), month=int(day[5:7]), date=15 if monthly else int(day[8:10]), utc=True)
            for day in distinct
        ]
        label_format = t("chart.format.month_short" if monthly else "chart.format.day", language)
        return alt.Axis(format=label_format, values=ticks, labelOverlap=True, labelFlush=False)
    months = (pd.Timestamp(distinct[-1]) - pd.Timestamp(distinct[0])).days / 30
    step = 1 if months <= 18 else 3 if months <= 48 else 12
    # Month ticks read "juin", and January's reads the year.
    return alt.Axis(
        format={"year": "%Y", "quarter": "%b", "month": "%b"},
        tickCount={"interval": "month", "step": step},
        labelOverlap=True,
    )


def _week_tooltip(language: str) -> alt.Tooltip:
    """The ISO week label, e.g. 2026-W47."""
    return alt.Tooltip("week:N", title=t("chart.iso_week", language))


def _date_tooltip(field: str, title_key: str, language: str, format_key: str = "chart.format.date") -> alt.Tooltip:
    """A utc date in the language's format."""
    return alt.Tooltip(f"{field}:T", title=t(title_key, language), format=t(format_key, language), formatType="utc")


def _lookup_expression(field: str, labels: dict[str, str]) -> str:
    """A Vega expression mapping a field's keys to their labels."""
    pairs = ", ".join(f"{_quoted(key)}: {_quoted(label)}" for key, label in labels.items())
    return f"{{{pairs}}}[datum[{_quoted(field)}]]"


def _quoted(text: str) -> str:
    """A string literal for a Vega expression."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _iso_days(values: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD text, which Vega reads as utc midnight whatever the browser's time zone."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").astype(object)


def _with_iso_days(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """A copy of a frame with one date column as ISO day text."""
    data = frame.copy()
    data[column] = _iso_days(data[column]) if len(data) else pd.Series([], dtype=object)
    return data


def distinct_names(frame: pd.DataFrame) -> pd.Series:
    """Municipality names, with the code added where two municipalities share a name."""
    codes_per_name = frame.groupby("name")["code"].transform("nunique") if len(frame) else frame["name"]
    return frame["name"].where(codes_per_name <= 1, frame["name"] + " (" + frame["code"].astype(str) + ")")


def _labelled_bars(
    data: pd.DataFrame,
    category: str,
    order: list[str],
    value: str,
    value_title: str,
    colour: alt.Color,
    tooltip: list[alt.Tooltip],
    room: float,
    extra_layers: Sequence[alt.Chart] = (),
) -> alt.LayerChart:
    """Horizontal bars up to `room`, each with its category above and its `label` at `label_at` beside it."""
    # Category names above the bars instead of on an axis leave a phone's whole width to the bars.
    x_scale = alt.Scale(domain=[0, (room or 1) * BAR_LABEL_ROOM], nice=False)
    base = alt.Chart(data).encode(
        y=alt.Y(f"{category}:N", sort=order, scale=_band_scale(order), axis=None), tooltip=tooltip
    )
    bars = base.mark_bar(height={"band": 0.36}).encode(
        x=alt.X(f"{value}:Q", title=value_title, scale=x_scale,
                axis=alt.Axis(labels=False, ticks=False, grid=False, domain=False)),
        color=colour,
    )
    names = base.mark_text(align="left", baseline="bottom", dy=-12, fontSize=13).encode(
        x=alt.XValue(0), text=alt.Text(f"{category}:N")
    )
    labels = base.mark_text(align="left", baseline="middle", dx=4, fontSize=13).encode(
        x=alt.X("label_at:Q", scale=x_scale), text=alt.Text("label:N")
    )
    return alt.layer(bars, names, labels, *extra_layers).properties(height=alt.Step(56))


def _band_scale(categories: list[str]) -> alt.Scale:
    """A band scale holding every category, present in the data or not, in order, bands touching."""
    # No inner padding: a band's start is then the boundary between two categories, where a target rule goes.
    return alt.Scale(domain=categories, paddingInner=0, paddingOuter=0.1)


def _monthly_stacked_chart(
    frame: pd.DataFrame,
    language: str,
    category: str,
    colours: dict[str, str],
    value: str,
    value_key: str,
) -> alt.Chart:
    """Monthly bars stacked by category, in the catalogue's order and colours."""
    data = _with_iso_days(frame, "month_start")
    data["category_label"] = data[category].map(lambda key: t(f"chart.{category}.{key}", language))
    data["stack_order"] = data[category].map({key: rank for rank, key in enumerate(colours)})
    labels = [t(f"chart.{category}.{key}", language) for key in colours]
    chart = (
        alt.Chart(data)
        .mark_bar(width={"band": 0.85})
        .encode(
            x=alt.X("utcyearmonth(month_start):T", title=t("chart.month", language),
                    axis=_time_axis(language, data["month_start"], monthly=True)),
            y=alt.Y(f"sum({value}):Q", title=t(value_key, language), axis=alt.Axis(format=",d")),
            color=alt.Color(
                "category_label:N",
                title=t(f"chart.{category}", language),
                scale=alt.Scale(domain=labels, range=list(colours.values())),
            ),
            order=alt.Order("stack_order:Q", sort="ascending"),
            tooltip=[
                _date_tooltip("month_start", "chart.month", language, format_key="chart.format.month"),
                alt.Tooltip("category_label:N", title=t(f"chart.{category}", language)),
                alt.Tooltip(f"{value}:Q", title=t(value_key, language), format=",d"),
            ],
        )
    )
    return _finished(chart, language)


def hours_text(hours: float, language: str) -> str:
    """A duration in hours, e.g. 18,5 h."""
    return t("metrics.hours", language, value=number(hours, language, digits=0 if float(hours).is_integer() else 1))


def timing_of(bucket: str, upper_hours: float | None, target_hours: float) -> str:
    """Whether a delay bucket lies within the target, after it, or is the never-attempted bucket."""
    if bucket == NEVER:
        return "never"
    within = upper_hours is not None and not pd.isna(upper_hours) and upper_hours <= target_hours
    return "on_time" if within else "late"


def _bucket_position(hours: float, buckets: Iterable[str], lowers: Iterable[float | None],
                     uppers: Iterable[float | None]) -> tuple[str, float] | None:
    """The delay bucket holding a number of hours and where in it (0 = its start, 1 = its end); None without one."""
    for bucket, lower, upper in zip(buckets, lowers, uppers):
        if lower is None or pd.isna(lower):
            continue  # members never attempted: no place on the hours scale
        if upper is None or pd.isna(upper):
            return bucket, 0.0
        if hours < upper:
            return bucket, max(hours - lower, 0.0) / (upper - lower)
    return None


def _count_and_share(count: float, share: float | None, language: str) -> str:
    """A count with its share, e.g. 412 (62 %)."""
    if share is None:
        return number(count, language)
    return t("chart.count_and_share", language, count=number(count, language), share=percent(share, language))


def _optional_number(value: float | None, language: str, digits: int = 0) -> str:
    """A number in the language, or a dash when missing."""
    return t("metrics.none", language) if value is None or pd.isna(value) else number(value, language, digits)


# Map pieces


def _map_measure(frame: pd.DataFrame, measure: str) -> pd.Series:
    """The column the map shows, as floats with NaN where unknown."""
    columns = {"count": "interventions", "rate": "rate_per_1000"}
    if measure not in columns:
        raise ValueError(f"measure must be 'count' or 'rate', not {measure!r}")
    return pd.to_numeric(frame[columns[measure]], errors="coerce").astype(float)


def _ramp_colour(value: float, top: float) -> list[int]:
    """An RGBA colour on the blue ramp, grey when the value is unknown."""
    if pd.isna(value):
        return list(MAP_NO_VALUE)
    position = (value / top if top > 0 else 0.0) * (len(MAP_RAMP) - 1)
    index = min(int(position), len(MAP_RAMP) - 2)
    fraction = position - index
    start, end = MAP_RAMP[index], MAP_RAMP[index + 1]
    return [round(a + (b - a) * fraction) for a, b in zip(start, end)] + [MAP_ALPHA]


def _column_layer(frame: pd.DataFrame, properties: list[dict], values: pd.Series, top: float, zoom: float) -> pdk.Layer:
    """Columns at the municipalities' centroids, as tall and as dark as the measure."""
    span_metres = 40_000_000 / 2**zoom  # about the width of a view at this zoom
    records = [
        {
            **row_properties,
            "position": [_json_number(longitude), _json_number(latitude)],
            "elevation": 0.0 if pd.isna(value) else float(value),
        }
        for row_properties, longitude, latitude, value in zip(
            properties, frame["longitude"], frame["latitude"], values
        )
    ]
    return pdk.Layer(
        "ColumnLayer",
        data=records,
        id="municipalities",
        get_position="position",
        get_elevation="elevation",
        elevation_scale=0.15 * span_metres / top if top > 0 else 1.0,
        radius=min(max(span_metres / 70, 300), 5_000),
        get_fill_color="fill_color",
        extruded=True,
        pickable=True,
        auto_highlight=True,
    )


def _boundary_layer(frame: pd.DataFrame, properties: list[dict]) -> pdk.Layer:
    """Municipal polygons filled by the measure; a municipality without one is drawn as a dot at its centroid."""
    features = [
        {
            "type": "Feature",
            "geometry": geometry
            if isinstance(geometry, dict)
            else {"type": "Point", "coordinates": [_json_number(longitude), _json_number(latitude)]},
            "properties": row_properties,
        }
        for row_properties, geometry, longitude, latitude in zip(
            properties, frame["geometry"], frame["longitude"], frame["latitude"]
        )
    ]
    return pdk.Layer(
        "GeoJsonLayer",
        data={"type": "FeatureCollection", "features": features},
        id="municipalities",
        get_fill_color="properties.fill_color",
        get_line_color=[255, 255, 255, 230],
        line_width_min_pixels=1,
        get_point_radius=1_500,
        point_radius_min_pixels=5,
        stroked=True,
        filled=True,
        pickable=True,
        auto_highlight=True,
    )


def _map_tooltip_html(language: str) -> str:
    """The map tooltip: name, count, rate per 1,000 and population, in the language."""
    lines = (
        ("chart.interventions", "{count_label}"),
        ("chart.rate_per_1000", "{rate_label}"),
        ("chart.population", "{population_label}"),
    )
    return "<b>{name}</b><br/>" + "<br/>".join(
        t("chart.pair", language, label=html.escape(t(key, language)), value=placeholder) for key, placeholder in lines
    )


def _fitted_view(frame: pd.DataFrame, pitch: float) -> pdk.ViewState:
    """A view centred on the municipalities (or their boundaries), zoomed to show them all, tilted by `pitch`."""
    points = [
        (longitude, latitude)
        for longitude, latitude in _all_coordinates(frame)
        if not (pd.isna(longitude) or pd.isna(latitude))
    ]
    if not points:
        return pdk.ViewState(**QUEBEC_VIEW, pitch=pitch)
    longitudes, latitudes = zip(*points)
    west, east, south, north = min(longitudes), max(longitudes), min(latitudes), max(latitudes)
    centre_latitude = (south + north) / 2
    width, height = VIEWPORT_PIXELS
    zooms = [MAX_ZOOM]
    if east > west:
        zooms.append(math.log2(width * 360 / (WORLD_PIXELS * (east - west) * FIT_MARGIN)))
    if north > south:
        mercator_span = (north - south) / math.cos(math.radians(centre_latitude))
        zooms.append(math.log2(height * 360 / (WORLD_PIXELS * mercator_span * FIT_MARGIN)))
    zoom = max(min(zooms), 3.0) - (PITCH_ZOOM_OUT if pitch else 0.0)
    return pdk.ViewState(latitude=centre_latitude, longitude=(west + east) / 2, zoom=round(zoom, 2), pitch=pitch)


def _all_coordinates(frame: pd.DataFrame) -> Iterator[tuple[float, float]]:
    """Every longitude/latitude pair: centroids, and the boundaries' vertices when there are boundaries."""
    yield from zip(frame["longitude"], frame["latitude"])
    if "geometry" in frame.columns:
        for geometry in frame["geometry"]:
            if isinstance(geometry, dict):
                yield from _positions(geometry.get("coordinates", []))


def _positions(coordinates: Sequence) -> Iterable[tuple[float, float]]:
    """The positions nested in a GeoJSON coordinates array."""
    if coordinates and isinstance(coordinates[0], (int, float)):
        return [(coordinates[0], coordinates[1])]
    return [position for part in coordinates for position in _positions(part)]


def _json_number(value: float | None) -> float | None:
    """A float for JSON, None instead of NaN."""
    return None if value is None or pd.isna(value) else float(value)


def served_spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec for a page, without schema validation."""
    # The builders' specs are validated by the tests (tests/test_charts.py); on a served page, validating a
    # province's maps and tables against the schema took longer than every query of the page.
    return chart.to_dict(validate=False)
