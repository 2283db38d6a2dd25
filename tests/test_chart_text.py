"""Each chart in words: summary sentences and tables from the chart's own frame, checked against figures by hand."""

from __future__ import annotations

import tomllib
from datetime import date

import pandas as pd
import pytest

from dashboard.render import chart_text, charts
from dashboard.render import report_content as content
from dashboard.settings import PROJECT_ROOT
from tests.test_charts import BUILDERS, delay_frame, funnel_frame, repeat_frame
from tests.test_report_files import _too_few, hand_made_report


def three_weeks() -> pd.DataFrame:
    return pd.DataFrame({
        "week": ["2026-W22", "2026-W23", "2026-W24"],
        "week_start": [date(2026, 5, 25), date(2026, 6, 1), date(2026, 6, 8)],
        "interventions": [10, 14, 9],
        "rolling_average": [10.0, 12.0, 11.0],
        "last_year": [8, 11, 7],
    })


def test_the_weekly_summary_adds_up_the_weeks():
    # 10 + 14 + 9 = 33 over 3 weeks, 11.0 a week; last year 8 + 11 + 7 = 26.
    assert chart_text.weekly_summary(three_weeks(), "en") == (
        "33 interventions over 3 weeks, 11.0 a week on average; the busiest week, 2026-W23, had 14. "
        "Same weeks last year: 26.")
    assert chart_text.weekly_summary(three_weeks(), "fr") == (
        "33 interventions en 3 semaines, 11,0 par semaine en moyenne ; la semaine la plus chargée, 2026-W23, en "
        "compte 14. Mêmes semaines l'an dernier : 26.")


def test_the_weekly_table_has_a_row_per_week_and_the_usual_range_when_known():
    table = chart_text.weekly_table(three_weeks(), "fr")
    assert list(table.columns) == ["Semaine ISO", "Semaine du", "Interventions", "Moyenne mobile sur 4 semaines",
                                   "Mêmes semaines l'an dernier"]
    assert table.iloc[0].tolist() == ["2026-W22", "25 mai 2026", "10", "10,0", "8"]
    ranged = three_weeks().assign(expected=[9.25, 10.5, float("nan")], upper=[15, 16, float("nan")])
    table = chart_text.weekly_table(ranged, "en")
    assert list(table.columns)[-2:] == ["Expected", "Upper end of the usual range"]
    assert table.iloc[1, -2:].tolist() == ["10.5", "16"] and table.iloc[2, -2:].tolist() == ["—", "—"]


def cells() -> pd.DataFrame:
    """Two municipalities over two weeks: Chambly 5 and 3, Carignan 1 and 0; Chambly's first week is unusual."""
    return pd.DataFrame({
        "code": ["57005", "57005", "57010", "57010"],
        "name": ["Chambly", "Chambly", "Carignan", "Carignan"],
        "week": ["2026-W22", "2026-W23"] * 2,
        "week_start": [date(2026, 5, 25), date(2026, 6, 1)] * 2,
        "interventions": [5, 3, 1, 0],
        "unusual": [True, False, False, False],
    })


def test_the_heat_map_in_words_names_the_busiest_municipality_and_the_unusual_cells():
    # Chambly: 8 of 9 interventions, 89 %.
    assert chart_text.heatmap_summary(cells(), "en") == (
        "2 municipalities over 2 weeks; the busiest, Chambly, had 8 interventions (89% of the total). "
        "1 unusual cell, outlined, listed in the table of unusual weeks.")
    assert chart_text.heatmap_summary(cells(), "fr").endswith(
        "1 case inhabituelle, encadrée, listée dans le tableau des semaines inhabituelles.")
    two = cells().assign(unusual=[True, True, False, False])
    assert chart_text.heatmap_summary(two, "en").endswith(
        "2 unusual cells, outlined, listed in the table of unusual weeks.")
    table = chart_text.heatmap_table(cells(), "fr")
    assert list(table.columns) == ["Municipalité", "2026-W22", "2026-W23"]
    assert table.values.tolist() == [["Chambly", "5", "3"], ["Carignan", "1", "0"]]


def test_the_monthly_heat_map_table_names_months_and_quarters_in_the_language():
    frame = pd.DataFrame({"code": ["57005", "57005"], "name": ["Chambly", "Chambly"], "unit": ["quarter"] * 2,
                          "start": [date(2026, 4, 1), date(2026, 1, 1)], "interventions": [1234, 7]})
    assert list(chart_text.monthly_heatmap_table(frame, "fr").columns) == ["Municipalité", "T1 2026", "T2 2026"]
    assert chart_text.monthly_heatmap_table(frame, "fr").iloc[0].tolist() == ["Chambly", "7", "1\xa0234"]
    assert chart_text.monthly_heatmap_summary(frame, "en") == (
        "1 municipalities over 2 quarters; the busiest, Chambly, had 1,241 interventions (100% of the total).")
    monthly = frame.assign(unit="month")
    assert list(chart_text.monthly_heatmap_table(monthly, "en").columns)[1:] == ["January 2026", "April 2026"]


def places() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["57005", "57010", "57020"], "name": ["Chambly", "Carignan", "Richelieu"],
        "population": [31_444, 11_740, float("nan")], "interventions": [96, 41, 3],
        "rate_per_1000": [96 / 31.444, 41 / 11.740, float("nan")],
    })


def test_the_map_in_words_follows_the_measure_shown():
    # Chambly 96 / 31.444 = 3.05 per 1,000; Carignan 41 / 11.740 = 3.49 per 1,000.
    assert chart_text.map_summary(places(), "en", "count") == (
        "3 municipalities; the most interventions: Chambly (96).")
    assert chart_text.map_summary(places(), "fr", "rate") == (
        "3 municipalités ; le taux le plus élevé pour 1 000 habitants : Carignan (3,49).")
    table = chart_text.map_table(places(), "en", "rate")
    assert table.values.tolist() == [["Carignan", "41", "3.49", "11,740"], ["Chambly", "96", "3.05", "31,444"],
                                     ["Richelieu", "3", "—", "—"]]


def test_the_funnel_in_words_gives_each_stage_and_its_share_of_arrests():
    # 99 accepted of 240 arrests: 41 %; 226 attempted: 94 %.
    assert chart_text.funnel_summary(funnel_frame(), "en") == (
        "Of 240 men arrested, 226 were attempted, 171 reached and 99 accepted help (41%).")
    table = chart_text.funnel_table(funnel_frame(), "fr")
    assert table.iloc[1].tolist() == ["Contact tenté", "226", "94 %"]
    assert list(table["Étape"]) == ["Arrestations", "Contact tenté", "Joints", "Ont accepté de l'aide", "Refus",
                                    "Refus, déjà en démarche d'aide"]


def test_the_delay_in_words_counts_those_within_the_target_and_says_which_buckets_are():
    # Within 24 h: 38 + 51 + 64 = 153 of 240 (64 %); never attempted: 14.
    assert chart_text.delay_summary(delay_frame(), "en", 24, 18.5, 61.0) == (
        "153 of 240 men (64%) were first attempted within the 24 h target; 14 were never attempted. "
        "Median: 18.5 h · 90th percentile: 61 h.")
    # A 48 h target takes in the 24–48 h bucket too: 153 + 45 = 198, 82.5 %, rounded half to even.
    assert chart_text.delay_summary(delay_frame(), "fr", 48, None, None) == (
        "198 hommes sur 240 (82 %) ont reçu une première tentative dans la cible de 48 h ; 14 n'en ont reçu aucune.")
    table = chart_text.delay_table(delay_frame(), "fr", 24)
    assert table.iloc[3].tolist() == ["24–48 h", "45", "19 %", "après la cible"]
    assert list(table["Délai"]) == ["dans la cible"] * 3 + ["après la cible"] * 4 + ["jamais tenté"]


def shares() -> pd.DataFrame:
    return pd.DataFrame({
        "week": ["2026-W22", "2026-W23", "2026-W24", "2026-W25"],
        "week_start": [date(2026, 5, 25), date(2026, 6, 1), date(2026, 6, 8), date(2026, 6, 15)],
        "cohort": [10, 4, 0, 5], "within_24h": [9, 2, 0, 4], "within_48h": [10, 3, 0, 5],
        "share_24h": [0.9, 0.5, float("nan"), 0.8],
    })


def test_the_within_24h_trend_in_words_counts_the_weeks_meeting_the_target():
    # Weeks with arrests: 90 %, 50 %, 80 %; two meet 80 %.
    assert chart_text.within_24h_summary(shares(), "en", 0.8) == (
        "2 of 3 weeks meet the 80% target; the weekly share ranges from 50% to 90%.")
    table = chart_text.within_24h_table(shares(), "fr", 0.8)
    assert table["Cible atteinte"].tolist() == ["Oui", "Non", "—", "Oui"]
    assert table.iloc[2].tolist() == ["2026-W24", "8 juin 2026", "0", "0", "—", "—"]


def outcomes() -> pd.DataFrame:
    return pd.DataFrame({
        "month_start": [date(2026, 1, 1)] * 3 + [date(2026, 2, 1)] * 3,
        "outcome": ["accepted", "declined", "no_answer"] * 2,
        "members": [10, 3, 2, 12, 5, 0],
    })


def test_the_outcomes_in_words_pivot_months_against_outcomes_in_the_chart_order():
    # 10 + 3 + 2 + 12 + 5 + 0 = 32; accepted 22 of them, 69 %.
    assert chart_text.outcomes_summary(outcomes(), "en") == (
        "32 men over 2 months; the most frequent outcome: Accepted help, 22 (69%).")
    table = chart_text.outcomes_table(outcomes(), "fr")
    assert list(table.columns) == ["Mois", "A accepté de l'aide", "Refus", "Non joint"]
    assert table.values.tolist() == [["janvier 2026", "10", "3", "2"], ["février 2026", "12", "5", "0"]]


def test_the_referrals_in_words_name_the_most_frequent_kind():
    frame = pd.DataFrame({"month_start": [date(2026, 3, 1)] * 2, "referral": ["therapy", "men_program"],
                          "attempts": [4, 6]})
    assert chart_text.referrals_summary(frame, "fr") == (
        "10 orientations sur 1 mois ; la plus fréquente : Programme pour hommes, 6 (60 %).")
    assert list(chart_text.referrals_table(frame, "en").columns) == ["Month", "Men's program", "Therapy"]


def test_the_repeat_in_words_gives_each_group_its_share_and_counts():
    # 12 / 99 = 12 %, 15 / 72 = 21 %; nobody was left unreached.
    assert chart_text.repeat_summary(repeat_frame(), "en") == (
        "Repeat intervention within 12 months: Accepted help, 12% (12 of 99); Declined or already in help, 21% "
        "(15 of 72); Not reached, —.")
    assert chart_text.repeat_table(repeat_frame(), "fr").iloc[2].tolist() == ["Non joints", "0", "0", "—"]


@pytest.mark.parametrize("name", BUILDERS)
def test_every_chart_of_the_pages_has_its_text_and_an_empty_frame_says_so(name):
    builder, sample, figures, _ = BUILDERS[name]
    summary, table = chart_text.in_words(builder, sample(), "fr", *figures.values())
    assert summary and len(table) > 0
    empty, _ = chart_text.in_words(builder, sample().iloc[0:0], "en", *figures.values())
    assert empty == "No data to show for this period."


def test_the_map_has_its_text_too():
    assert set(chart_text.EQUIVALENTS) == {*(builder for builder, *_ in BUILDERS.values()), charts.municipality_map}


# The report's charts, from its suppressed figures and frames


def test_the_reports_charts_in_words_show_markers_and_never_a_hidden_count():
    report = hand_made_report()
    texts = content.chart_texts(report, "en")
    # Week 2026-W16 (3) is "< 5", 2026-W22 (6) is masked; the busiest week shown is 2026-W17 with 11.
    assert texts["trend"][0] == ("120 interventions over 14 weeks; the busiest week shown, 2026-W17, had 11. "
                                 "Shown as \"< 5\": 1; hidden (x): 1.")
    assert texts["trend"][1].iloc[2].tolist() == ["2026-W16", "2026-04-13", "< 5"]
    # Chambly (2) is "< 5" and Sainte-Julie (7) masked: Beloeil's 40 / 24,104 residents = 1.66 per 1,000.
    assert texts["map"][0] == ("4 municipalities; the highest rate shown: Beloeil, 1.66 per 1,000 residents. "
                               "Shown as \"< 5\": 1; hidden (x): 1.")
    assert texts["funnel"][0] == "Cohort: 58 men arrested; attempted: 50; reached: 40; accepted help: 25."
    assert texts["funnel"][1].values.tolist()[-2:] == [["Declined", "x"], ["Declined, already in help", "< 5"]]
    assert texts["delays"][0] == "Share attempted within 24 h: 55%; median time to first attempt: 20.5 h."
    assert texts["outcomes"][0] == ("Accepted help: 25; Declined, already in help: < 5; Declined: x; "
                                    "Not reached: 10; Not yet attempted: 8.")
    # The hidden cells hold their markers: never 2 (Chambly), 7 (Sainte-Julie), 2 or 6 (delays), 3 or 12 (outcomes).
    places = texts["map"][1].set_index("Municipality")
    assert places.loc[["Chambly", "Sainte-Julie"], "Interventions"].tolist() == ["< 5", "x"]
    assert texts["delays"][1].iloc[4:6, 1].tolist() == ["< 5", "x"]
    assert texts["outcomes"][1].iloc[1:3, 1].tolist() == ["< 5", "x"]


def test_each_report_map_is_described_by_its_own_municipalities():
    places = hand_made_report().municipalities
    assert content.map_summary(places[places["police_service"] == "SPS"], 5, "fr") == (
        "1 municipalités ; le taux le plus élevé affiché : Saguenay, 0,49 pour 1 000 habitants.")


def test_a_report_with_every_count_hidden_says_so_without_a_week_or_a_rate():
    texts = content.chart_texts(_too_few(hand_made_report()), "fr")
    assert texts["trend"][0] == ("120 interventions en 14 semaines. Valeurs affichées « < 5 » : 14 ; "
                                 "masquées (x) : 0.")
    assert texts["map"][0] == "4 municipalités. Valeurs affichées « < 5 » : 4 ; masquées (x) : 0."


# Colour is never the only carrier of meaning


def test_a_hidden_count_is_written_on_the_report_map_and_no_layer_is_empty():
    report = hand_made_report()
    panels = dict(content.map_charts(report, "fr"))
    regie = panels["RIPRSL"].to_dict()
    texts = [layer for layer in regie["layer"] if layer["mark"]["type"] == "text"
             and layer["encoding"]["text"]["field"] == "interventions_text"]
    rows = regie["datasets"][texts[0]["data"]["name"]]
    assert sorted((row["name"], row["interventions_text"]) for row in rows) == [("Chambly", "< 5"),
                                                                               ("Sainte-Julie", "x")]
    # Saguenay's map hides nothing: no layer of grey circles nor of markers, rather than an empty, unnamed one.
    saguenay = panels["SPS"].to_dict()
    assert all(saguenay["datasets"][layer["data"]["name"]] for layer in saguenay["layer"])
    assert [layer["mark"]["type"] for layer in saguenay["layer"]] == ["circle", "text"]


def test_the_targets_are_labelled_in_words_and_drawn_apart_not_only_coloured():
    delay = charts.delay_chart(delay_frame(), "fr", 24, None, None).to_dict()
    label = next(layer for layer in delay["layer"] if layer["mark"]["type"] == "text"
                 and layer["encoding"]["text"]["field"] == "target_label")
    assert delay["datasets"][label["data"]["name"]][0]["target_label"] == "Cible : 24 h"
    trend = charts.within_24h_trend_chart(BUILDERS["trend"][1](), "en", 0.8).to_dict()
    rule = next(layer for layer in trend["layer"] if layer["mark"]["type"] == "rule")
    assert rule["mark"]["strokeDash"] == [6, 3] and trend["title"]["text"] == "Target: 80%"


def luminance(colour: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour (0–255 channels)."""
    linear = [value / 255 / 12.92 if value / 255 <= 0.04045 else ((value / 255 + 0.055) / 1.055) ** 2.4
              for value in colour]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(text: tuple[float, ...], background: tuple[float, ...]) -> float:
    lighter, darker = sorted((luminance(text), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[index:index + 2], 16) for index in (1, 3, 5))


WHITE, SIDEBAR = (255, 255, 255), rgb("#f8f8f7")


@pytest.mark.parametrize("colour", [charts.CHART_TEXT_COLOUR, charts.TARGET_TEXT_COLOUR, charts.MARKER_COLOUR])
def test_words_in_charts_read_at_4_5_to_1_on_white(colour):
    assert contrast(rgb(colour), WHITE) >= 4.5
    assert contrast(rgb(charts.TARGET_COLOUR), WHITE) < 4.5  # why the target's words are darker than its rule


def test_captions_drawn_at_60_percent_of_the_theme_text_read_at_4_5_to_1():
    theme = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["theme"]
    text = rgb(theme["textColor"])
    for background in (WHITE, SIDEBAR):
        caption = tuple(0.6 * ink + 0.4 * paper for ink, paper in zip(text, background))
        assert contrast(caption, background) >= 4.5
    # Streamlit's default text, #31333f at 60 %, gave 3.9:1: the reading axe reported before the fix.
    default = tuple(0.6 * ink + 0.4 * 255 for ink in rgb("#31333f"))
    assert contrast(default, WHITE) < 4.5
