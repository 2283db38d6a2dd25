"""The report's downloads: the PDF, the PowerPoint deck and the zipped CSV tables, read back in both languages."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pypdfium2
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pypdf import PdfReader

from dashboard.figures import FIGURES as PUBLISHED
from dashboard.figures import definition, in_section, label
from dashboard.i18n import day, t
from dashboard.render import report_content as content
from dashboard.render.report_files import csv_names, printable, report_csv_zip, report_pdf, report_pptx
from queries.filters import Period
from queries.report import FIGURES, PERIODS, Figure, Report
from queries.suppression import MASKED, SMALL
from queries.timeliness import delay_buckets

LANGUAGES = ("fr", "en")
PRODUCED = date(2026, 7, 15)
TARGET_HOURS = 24.0
BOUNDARIES = Path(__file__).resolve().parent / "fixtures" / "reference_boundaries.geojson"
SCOPES = {"fr": "Tous les services de police", "en": "All police services"}

# The exact counts behind the hidden cells: they must never reach a file.
HIDDEN_WEEKS = {"2026-W16": (3, SMALL), "2026-W22": (6, MASKED)}
HIDDEN_PLACES = {"57005": (2, SMALL), "59010": (7, MASKED)}
HIDDEN_OUTCOMES = {"already_in_help": (3, SMALL), "declined": (12, MASKED)}
HIDDEN_DELAYS = {"48-72": (2, SMALL), "72-168": (6, MASKED)}
# Shown figures per period (current, previous, last year); a tuple (value, marker) is a hidden one.
SHOWN = {
    "interventions": (120, 100, 110), "arrests": (60, 50, 55), "repeat": ((3, SMALL), 12, 9),
    "contact_bans": (20, 18, 22), "rate_per_1000": (1.2, 1.0, 1.1), "cohort": (58, 52, 54),
    "attempted": (50, 45, 47), "reached": (40, 38, 39), "accepted": (25, 22, 24), "declined": ((12, MASKED), 10, 9),
    "already_in_help": ((3, SMALL), 6, 6), "reach_rate": (40 / 58, 38 / 52, 39 / 54),
    "acceptance_rate": (25 / 40, 22 / 38, 24 / 39), "median_hours": (20.5, 22.0, 25.5),
    "p90_hours": (60.0, 62.5, 70.0), "within_24h_share": (0.55, 0.5, 0.45), "within_48h_share": (0.8, 0.75, 0.7),
}


def _figure(value) -> Figure:
    return Figure(None, value[1]) if isinstance(value, tuple) else Figure(value)


def _counts(frame: pd.DataFrame, column: str, exact: list[int], hidden: dict, keys: list[str]) -> pd.DataFrame:
    """The frame with a suppressed count column: empty and marked where the key is hidden."""
    frame[column] = pd.array([None if key in hidden else value for key, value in zip(keys, exact)], dtype="Int64")
    frame[f"{column}_hidden"] = pd.Series([hidden[key][1] if key in hidden else None for key in keys], dtype=object)
    return frame


def hand_made_report() -> Report:
    """Q2 2026 for two police services, with small and masked cells in every table."""
    first_monday = date(2026, 3, 30)
    weeks = [(first_monday + timedelta(weeks=index)).isocalendar() for index in range(14)]
    week_labels = [f"{week.year}-W{week.week:02d}" for week in weeks]
    week_counts = [HIDDEN_WEEKS[label][0] if label in HIDDEN_WEEKS else 8 + index % 4
                   for index, label in enumerate(week_labels)]
    weekly = _counts(pd.DataFrame({"week": week_labels,
                                   "week_start": [first_monday + timedelta(weeks=index) for index in range(14)]}),
                     "interventions", week_counts, HIDDEN_WEEKS, week_labels)
    places = pd.DataFrame({
        "code": ["57040", "57005", "59010", "94068"],
        "name": ["Beloeil", "Chambly", "Sainte-Julie", "Saguenay"],
        "police_service": ["RIPRSL", "RIPRSL", "RIPRSL", "SPS"],
        "population": [24104, 31444, 30045, 144723],
        "latitude": [45.5667, 45.4500, 45.5833, 48.4167],
        "longitude": [-73.2000, -73.2833, -73.3167, -71.0667],
    })
    places = _counts(places, "interventions", [40, 2, 7, 71], HIDDEN_PLACES, list(places["code"]))
    places["rate_per_1000"] = (places["interventions"].astype("Float64")
                               / places["population"].astype("Float64") * 1000)
    statuses = ["accepted", "already_in_help", "declined", "no_answer", "not_attempted"]
    outcomes = _counts(pd.DataFrame({"status": statuses}), "members",
                       [25, 3, 12, 10, 8], HIDDEN_OUTCOMES, statuses)
    delays = delay_buckets()  # 0-6, 6-12, 12-24, 24-48, 48-72, 72-168, 168+, never, with their bounds
    buckets = list(delays["bucket"])
    delays = _counts(delays, "members", [10, 8, 14, 8, 2, 6, 0, 8], HIDDEN_DELAYS, buckets)
    return Report(
        periods={"current": Period(date(2026, 4, 1), date(2026, 6, 30)),
                 "previous": Period(date(2026, 1, 1), date(2026, 3, 31)),
                 "last_year": Period(date(2025, 4, 1), date(2025, 6, 30))},
        threshold=5,
        figures={name: {period: _figure(value) for period, value in zip(PERIODS, SHOWN[name])} for name in FIGURES},
        weekly=weekly, municipalities=places, outcomes=outcomes, delays=delays,
    )


def _too_few(report: Report) -> Report:
    """The report with every breakdown hidden: only totals left to publish."""

    def hidden(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        frame = frame.copy()
        frame[column] = pd.array([None] * len(frame), dtype="Int64")
        frame[f"{column}_hidden"] = pd.Series([SMALL] * len(frame), dtype=object)
        return frame

    figures = dict(report.figures, cohort={period: Figure(None, SMALL) for period in PERIODS})
    return replace(report, figures=figures, weekly=hidden(report.weekly, "interventions"),
                   municipalities=hidden(report.municipalities, "interventions"),
                   outcomes=hidden(report.outcomes, "members"), delays=hidden(report.delays, "members"))


def _shapes() -> dict:
    features = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]
    return {feature["properties"]["code"]: feature["geometry"] for feature in features}


def _plain(text: str) -> str:
    """Text with every run of spaces, no-break spaces included, as one space."""
    return re.sub(r"\s+", " ", printable(text).replace("\u00a0", " ")).strip()


@pytest.fixture(scope="module")
def report() -> Report:
    return hand_made_report()


@pytest.fixture(scope="module", params=LANGUAGES)
def files(request, report) -> dict:
    """Each download built once per language, with the municipal boundaries for the maps."""
    language = request.param
    arguments = (report, language, SCOPES[language], TARGET_HOURS, _shapes(), PRODUCED)
    return {"language": language, "pdf": report_pdf(*arguments), "pptx": report_pptx(*arguments),
            "zip": report_csv_zip(report, language)}


# PDF


def _pages(pdf: bytes) -> list[str]:
    return [_plain(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_pdf_is_a4_portrait_with_a_title_page_and_every_section(files, report):
    language = files["language"]
    reader = PdfReader(io.BytesIO(files["pdf"]))
    assert len(reader.pages) >= 5
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    pages = _pages(files["pdf"])
    title_page, text = pages[0], " ".join(pages)
    for expected in (t("report.title", language), t("report.subtitle", language),
                     content.period_label(report.periods["current"], language),
                     content.dates_text(report.periods["current"], language), SCOPES[language],
                     t("report.section.headline", language), *content.headline_messages(report, language).values()):
        assert _plain(expected) in title_page
    sections = ("volume", "trend", "map", "outreach", "funnel", "timeliness", "delays", "outcomes", "definitions")
    for section in sections:
        assert _plain(t(f"report.section.{section}", language)) in text
    positions = [text.index(_plain(t(f"report.section.{section}", language)), len(title_page))
                 for section in ("trend", "map", "funnel", "delays", "definitions")]
    assert positions == sorted(positions)
    assert "< 5" in text and _plain(content.legend(report, language)) in text
    for figure in in_section("volume"):
        assert _plain(label(figure.key, language)) in text


def test_pdf_has_the_footer_and_page_number_on_every_page(files, report):
    language = files["language"]
    footer = _plain(t("report.footer", language, date=day(PRODUCED, language), threshold=report.threshold))
    pages = _pages(files["pdf"])
    assert day(PRODUCED, language) in footer
    for number, text in enumerate(pages, start=1):
        assert footer in text
        assert f"{number} / {len(pages)}" in text


def test_pdf_shows_the_hidden_rows_with_their_markers(files, report):
    language = files["language"]
    text = " ".join(_pages(files["pdf"]))
    places = content.tables(report, language)["municipalities"]
    hidden = places[places.iloc[:, 0].isin(list(HIDDEN_PLACES))]
    assert len(hidden) == 2
    for row in hidden.astype(str).values.tolist():
        assert _plain(" ".join(row)) in text
        assert row[3] in ("< 5", "x")


def test_pdf_first_page_renders(files, tmp_path):
    path = tmp_path / f"report-{files['language']}.png"
    pypdfium2.PdfDocument(files["pdf"])[0].render(scale=1.5).to_pil().save(path)
    with Image.open(path) as image:
        assert image.size == (893, 1263)
        # Not a blank page: the title's dark ink is there.
        assert image.convert("L").getextrema()[0] < 80


# PowerPoint


def _slides(pptx: bytes):
    return Presentation(io.BytesIO(pptx))


def _pictures(slide) -> list:
    return [shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]


def test_pptx_is_16_9_with_the_slides_in_order(files, report):
    language = files["language"]
    deck = _slides(files["pptx"])
    assert deck.slide_width * 9 == deck.slide_height * 16
    titles = [slide.shapes.title.text for slide in deck.slides]
    definitions = t("report.section.definitions", language)
    assert titles[:8] == [t(key, language) for key in (
        "report.title", "report.section.headline", "report.section.trend", "report.section.map",
        "report.section.funnel", "report.section.delays", "report.section.outcomes", "report.section.definitions")]
    assert titles[8:-1] == [t("report.slide.continued", language, title=definitions)] * (len(titles) - 9)
    assert titles[-1] == t("report.slide.closing", language)
    assert 10 <= len(titles) <= 11


def test_pptx_charts_are_undistorted_pictures_on_their_slides(files):
    deck = _slides(files["pptx"])
    pictures = [len(_pictures(slide)) for slide in deck.slides]
    # Trend, one map per police service, funnel, delays, outcomes; no picture elsewhere.
    assert pictures[2:7] == [1, 2, 1, 1, 1]
    assert sum(pictures) == 6
    for slide in deck.slides:
        for picture in _pictures(slide):
            width, height = picture.image.size
            assert picture.width / picture.height == pytest.approx(width / height, rel=0.01)


def test_pptx_text_is_editable_and_inside_the_slide(files, report):
    language = files["language"]
    deck = _slides(files["pptx"])
    footer = t("report.footer", language, date=day(PRODUCED, language), threshold=report.threshold)
    messages = content.headline_messages(report, language)
    texts = []
    for slide in deck.slides:
        assert slide.shapes.title.is_placeholder
        slide_text = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        assert footer in slide_text
        texts.append(" ".join(slide_text))
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.left + shape.width <= deck.slide_width
            assert shape.top >= 0 and shape.top + shape.height <= deck.slide_height
    assert all(message in texts[1] for message in messages.values())
    assert messages["volume"] in texts[2] and messages["outreach"] in texts[4] and messages["timeliness"] in texts[5]
    assert content.period_label(report.periods["current"], language) in texts[0]
    assert SCOPES[language] in texts[0] and day(PRODUCED, language) in texts[0]
    assert t("report.caption.delays", language, target="24 h") in texts[5]
    every_text = " ".join(texts)
    assert definition("within_48h_share", language) in every_text
    assert content.suppression_definition(report, language) in every_text


# CSV


def _read_zip(data: bytes, language: str) -> tuple[dict[str, list[list[str]]], str]:
    """Each CSV's rows, read as a spreadsheet would, and the read-me text."""
    delimiter = ";" if language == "fr" else ","
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tables = {}
        for name in archive.namelist():
            raw = archive.read(name)
            assert raw.startswith(b"\xef\xbb\xbf")
            if name.endswith(".csv"):
                tables[name] = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=delimiter))
        readme = archive.read(t("report.file.readme", language) + ".txt").decode("utf-8-sig")
    return tables, readme


def test_csv_zip_holds_every_table_with_its_header(files, report):
    language = files["language"]
    tables, readme = _read_zip(files["zip"], language)
    names = csv_names(language)
    assert set(tables) == set(names.values())
    assert names["figures"] == ("indicateurs.csv" if language == "fr" else "figures.csv")
    expected = content.tables(report, language, plain=True)
    for key, name in names.items():
        header, *rows = tables[name]
        assert header == list(expected[key].columns)
        assert rows == expected[key].astype(str).values.tolist()
    assert len(tables[names["figures"]]) == 1 + len(PUBLISHED)
    assert content.period_label(report.periods["current"], language) in readme
    assert content.legend(report, language) in readme
    assert all(name in readme for name in names.values())


def test_csv_uses_the_language_separator_and_number_format(files):
    language = files["language"]
    with zipfile.ZipFile(io.BytesIO(files["zip"])) as archive:
        first_line = archive.read(csv_names(language)["weekly"]).decode("utf-8-sig").splitlines()[0]
    assert first_line == (";".join if language == "fr" else ",".join)(
        [t(f"report.column.{column}", language) for column in ("week", "week_start", "interventions")])


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_hidden_count_reaches_the_csv(report, language):
    tables, _readme = _read_zip(report_csv_zip(report, language), language)
    names = csv_names(language)
    markers = {SMALL: "< 5", MASKED: "x"}
    checked = 0
    for table, hidden in (("weekly", HIDDEN_WEEKS), ("municipalities", HIDDEN_PLACES)):
        for row in tables[names[table]][1:]:
            if row[0] in hidden:
                exact, marker = hidden[row[0]]
                assert row[-2 if table == "municipalities" else -1] == markers[marker]
                assert str(exact) not in row
                checked += 1
    for table, prefix, hidden in (("outcomes", "chart.outcome", HIDDEN_OUTCOMES),
                                  ("delays", "chart.bucket", HIDDEN_DELAYS)):
        by_label = {t(f"{prefix}.{key}", language): value for key, value in hidden.items()}
        for name, cell in tables[names[table]][1:]:
            if name in by_label:
                exact, marker = by_label[name]
                assert cell == markers[marker] and cell != str(exact)
                checked += 1
    assert checked == 8
    figures = {row[0]: row for row in tables[names["figures"]][1:]}
    assert figures[label("repeat", language)][2:5] == ["< 5", "12", "9"]
    assert figures[label("declined", language)][2:5] == ["x", "10", "9"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_csv_figures_are_bare_numbers_with_their_unit(report, language):
    tables, _readme = _read_zip(report_csv_zip(report, language), language)
    header, *rows = tables[csv_names(language)["figures"]]
    assert header == [t(f"report.column.{column}", language)
                      for column in ("figure", "unit", "current", "previous", "last_year", "definition")]
    figures = {row[0]: row[1:5] for row in rows}
    comma = "," if language == "fr" else "."
    assert figures[label("interventions", language)] == [t("report.unit.count", language), "120", "100", "110"]
    assert figures[label("rate_per_1000", language)][1:] == [f"1{comma}20", f"1{comma}00", f"1{comma}10"]
    assert figures[label("within_24h_share", language)] == ["%", f"55{comma}0", f"50{comma}0", f"45{comma}0"]
    assert figures[label("reach_rate", language)][1] == f"{40 / 58 * 100:.1f}".replace(".", comma)
    assert figures[label("median_hours", language)][1:] == [f"20{comma}5", f"22{comma}0", f"25{comma}5"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_year_is_compared_once_when_the_previous_period_is_last_year(report, language):
    year = replace(report, periods={"current": Period(date(2025, 1, 1), date(2025, 12, 31)),
                                    "previous": Period(date(2024, 1, 1), date(2024, 12, 31)),
                                    "last_year": Period(date(2024, 1, 1), date(2024, 12, 31))})
    assert content.compared_periods(year) == ("last_year",)
    assert list(content.figure_table(year, "volume", language).columns) == [
        t(f"report.column.{column}", language) for column in ("figure", "current", "last_year", "change_last_year")]
    assert list(content.tables(year, language, plain=True)["figures"].columns) == [
        t(f"report.column.{column}", language) for column in ("figure", "unit", "current", "last_year", "definition")]
    title_page = _pages(report_pdf(year, language, SCOPES[language], TARGET_HOURS, None, PRODUCED))[0]
    assert _plain(t("report.column.last_year", language)) in title_page
    assert _plain(t("report.column.previous", language)) not in title_page
    assert _plain(content.intro(year, language)) in title_page and content.intro(year, language) != content.intro(
        report, language)


# Too few cases, and text Helvetica cannot draw


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_report_without_breakdowns_says_so_instead_of_charts(report, language):
    sparse = _too_few(report)
    arguments = (sparse, language, SCOPES[language], TARGET_HOURS, None, PRODUCED)
    text = " ".join(_pages(report_pdf(*arguments)))
    assert text.count(_plain(t("report.not_broken_down", language))) == 5
    assert _plain(t("report.caption.trend", language)) not in text
    deck = _slides(report_pptx(*arguments))
    assert sum(len(_pictures(slide)) for slide in deck.slides) == 0
    sentences = [slide for slide in deck.slides
                 if any(shape.has_text_frame and shape.text_frame.text == t("report.not_broken_down", language)
                        for shape in slide.shapes)]
    assert len(sentences) == 5


def test_printable_keeps_french_and_replaces_what_helvetica_lacks():
    assert printable("1\u202f234,5 h – cœur « x » … ÷") == "1\u00a0234,5 h – cœur « x » … ÷"
    assert printable("≤ 5 \u2212 2") == "<= 5 - 2"
    assert printable("Māori ★") == "Maori ?"
