"""The registry of published figures: each one's section, unit, label and definition in French and English, once.

Read by every place that shows a figure: the Overview and Outreach tiles, the Definitions page, the report page,
its PDF, PowerPoint and CSV files, and `python -m dashboard metrics`. The definitions are those of the data
contract, in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.i18n import LANGUAGES, number, percent, t
from queries.suppression import SMALL

SECTIONS = ("volume", "outreach", "timeliness")
UNITS = ("count", "rate", "share", "hours")
# Digits shown on screen, and written for spreadsheets (where a share is a percentage number).
DIGITS = {"count": 0, "rate": 2, "share": 0, "hours": 1}
PLAIN_DIGITS = {"count": 0, "rate": 2, "share": 1, "hours": 1}


@dataclass(frozen=True)
class PublishedFigure:
    """One figure as people read it: where it belongs, its unit, its name and what it counts, (French, English)."""

    key: str
    section: str
    unit: str
    label: tuple[str, str]
    definition: tuple[str, str]
    short_label: tuple[str, str] | None = None  # on a tile, where the label would not fit

    def __post_init__(self) -> None:
        if self.section not in SECTIONS or self.unit not in UNITS:
            raise ValueError(f"{self.key}: unknown section {self.section!r} or unit {self.unit!r}")


FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure(
        "interventions", "volume", "count",
        ("Interventions", "Interventions"),
        ("interventions policières en violence conjugale dont la date locale est dans la période.",
         "police domestic-violence interventions whose local date is in the period."),
    ),
    PublishedFigure(
        "arrests", "volume", "count",
        ("Arrestations", "Arrests"),
        ("interventions de la période avec arrestation.", "interventions in the period with an arrest."),
    ),
    PublishedFigure(
        "rate_per_1000", "volume", "rate",
        ("Taux pour 1 000 habitants", "Rate per 1,000 residents"),
        ("interventions pour 1 000 habitants (population du recensement 2021 des municipalités retenues), pour la "
         "période affichée, non annualisé.",
         "interventions per 1,000 residents (2021 census population of the selected municipalities), for the "
         "period shown, not annualised."),
    ),
    PublishedFigure(
        "repeat", "volume", "count",
        ("Interventions répétées", "Repeat interventions"),
        ("interventions de la période dont la personne visée (clé pseudonyme) avait fait l'objet d'une autre "
         "intervention du même service au plus 365 × 24 heures avant, même hors de la période ou de la "
         "municipalité.",
         "interventions in the period whose subject (pseudonymous key) had another intervention of the same "
         "service at most 365 × 24 hours before, even outside the period or the municipality."),
    ),
    PublishedFigure(
        "contact_bans", "volume", "count",
        ("Interdictions de contact en vigueur", "Contact bans in force"),
        ("interventions de la période où une interdiction de contact était déjà en vigueur.",
         "interventions in the period where a no-contact condition was already in force."),
    ),
    PublishedFigure(
        "cohort", "outreach", "count",
        ("Arrestations (cohorte)", "Arrests (cohort)"),
        ("interventions avec arrestation dont la date locale d'arrestation est dans la période ; seules les "
         "tentatives auprès de l'auteur présumé comptent, quelle que soit leur date.",
         "interventions with an arrest whose local arrest date is in the period; only attempts with the alleged "
         "offender count, whatever their date."),
        short_label=("Hommes arrêtés", "Men arrested"),
    ),
    PublishedFigure(
        "attempted", "outreach", "count",
        ("Contact tenté", "Attempted"),
        ("membres de la cohorte ayant fait l'objet d'au moins une tentative de contact.",
         "cohort members with at least one contact attempt."),
    ),
    PublishedFigure(
        "reached", "outreach", "count",
        ("Joints", "Reached"),
        ("membres de la cohorte joints au moins une fois (accepté, refusé, ou refusé car déjà en démarche d'aide).",
         "cohort members reached at least once (accepted, declined, or declined as already in help)."),
    ),
    PublishedFigure(
        "accepted", "outreach", "count",
        ("Ont accepté de l'aide", "Accepted help"),
        ("membres de la cohorte ayant accepté de l'aide au moins une fois.",
         "cohort members who accepted help at least once."),
    ),
    PublishedFigure(
        "declined", "outreach", "count",
        ("Refus", "Declined"),
        ("membres joints qui ont refusé l'aide sans dire être déjà en démarche.",
         "reached members who declined help without saying they were already in help."),
    ),
    PublishedFigure(
        "already_in_help", "outreach", "count",
        ("Refus, déjà en démarche d'aide", "Declined, already in help"),
        ("membres joints, sans acceptation, qui ont dit avoir déjà entrepris une démarche d'aide.",
         "reached members, never accepting, who said they had already sought help."),
    ),
    PublishedFigure(
        "reach_rate", "outreach", "share",
        ("Taux de joignabilité", "Reach rate"),
        ("joints ÷ cohorte.", "reached ÷ cohort."),
    ),
    PublishedFigure(
        "acceptance_rate", "outreach", "share",
        ("Taux d'acceptation", "Acceptance rate"),
        ("ont accepté de l'aide ÷ joints.", "accepted help ÷ reached."),
    ),
    PublishedFigure(
        "median_hours", "timeliness", "hours",
        ("Délai médian avant la 1re tentative", "Median time to first attempt"),
        ("pour chaque membre contacté, le temps écoulé entre l'arrestation et la première tentative ; la médiane "
         "est la valeur du milieu (moyenne des deux du milieu pour un nombre pair).",
         "for each attempted member, the time elapsed from arrest to the first attempt; the median is the middle "
         "value (mean of the two middle values for an even count)."),
        short_label=("Délai médian", "Median delay"),
    ),
    PublishedFigure(
        "p90_hours", "timeliness", "hours",
        ("90e centile du délai", "90th percentile of time"),
        ("90 % des membres contactés l'ont été en ce délai ou moins (rang le plus proche).",
         "90% of attempted members were first attempted within this time or less (nearest rank)."),
    ),
    PublishedFigure(
        "within_24h_share", "timeliness", "share",
        ("Part contactée en 24 h", "Share attempted within 24 h"),
        ("membres de la cohorte contactés au plus 24 h après l'arrestation ÷ toute la cohorte (un membre jamais "
         "contacté compte comme hors délai).",
         "cohort members first attempted at most 24 h after arrest ÷ the whole cohort (a member never attempted "
         "counts as not within)."),
        short_label=("Contactés en 24 h", "Attempted in 24 h"),
    ),
    PublishedFigure(
        "within_48h_share", "timeliness", "share",
        ("Part contactée en 48 h", "Share attempted within 48 h"),
        ("membres de la cohorte contactés au plus 48 h après l'arrestation ÷ toute la cohorte (un membre jamais "
         "contacté compte comme hors délai).",
         "cohort members first attempted at most 48 h after arrest ÷ the whole cohort (a member never attempted "
         "counts as not within)."),
        short_label=("Contactés en 48 h", "Attempted in 48 h"),
    ),
)
BY_KEY = {figure.key: figure for figure in FIGURES}


def _index(language: str) -> int:
    return LANGUAGES.index(language) if language in LANGUAGES else 0


def figure(key: str) -> PublishedFigure:
    """The registered figure of a key; KeyError for a figure nobody declared."""
    return BY_KEY[key]


def in_section(section: str) -> tuple[PublishedFigure, ...]:
    """The figures of a section, in the registry's order."""
    return tuple(figure for figure in FIGURES if figure.section == section)


def label(key: str, language: str) -> str:
    """A figure's name."""
    return BY_KEY[key].label[_index(language)]


def unit(key: str) -> str:
    """A figure's unit: count, rate (per 1,000 residents), share or hours."""
    return BY_KEY[key].unit


def short_label(key: str, language: str) -> str:
    """A figure's name on a tile: its short label, else its label."""
    registered = BY_KEY[key]
    return (registered.short_label or registered.label)[_index(language)]


def definition(key: str, language: str) -> str:
    """What a figure counts, as one sentence starting with a capital."""
    text = BY_KEY[key].definition[_index(language)]
    return text[0].upper() + text[1:]


def formatted(unit: str, value: float | None, language: str, digits: int | None = None) -> str:
    """A value in its unit's format: 1 234, 1,23, 62 %, 18,5 h; a dash when undefined."""
    if value is None:
        return t("metrics.none", language)
    digits = DIGITS[unit] if digits is None else digits
    if unit == "share":
        return percent(value, language, digits)
    if unit == "hours":
        return t("metrics.hours", language, value=number(value, language, digits))
    return number(value, language, digits)


def plain(unit: str, value: float, language: str) -> str:
    """A value for a spreadsheet, in its unit (a share as a percentage): no thousands separator."""
    text = f"{value * 100 if unit == 'share' else value:.{PLAIN_DIGITS[unit]}f}"
    return text.replace(".", ",") if language == "fr" else text


def marker(hidden: str | None, threshold: int, language: str) -> str:
    """The text that stands for a hidden figure: "< 5" for a small count, "x" for one masked; empty if shown."""
    if hidden == SMALL:
        return t("report.small", language, threshold=threshold)
    return t("report.masked", language) if hidden else ""
