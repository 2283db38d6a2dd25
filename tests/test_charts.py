"""Chart builders, read through their Vega-Lite specs and the map's deck JSON."""

from __future__ import annotations

import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path

import altair as alt
import pandas as pd
import pydeck as pdk
import pytest

from dashboard.i18n import CATALOGUE, number, t
from dashboard.render import charts
from queries.reference import REFERENCE_DIR

BOUNDARIES = Path(__file__).resolve().parent / "fixtures" / "reference_boundaries.geojson"
LANGUAGES = ("fr", "en")
FIRST_MONDAY = date(2026, 5, 25)


# Sample frames, shaped like the query layer's, with realistic figures (about 13 interventions a week).


def weekly_frame(weeks: int = 26) -> pd.DataFrame:
    """Interventions per week with a 4-week rolling average and last year's same weeks."""
    rng = random.Random(42)
    counts = [rng.randint(8, 20) for _ in range(weeks)]
    starts = [FIRST_MONDAY + timedelta(weeks=index) for index in range(weeks)]
    return pd.DataFrame(
        {
            "week": [f"{start.isocalendar().year}-W{start.isocalendar().week:02d}" for start in starts],
            "week_start": starts,
            "interventions": counts,
            "rolling_average": pd.Series(counts).rolling(4, min_periods=1).mean().round(2),
            "last_year": [rng.randint(7, 18) for _ in range(weeks)],
        }
    )


def municipalities() -> list[dict]:
    """The 17 municipalities the RIPRSL serves, from the project's reference list."""
    with (REFERENCE_DIR / "municipalities.csv").open(encoding="utf-8") as file:
        return [place for place in csv.DictReader(file) if place["police_service"] == "RIPRSL"]


def heatmap_frame(weeks: int = 12) -> pd.DataFrame:
    """Interventions per municipality and week, roughly in proportion to population."""
    rng = random.Random(7)
    rows = []
    for place in municipalities():
        for index in range(weeks):
            start = FIRST_MONDAY + timedelta(weeks=index)
            expected = int(place["population_2021"]) / 18_000
            rows.append(
                {
                    "code": place["code"],
                    "name": place["name"],
                    "week": f"{start.isocalendar().year}-W{start.isocalendar().week:02d}",
                    "week_start": start,
                    "interventions": max(0, round(rng.gauss(expected, 1 + expected / 2))),
                }
            )
    return pd.DataFrame(rows)


def monthly_heatmap_frame(months: int = 18, unit: str = "month") -> pd.DataFrame:
    """Interventions per municipality and month (or quarter), as queries.trends.municipality_months returns them."""
    rng = random.Random(11)
    step = 3 if unit == "quarter" else 1
    starts = [date(2024 + (index * step) // 12, (index * step) % 12 + 1, 1) for index in range(months)]
    return pd.DataFrame([
        {"code": place["code"], "name": place["name"], "unit": unit, "start": start,
         "interventions": max(0, round(rng.gauss(int(place["population_2021"]) / 4_000, 2)))}
        for place in municipalities() for start in starts
    ])


def map_frame(with_geometry: bool = False) -> pd.DataFrame:
    """Interventions and rate per 1,000 per municipality; one population unknown, so one rate is NaN."""
    rng = random.Random(3)
    rows = []
    for place in municipalities():
        population = int(place["population_2021"])
        count = round(population / 1_000 * rng.uniform(2, 6))
        rows.append(
            {
                "code": place["code"],
                "name": place["name"],
                "population": population,
                "latitude": float(place["lat"]),
                "longitude": float(place["lon"]),
                "interventions": count,
                "rate_per_1000": count / population * 1_000,
            }
        )
    frame = pd.DataFrame(rows)
    frame.loc[1, ["population", "rate_per_1000"]] = [float("nan"), float("nan")]
    if with_geometry:
        features = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]
        boundaries = {feature["properties"]["code"]: feature["geometry"] for feature in features}
        frame["geometry"] = [boundaries.get(code) for code in frame["code"]]
    return frame


def funnel_frame() -> pd.DataFrame:
    """A quarter's cohort: 240 arrests, 171 reached, 99 accepted."""
    return pd.DataFrame(
        {
            "stage": ["arrests", "attempted", "reached", "accepted", "declined", "already_in_help"],
            "members": [240, 226, 171, 99, 36, 36],
        }
    )


def delay_frame() -> pd.DataFrame:
    """Time from arrest to first attempt, per bucket."""
    return pd.DataFrame(
        {
            "bucket": ["0-6", "6-12", "12-24", "24-48", "48-72", "72-168", "168+", "never"],
            "lower_hours": [0, 6, 12, 24, 48, 72, 168, None],
            "upper_hours": [6, 12, 24, 48, 72, 168, None, None],
            "members": [38, 51, 64, 45, 17, 9, 2, 14],
        }
    )


def trend_frame() -> pd.DataFrame:
    """The weekly share attempted within 24 h; week 6 had no arrest, so its share is NaN."""
    rng = random.Random(11)
    rows = []
    for index in range(12):
        start = FIRST_MONDAY + timedelta(weeks=index)
        cohort = 0 if index == 5 else rng.randint(2, 8)
        within_24h = rng.randint(0, cohort)
        rows.append(
            {
                "week": f"{start.isocalendar().year}-W{start.isocalendar().week:02d}",
                "week_start": start,
                "cohort": cohort,
                "within_24h": within_24h,
                "within_48h": min(cohort, within_24h + 1),
                "share_24h": within_24h / cohort if cohort else float("nan"),
            }
        )
    return pd.DataFrame(rows)


MONTHS = [date(2026, month, 1) for month in range(1, 7)]


def outcomes_frame() -> pd.DataFrame:
    """Cohort members per month and outcome."""
    rng = random.Random(5)
    outcomes = ["accepted", "already_in_help", "declined", "no_answer", "not_attempted"]
    return pd.DataFrame(
        [
            {"month_start": month, "outcome": outcome, "members": rng.randint(1, 30 if outcome == "accepted" else 12)}
            for month in MONTHS
            for outcome in outcomes
        ]
    )


def referrals_frame() -> pd.DataFrame:
    """Referrals per month and kind."""
    rng = random.Random(6)
    kinds = ["men_program", "therapy", "addiction", "shelter", "victim_assistance", "legal", "other"]
    return pd.DataFrame(
        [
            {"month_start": month, "referral": kind, "attempts": rng.randint(0, 20 if kind == "men_program" else 6)}
            for month in MONTHS
            for kind in kinds
        ]
    )


def repeat_frame() -> pd.DataFrame:
    """Repeat interventions within 12 months per group; nobody was left unreached, so that share is NaN."""
    return pd.DataFrame(
        {
            "group": ["accepted", "declined_or_in_help", "not_reached"],
            "members": [99, 72, 0],
            "repeated": [12, 15, 0],
            "share": [12 / 99, 15 / 72, float("nan")],
        }
    )


def empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """The same columns, no rows."""
    return frame.iloc[0:0]


DELAY_FIGURES = {"target_hours": 24, "median_hours": 18.5, "p90_hours": 61.0}

BUILDERS = {  # name: (builder, sample frame, figures, the mark drawing the frame's rows)
    "weekly": (charts.weekly_chart, weekly_frame, {}, "line"),
    "heatmap": (charts.heatmap_chart, heatmap_frame, {}, "rect"),
    "monthly_heatmap": (charts.monthly_heatmap_chart, monthly_heatmap_frame, {}, "rect"),
    "funnel": (charts.funnel_chart, funnel_frame, {}, "bar"),
    "delay": (charts.delay_chart, delay_frame, DELAY_FIGURES, "bar"),
    "trend": (charts.within_24h_trend_chart, trend_frame, {"target_share": 0.8}, "line"),
    "outcomes": (charts.outcomes_chart, outcomes_frame, {}, "bar"),
    "referrals": (charts.referrals_chart, referrals_frame, {}, "bar"),
    "repeat": (charts.repeat_chart, repeat_frame, {}, "bar"),
}


def spec_of(name: str, language: str, frame: pd.DataFrame | None = None) -> dict:
    """The Vega-Lite spec of a named builder on its sample frame (or the frame given)."""
    builder, sample, figures, _ = BUILDERS[name]
    return builder(sample() if frame is None else frame, language, **figures).to_dict()


# Walking a spec


def layers_of(spec: dict) -> list[dict]:
    """The unit specs of a chart, layered or not."""
    return [spec] if "mark" in spec else [unit for layer in spec["layer"] for unit in layers_of(layer)]


def mark_type(unit: dict) -> str:
    """A unit's mark type."""
    return unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]


def unit_with(spec: dict, mark: str) -> dict:
    """The first unit spec drawing a given mark."""
    return next(unit for unit in layers_of(spec) if mark_type(unit) == mark)


def titles(spec: dict) -> set[str]:
    """Every axis, legend and tooltip title in a spec."""
    found = set()
    for unit in layers_of(spec):
        for channel in unit.get("encoding", {}).values():
            for definition in channel if isinstance(channel, list) else [channel]:
                if isinstance(definition, dict) and isinstance(definition.get("title"), str):
                    found.add(definition["title"])
    return found


def inlined_rows(spec: dict, unit: dict | None = None) -> list[dict]:
    """The rows a unit draws from (its own data, or the chart's); by default the chart's or its first layer's."""
    data = (unit or {}).get("data") or spec.get("data") or spec["layer"][0]["data"]
    return spec["datasets"][data["name"]]


def all_inlined_rows(spec: dict) -> int:
    """How many rows the spec sends to the browser, all datasets together."""
    return sum(len(rows) for rows in spec.get("datasets", {}).values())


# Every builder


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", BUILDERS)
def test_every_chart_fills_its_container_and_formats_in_the_language(name, language):
    spec = spec_of(name, language)
    assert spec["width"] == "container"
    assert spec["config"]["locale"] == charts.vega_locale(language)
    assert spec["config"]["legend"]["orient"] == "bottom"


@pytest.mark.parametrize("name", BUILDERS)
def test_every_title_comes_from_the_catalogue_in_the_viewers_language(name):
    chart_keys = [key for key in CATALOGUE if key.startswith("chart.")]
    french, english = titles(spec_of(name, "fr")), titles(spec_of(name, "en"))
    assert french and english
    assert french <= {t(key, "fr") for key in chart_keys}
    assert english <= {t(key, "en") for key in chart_keys}
    assert french != english


@pytest.mark.parametrize("name", BUILDERS)
def test_the_spec_inlines_exactly_the_aggregated_rows(name):
    builder, sample, figures, mark = BUILDERS[name]
    frame = sample()
    spec = builder(frame, "fr", **figures).to_dict()
    rows = inlined_rows(spec, unit_with(spec, mark))
    assert len(rows) == len(frame)
    for column in frame.columns:
        expected = frame[column].tolist()
        if column in {"week_start", "month_start", "start"}:
            expected = [day.isoformat() for day in expected]
        assert [row[column] for row in rows] == [None if pd.isna(value) else value for value in expected]
    assert all_inlined_rows(spec) - len(frame) <= 1  # the target line's one row


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", BUILDERS)
def test_an_empty_frame_still_gives_a_valid_chart(name, language):
    _, sample, _, _ = BUILDERS[name]
    spec = spec_of(name, language, empty_like(sample()))
    (alt.LayerChart if "layer" in spec else alt.Chart).from_dict(spec, validate=True)
    assert all_inlined_rows(spec) <= 1  # at most the target line's row


@pytest.mark.parametrize("empty", [False, True])
@pytest.mark.parametrize("name", BUILDERS)
def test_every_chart_compiles_and_renders(name, empty):
    import vl_convert
    _, sample, _, _ = BUILDERS[name]
    spec = spec_of(name, "fr", empty_like(sample()) if empty else None)
    spec["width"] = 360  # no container outside a page
    assert vl_convert.vegalite_to_svg(spec).startswith("<svg")


def test_french_charts_render_french_numbers_and_months():
    import vl_convert
    frame = weekly_frame(30)
    frame["interventions"] *= 150
    spec = charts.weekly_chart(frame, "fr").to_dict()
    spec["width"] = 600
    svg = vl_convert.vegalite_to_svg(spec)
    group = charts.vega_locale("fr")["number"]["thousands"]
    assert f"2{group}000" in svg or f"2{group}500" in svg
    assert "juill." in svg and "sept." in svg


def test_dates_reach_the_browser_as_utc_days_so_no_time_zone_shifts_them():
    spec = spec_of("weekly", "fr")
    assert inlined_rows(spec)[0]["week_start"] == "2026-05-25"
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "utc"


# Locale


def test_the_french_locale_follows_babel_fr_ca():
    locale = charts.vega_locale("fr")
    assert locale["number"]["decimal"] == ","
    assert f"1{locale['number']['thousands']}234" == number(1234, "fr")  # the same space as every other figure
    assert locale["number"]["percent"] == " %"
    assert locale["time"]["shortMonths"][:3] == ["janv.", "févr.", "mars"]
    assert locale["time"]["days"][0] == "dimanche"
    assert charts.vega_locale("en")["number"] == {
        "decimal": ".", "thousands": ",", "grouping": [3], "currency": ["$", ""], "percent": "%",
    }


def x_axis(name: str, language: str, frame: pd.DataFrame | None = None) -> dict:
    """The x axis of a chart's first layer."""
    spec = spec_of(name, language, frame)
    return layers_of(spec)[0]["encoding"]["x"]["axis"]


def test_short_periods_tick_on_each_week_monday_with_the_day_in_the_language_order():
    french, english = (x_axis("weekly", language, weekly_frame(12)) for language in LANGUAGES)
    assert [tick["date"] for tick in french["values"][:2]] == [25, 1]
    assert all(tick["utc"] for tick in french["values"])
    assert (french["format"], english["format"]) == ("%-d %b", "%b %-d")


def test_long_periods_tick_on_months_named_in_the_language():
    assert x_axis("weekly", "fr", weekly_frame(52))["tickCount"] == {"interval": "month", "step": 1}
    assert x_axis("weekly", "fr", weekly_frame(104))["tickCount"] == {"interval": "month", "step": 3}
    assert x_axis("weekly", "fr", weekly_frame(52))["format"] == {"year": "%Y", "quarter": "%b", "month": "%b"}


def test_monthly_ticks_sit_mid_month_under_their_bars():
    axis = x_axis("outcomes", "fr")
    assert [(tick["month"], tick["date"]) for tick in axis["values"][:2]] == [(1, 15), (2, 15)]
    assert axis["format"] == "%b %Y"


# Weekly volume


def test_weekly_chart_draws_three_series_in_one_hue_with_last_year_dashed():
    spec = spec_of("weekly", "fr")
    lines = unit_with(spec, "line")
    assert lines["encoding"]["x"]["field"] == "week_start"
    assert lines["encoding"]["x"]["type"] == "temporal"
    assert lines["encoding"]["y"]["field"] == "value"
    fold = next(step for step in lines["transform"] if "fold" in step)
    assert fold["fold"] == ["interventions", "rolling_average", "last_year"]
    assert lines["encoding"]["color"]["scale"]["domain"] == [
        "Interventions", "Moyenne mobile sur 4 semaines", "Mêmes semaines l'an dernier",
    ]
    assert lines["encoding"]["strokeDash"]["scale"]["range"][2] != [1, 0]


def test_weekly_tooltip_names_the_week_and_all_three_values():
    rule = unit_with(spec_of("weekly", "en"), "rule")
    assert [tip["field"] for tip in rule["encoding"]["tooltip"]] == [
        "week", "week_start", "interventions", "rolling_average", "last_year",
    ]
    assert [tip["title"] for tip in rule["encoding"]["tooltip"]][2:] == [
        "Interventions", "4-week rolling average", "Same weeks last year",
    ]


# Heat map


def test_heatmap_sorts_municipalities_by_total_and_uses_the_volume_scheme():
    spec = spec_of("heatmap", "fr")
    encoding = spec["encoding"]
    assert encoding["y"]["field"] == "municipality"
    assert encoding["y"]["sort"] == {"field": "interventions", "op": "sum", "order": "descending"}
    assert encoding["x"]["field"] == "week_start" and encoding["x2"]["field"] == "week_end"
    assert encoding["color"]["scale"]["scheme"] == "blues"
    assert [tip["field"] for tip in encoding["tooltip"]] == ["name", "week", "week_start", "interventions"]


def test_heatmap_rows_end_a_week_after_they_start():
    row = inlined_rows(spec_of("heatmap", "fr"))[0]
    assert (row["week_start"], row["week_end"]) == ("2026-05-25", "2026-06-01")


def test_heatmap_tells_apart_municipalities_that_share_a_name():
    frame = heatmap_frame(2).head(4).copy()
    frame["name"] = "Saint-Mathias"
    frame.loc[2:, "code"] = "99999"
    rows = inlined_rows(spec_of("heatmap", "fr", frame))
    assert {row["municipality"] for row in rows} == {f"Saint-Mathias ({frame['code'][0]})", "Saint-Mathias (99999)"}


# Map


def deck_json(deck: pdk.Deck) -> dict:
    """The deck as the browser receives it; NaN would make it invalid JSON."""
    def refuse(constant):
        raise AssertionError(f"{constant} in the deck's JSON")

    return json.loads(deck.to_json(), parse_constant=refuse)


@pytest.mark.parametrize("measure", ["count", "rate"])
@pytest.mark.parametrize("with_geometry", [False, True])
def test_the_map_has_no_nan_and_one_layer(measure, with_geometry):
    deck = deck_json(charts.municipality_map(map_frame(with_geometry), "fr", measure))
    assert len(deck["layers"]) == 1
    assert deck["layers"][0]["@@type"] == ("GeoJsonLayer" if with_geometry else "ColumnLayer")


def test_columns_rise_and_darken_with_the_measure():
    frame = map_frame()
    layer = deck_json(charts.municipality_map(frame, "fr", "count"))["layers"][0]
    records = layer["data"]
    assert len(records) == len(frame)
    busiest = max(records, key=lambda record: record["elevation"])
    quietest = min(records, key=lambda record: record["elevation"])
    assert busiest["name"] == frame.loc[frame["interventions"].idxmax(), "name"]
    assert sum(busiest["fill_color"][:3]) < sum(quietest["fill_color"][:3])


def test_by_rate_an_unknown_rate_is_grey_flat_and_shown_as_a_dash():
    layer = deck_json(charts.municipality_map(map_frame(), "fr", "rate"))["layers"][0]
    unknown = layer["data"][1]
    assert unknown["elevation"] == 0
    assert unknown["fill_color"] == charts.MAP_NO_VALUE
    assert unknown["rate_label"] == "—"
    assert unknown["population_label"] == "—"


def test_the_map_tooltip_is_in_the_language():
    frame = map_frame()
    french, english = (charts.municipality_map(frame, language, "count") for language in LANGUAGES)
    assert "Taux pour 1 000 habitants : {rate_label}" in streamlit_tooltip(french)["html"]
    assert "Rate per 1,000 residents: {rate_label}" in streamlit_tooltip(english)["html"]
    chambly = frame.index[frame["name"] == "Chambly"][0]
    assert deck_json(french)["layers"][0]["data"][chambly]["population_label"] == number(31_444, "fr")
    assert deck_json(english)["layers"][0]["data"][chambly]["population_label"] == "31,444"
    rate = frame["rate_per_1000"][chambly]
    assert deck_json(french)["layers"][0]["data"][chambly]["rate_label"] == number(rate, "fr", digits=1)


def streamlit_tooltip(deck: pdk.Deck) -> dict:
    """The tooltip as st.pydeck_chart reads it from the deck (it is not part of the deck's JSON)."""
    from streamlit.elements.deck_gl_json_chart import _get_pydeck_tooltip

    return _get_pydeck_tooltip(deck)


def test_boundaries_are_polygons_and_a_municipality_without_one_is_a_dot():
    frame = map_frame(with_geometry=True)
    frame.loc[0, "geometry"] = None
    layer = deck_json(charts.municipality_map(frame, "en", "count"))["layers"][0]
    features = layer["data"]["features"]
    assert len(features) == len(frame)
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [frame["longitude"][0], frame["latitude"][0]]}
    assert {feature["geometry"]["type"] for feature in features[1:]} <= {"Polygon", "MultiPolygon"}
    assert features[1]["properties"]["name"] == frame["name"][1]


@pytest.mark.parametrize("with_geometry", [False, True])
def test_the_view_fits_the_municipalities_on_a_phone(with_geometry):
    frame = map_frame(with_geometry)
    view = deck_json(charts.municipality_map(frame, "fr", "count"))["initialViewState"]
    assert frame["latitude"].min() < view["latitude"] < frame["latitude"].max()
    assert frame["longitude"].min() < view["longitude"] < frame["longitude"].max()
    # Seen in Chromium: at these zooms the RIPRSL's 17 municipalities fill a 358 × 500 px map without being cut off.
    assert view["zoom"] == pytest.approx(8.36 if with_geometry else 8.49, abs=0.05)


@pytest.mark.parametrize("with_geometry", [False, True])
def test_a_single_municipality_is_centred_and_shown_whole(with_geometry):
    frame = map_frame(with_geometry).head(1)
    view = deck_json(charts.municipality_map(frame, "fr", "rate"))["initialViewState"]
    if with_geometry:
        assert 9 <= view["zoom"] <= charts.MAX_ZOOM
    else:
        assert (view["latitude"], view["longitude"]) == (frame["latitude"][0], frame["longitude"][0])
        assert view["zoom"] == charts.MAX_ZOOM - charts.PITCH_ZOOM_OUT
        assert view["pitch"] == charts.COLUMN_PITCH


@pytest.mark.parametrize("with_geometry", [False, True])
def test_an_empty_map_shows_quebec(with_geometry):
    deck = deck_json(charts.municipality_map(empty_like(map_frame(with_geometry)), "fr", "rate"))
    assert deck["initialViewState"]["zoom"] == charts.QUEBEC_VIEW["zoom"]
    assert len(deck["layers"]) == 1


@pytest.mark.parametrize("with_geometry", [False, True])
def test_the_map_has_no_basemap_to_fetch(with_geometry):
    deck = deck_json(charts.municipality_map(map_frame(with_geometry), "fr", "count"))
    # pydeck's "no provider" mark, which Streamlit draws without a basemap; no URL anywhere in the deck.
    assert deck["mapStyle"] == "__MAP_STYLE__"
    assert "mapProvider" not in deck
    assert "http" not in json.dumps(deck)


def test_an_unknown_measure_is_refused():
    with pytest.raises(ValueError):
        charts.municipality_map(map_frame(), "fr", "density")


# Outreach


def test_funnel_keeps_the_stage_order_and_sets_the_breakdown_apart():
    spec = spec_of("funnel", "fr")
    bars = unit_with(spec, "bar")
    assert bars["encoding"]["y"]["sort"] == [
        "Arrestations", "Contact tenté", "Joints", "Ont accepté de l'aide", "Refus", "Refus, déjà en démarche d'aide",
    ]
    rows = inlined_rows(spec)
    sections = {row["stage"]: row["section"] for row in rows}
    assert sections["declined"] == sections["already_in_help"] == "Joints sans acceptation"
    assert len({sections[stage] for stage in ("arrests", "attempted", "reached", "accepted")}) == 1
    assert sections["accepted"] != sections["declined"]


def test_funnel_labels_show_counts_and_share_of_arrests_in_the_language():
    french = {row["stage"]: row["label"] for row in inlined_rows(spec_of("funnel", "fr"))}
    english = {row["stage"]: row["label"] for row in inlined_rows(spec_of("funnel", "en"))}
    assert french["arrests"] == "240 (100 %)"
    assert french["accepted"] == "99 (41 %)"
    assert english["reached"] == "171 (71%)"


def test_funnel_without_arrests_shows_counts_only():
    frame = funnel_frame().assign(members=0)
    assert {row["label"] for row in inlined_rows(spec_of("funnel", "fr", frame))} == {"0"}


def test_delay_chart_keeps_bucket_order_and_translates_buckets():
    bars = unit_with(spec_of("delay", "fr"), "bar")
    assert bars["encoding"]["y"]["sort"][0] == "0–6 h"
    assert bars["encoding"]["y"]["sort"][-2:] == ["plus de 7 jours", "jamais tenté"]
    assert bars["encoding"]["y"]["scale"]["domain"] == bars["encoding"]["y"]["sort"]
    assert bars["encoding"]["x"]["field"] == "members"
    assert unit_with(spec_of("delay", "en"), "bar")["encoding"]["y"]["sort"][-1] == "never attempted"


def test_delay_chart_draws_the_target_rule_at_the_target():
    spec = spec_of("delay", "fr")
    rule = unit_with(spec, "rule")
    target_rows = inlined_rows(spec, rule)
    assert [row["target_hours"] for row in target_rows] == [24]
    assert target_rows[0]["bucket_label"] == "24–48 h"
    assert rule["encoding"]["y"]["bandPosition"] == 0  # the boundary between 12–24 h and 24–48 h
    assert "x" not in rule["encoding"]  # across the whole width
    label = next(unit for unit in layers_of(spec) if mark_type(unit) == "text" and unit.get("data") == rule["data"])
    assert label["encoding"]["text"]["field"] == "target_label"
    assert target_rows[0]["target_label"] == "Cible : 24 h"


def test_a_target_inside_a_bucket_sits_in_proportion():
    spec = charts.delay_chart(delay_frame(), "en", target_hours=36, median_hours=None, p90_hours=None).to_dict()
    rule = unit_with(spec, "rule")
    assert inlined_rows(spec, rule)[0]["bucket_label"] == "24–48 h"
    assert rule["encoding"]["y"]["bandPosition"] == 0.5


def test_delay_chart_colours_buckets_against_the_target_and_labels_counts_with_shares():
    spec = spec_of("delay", "en")
    rows = inlined_rows(spec, unit_with(spec, "bar"))
    assert [row["timing"] for row in rows] == ["within target"] * 3 + ["after target"] * 4 + ["never attempted"]
    assert rows[2]["label"] == "64 (27%)"  # of the 240 in the cohort
    assert unit_with(spec, "bar")["encoding"]["color"]["scale"]["range"] == list(charts.TIMING_COLOURS.values())


def test_delay_chart_states_median_and_90th_percentile_when_known():
    assert spec_of("delay", "fr")["title"]["text"] == "Médiane : 18,5 h · 90e centile : 61 h"
    spec = charts.delay_chart(delay_frame(), "en", target_hours=24, median_hours=None, p90_hours=None).to_dict()
    assert "title" not in spec


def test_within_24h_trend_has_a_percent_axis_gaps_and_the_target_line():
    spec = spec_of("trend", "en")
    line = unit_with(spec, "line")
    assert line["encoding"]["x"]["field"] == "week_start"
    assert line["encoding"]["y"]["field"] == "share_24h"
    assert line["encoding"]["y"]["axis"]["format"] == ".0%"
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert line["mark"]["invalid"] == "break-paths-filter-domains"
    assert inlined_rows(spec)[5]["share_24h"] is None
    rule = unit_with(spec, "rule")
    assert [row["target_share"] for row in inlined_rows(spec, rule)] == [0.8]
    assert rule["encoding"]["y"]["field"] == "target_share"
    assert spec["title"]["text"] == "Target: 80%"
    # The words in a darker shade of the rule's vermillion, which is too light for text.
    assert (spec["title"]["color"], rule["mark"]["color"]) == (charts.TARGET_TEXT_COLOUR, charts.TARGET_COLOUR)


@pytest.mark.parametrize(
    ("name", "field", "colours"),
    [("outcomes", "outcome", charts.OUTCOME_COLOURS), ("referrals", "referral", charts.REFERRAL_COLOURS)],
)
def test_monthly_stacks_keep_a_fixed_order_and_colour_per_category(name, field, colours):
    spec = spec_of(name, "fr")
    encoding = spec["encoding"]
    assert encoding["x"]["timeUnit"] == "utcyearmonth"
    assert encoding["color"]["scale"]["domain"] == [t(f"chart.{field}.{key}", "fr") for key in colours]
    assert encoding["color"]["scale"]["range"] == list(colours.values())
    assert encoding["order"] == {"field": "stack_order", "type": "quantitative", "sort": "ascending"}
    rows = inlined_rows(spec)
    assert {row[field]: row["stack_order"] for row in rows} == {key: rank for rank, key in enumerate(colours)}


def test_repeat_chart_shows_shares_with_counts_and_a_dash_when_nobody_is_in_the_group():
    spec = spec_of("repeat", "fr")
    bars = unit_with(spec, "bar")
    assert bars["encoding"]["x"]["field"] == "share"
    assert bars["encoding"]["x"]["scale"]["domain"] == [0, 1.0]  # shares under 67 % keep a 0–100 % scale
    assert {tip["field"] for tip in bars["encoding"]["tooltip"]} == {"group_label", "members", "repeated", "share"}
    assert next(tip for tip in bars["encoding"]["tooltip"] if tip["field"] == "share")["format"] == ".0%"
    assert [row["label"] for row in inlined_rows(spec)] == ["12 % (12 sur 99)", "21 % (15 sur 72)", "—"]
    assert [row["label_at"] for row in inlined_rows(spec)] == [12 / 99, 15 / 72, 0.0]


def test_categorical_colours_are_the_colour_blind_safe_palette():
    okabe_ito = {"#0072B2", "#56B4E9", "#E69F00", "#D55E00", "#009E73", "#F0E442", "#CC79A7"}
    neutral = {charts.GREY, charts.LIGHT_GREY}
    palettes = (charts.OUTCOME_COLOURS, charts.REFERRAL_COLOURS, charts.REPEAT_GROUP_COLOURS, charts.TIMING_COLOURS)
    for palette in palettes:
        assert set(palette.values()) <= okabe_ito | neutral
        assert len(set(palette.values())) == len(palette)


def test_funnel_bars_leave_room_for_their_labels():
    bars = unit_with(spec_of("funnel", "fr"), "bar")
    assert bars["encoding"]["x"]["scale"]["domain"] == [0, 240 * charts.BAR_LABEL_ROOM]


def test_inlined_data_is_bounded_by_weeks_times_municipalities():
    spec = spec_of("heatmap", "fr", heatmap_frame(52))
    assert all_inlined_rows(spec) == 17 * 52
    assert len(json.dumps(spec)) < 250_000


# The report's charts, from its suppressed frames


def report_weekly_spec(language: str) -> dict:
    from tests.test_report_files import hand_made_report

    return charts.report_weekly_chart(hand_made_report().weekly, language, 5).to_dict()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reports_weekly_columns_span_their_week_and_hidden_weeks_show_their_marker(language):
    spec = report_weekly_spec(language)
    bars = unit_with(spec, "bar")
    assert bars["encoding"]["x"]["field"] == "week_start" and bars["encoding"]["x2"]["field"] == "week_end"
    rows = {row["week"]: row for row in inlined_rows(spec, bars)}
    assert len(rows) == 14
    # Monday to Saturday: adjacent weeks never overlap, whatever the chart's width.
    assert (rows["2026-W15"]["week_start"], rows["2026-W15"]["week_end"]) == ("2026-04-06", "2026-04-12")
    assert rows["2026-W15"]["interventions"] == 9 and rows["2026-W15"]["shown"] == "9"
    # The small week (3) and the week masked beside it (6) carry their marker and no number.
    assert rows["2026-W16"]["marker"] == "< 5" and rows["2026-W22"]["marker"] == "x"
    for week in ("2026-W16", "2026-W22"):
        assert pd.isna(rows[week]["interventions"])
        assert rows[week]["shown"] == rows[week]["marker"]
    text = unit_with(spec, "text")
    assert text["encoding"]["x"]["field"] == "week_middle" and text["encoding"]["text"]["field"] == "marker"


def test_the_target_is_placed_by_the_frame_s_own_bounds_not_by_bucket_names():
    # Bounds in the frame are the query layer's: a bucket 24–48 named otherwise still holds 36 h halfway.
    frame = delay_frame()
    frame.loc[frame["bucket"] == "24-48", "lower_hours"] = 30.0
    spec = charts.delay_chart(frame, "en", target_hours=36, median_hours=None, p90_hours=None).to_dict()
    assert unit_with(spec, "rule")["encoding"]["y"]["bandPosition"] == pytest.approx(6 / 18)


def test_a_delay_frame_without_bounds_draws_no_target_rule():
    frame = delay_frame().iloc[0:0]
    spec = charts.delay_chart(frame, "en", target_hours=24, median_hours=None, p90_hours=None).to_dict()
    assert not [unit for unit in layers_of(spec) if mark_type(unit) == "rule"]


@pytest.mark.parametrize(("unit", "months", "end"), [("month", 1, "2024-02-01"), ("quarter", 3, "2024-04-01")])
def test_monthly_heatmap_cells_span_their_month_or_quarter(unit, months, end):
    spec = charts.monthly_heatmap_chart(monthly_heatmap_frame(4, unit), "fr").to_dict()
    rows = next(iter(spec["datasets"].values()))
    first = next(row for row in rows if row["start"] == "2024-01-01")
    assert first["end"] == end
    assert spec["encoding"]["x"]["title"] == t("chart.quarter" if unit == "quarter" else "chart.month", "fr")


def test_map_tooltip_names_are_escaped():
    """The pydeck tooltip is HTML: a name from an imported file must stay text."""
    frame = map_frame()
    frame.loc[0, "name"] = '<img src=x onerror="alert(1)">'
    data = deck_json(charts.municipality_map(frame, "fr", "count"))["layers"][0]["data"]
    assert data[0]["name"] == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


def test_every_encoding_channel_is_given_as_its_class():
    """A "field:Q" string or alt.value() in encode() makes Altair hash its whole schema (about 2 ms) to find the
    class: the builders name the class themselves."""
    import ast
    import inspect

    loose = []
    for node in ast.walk(ast.parse(inspect.getsource(charts))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "encode":
            for keyword in node.keywords:
                value = keyword.value
                if isinstance(value, (ast.Constant, ast.JoinedStr, ast.Dict)) or (
                        isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                        and value.func.attr in ("value", "condition", "when", "otherwise")):
                    loose.append(f"line {node.lineno}: {keyword.arg}")
    assert loose == []
