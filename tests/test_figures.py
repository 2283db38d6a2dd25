"""The registry of published figures: every figure the report, tiles and `metrics` publish, named and defined once."""

from __future__ import annotations

import pytest

from dashboard import figures
from dashboard.commands.metrics import INTERVENTION_ROWS, OUTREACH_ROWS, render_table
from dashboard.i18n import LANGUAGES
from dashboard.web.widgets import HEADLINE_TILES, OUTREACH_TILES
from queries.report import FIGURES as REPORT_FIGURES
from queries.report import FUNNEL
from queries.suppression import MASKED, SMALL


def test_the_report_publishes_exactly_the_registered_figures():
    assert {figure.key for figure in figures.FIGURES} == set(REPORT_FIGURES)
    assert set(FUNNEL) <= set(figures.BY_KEY)


def test_tiles_and_the_metrics_command_show_only_registered_figures():
    shown = {*HEADLINE_TILES, *(key for key, _field in OUTREACH_TILES),
             *(key for _field, key in (*INTERVENTION_ROWS, *OUTREACH_ROWS))}
    assert shown <= set(figures.BY_KEY)


@pytest.mark.parametrize("figure", figures.FIGURES, ids=lambda figure: figure.key)
def test_every_figure_is_named_and_defined_in_both_languages(figure):
    for texts in (figure.label, figure.definition, figure.short_label or figure.label):
        assert len(texts) == len(LANGUAGES) and all(text.strip() for text in texts)
    assert figure.label[0] != figure.label[1] or figure.label[0] == "Interventions"
    assert figure.definition[0] != figure.definition[1]
    assert not any(figures.definition(figure.key, language)[0].islower() for language in LANGUAGES)


def test_every_section_has_figures_in_the_registry_s_order():
    assert [figure.key for section in figures.SECTIONS for figure in figures.in_section(section)] == [
        figure.key for figure in sorted(figures.FIGURES, key=lambda figure: figures.SECTIONS.index(figure.section))
    ]
    assert all(figures.in_section(section) for section in figures.SECTIONS)


def test_a_figure_nobody_declared_is_an_error():
    with pytest.raises(KeyError):
        figures.label("arrests_per_officer", "fr")
    with pytest.raises(ValueError):
        figures.PublishedFigure("x", "volume", "euros", ("x", "x"), ("x", "x"))


@pytest.mark.parametrize(
    ("unit", "value", "french", "english"),
    [
        ("count", 1234, "1 234", "1,234"),
        ("rate", 3.14159, "3,14", "3.14"),
        ("share", 0.625, "62 %", "62%"),
        ("hours", 18.55, "18,6 h", "18.6 h"),
        ("share", None, "—", "—"),
    ],
)
def test_values_are_formatted_by_unit(unit, value, french, english):
    def plain_spaces(text: str) -> str:
        return text.replace("\u202f", " ").replace("\xa0", " ")

    assert plain_spaces(figures.formatted(unit, value, "fr")) == french
    assert figures.formatted(unit, value, "en") == english


@pytest.mark.parametrize(
    ("unit", "value", "french", "english"),
    [("count", 1234, "1234", "1234"), ("rate", 1.2, "1,20", "1.20"), ("share", 0.5525, "55,2", "55.2"),
     ("hours", 20.5, "20,5", "20.5")],
)
def test_plain_numbers_for_spreadsheets(unit, value, french, english):
    assert figures.plain(unit, value, "fr") == french
    assert figures.plain(unit, value, "en") == english


def test_hidden_figures_show_their_marker():
    assert figures.marker(SMALL, 5, "fr") == "< 5"
    assert figures.marker(MASKED, 5, "en") == "x"
    assert figures.marker(None, 5, "fr") == ""


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_metrics_table_labels_are_the_registry_s(monkeypatch, language):
    monkeypatch.setenv("RELAIS_LANGUAGE", language)
    document = {
        "from": "2025-01-01", "to": "2025-01-31", "scope": {"service": None, "municipality": None},
        "interventions": {"total": 12, "arrests": 5, "repeat": 2, "by_municipality": {}, "by_week": {"2025-W01": 3}},
        "outreach": {"cohort": 5, "attempted": 4, "reached": 3, "accepted": 2, "already_in_help": 1,
                     "reach_rate": 0.6, "acceptance_rate": 2 / 3, "median_hours_to_first_attempt": 20.25,
                     "within_24h_share": 0.4, "within_48h_share": 0.8},
    }
    lines = render_table(document, {}).splitlines()
    by_label = {line[:-10].strip(): line[-10:].strip() for line in lines if line.startswith("  ")}
    assert by_label[figures.label("interventions", language)] == "12"
    assert by_label[figures.label("acceptance_rate", language)].replace("\xa0", " ") in ("66,7 %", "66.7%")
    assert by_label[figures.label("median_hours", language)] == ("20,2 h" if language == "fr" else "20.2 h")
