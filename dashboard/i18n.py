"""The one catalogue of user-facing text, French first, and Babel formatting for fr_CA and en_CA."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from dashboard import settings

LANGUAGES = ("fr", "en")
LOCALES = {"fr": "fr_CA", "en": "en_CA"}

# key: (French, English). Placeholders use str.format names.
CATALOGUE: dict[str, tuple[str, str]] = {
    # command line
    "cli.description": (
        "Relais : tableau de bord police–communauté en violence conjugale.",
        "Relais: police–community dashboard on domestic violence.",
    ),
    "cli.error": ("Erreur : {message}", "Error: {message}"),
    "cli.init_db.done": (
        "Base de données à jour ({url}) : {services} services de police, {municipalities} municipalités.",
        "Database up to date ({url}): {services} police services, {municipalities} municipalities.",
    ),
    "cli.usage.skip_invalid_needs_rejects": (
        "--skip-invalid et --rejects vont ensemble : indiquez les deux, ou aucun.",
        "--skip-invalid and --rejects go together: give both, or neither.",
    ),
    # metrics
    "metrics.error.from_after_to": (
        "la date de début ({start}) est postérieure à la date de fin ({end})",
        "the start date ({start}) is after the end date ({end})",
    ),
    "metrics.error.bad_date": (
        "date invalide : « {value} » (attendu AAAA-MM-JJ)",
        "invalid date: \"{value}\" (expected YYYY-MM-DD)",
    ),
    "metrics.error.unknown_service": (
        "service de police inconnu : {code}",
        "unknown police service: {code}",
    ),
    "metrics.error.unknown_municipality": (
        "municipalité inconnue : {code}",
        "unknown municipality: {code}",
    ),
    "metrics.error.municipality_outside_service": (
        "la municipalité {code} n'est pas desservie par le service {service}",
        "municipality {code} is not served by police service {service}",
    ),
    "metrics.title": (
        "Indicateurs du {start} au {end}",
        "Metrics from {start} to {end}",
    ),
    "metrics.scope": ("Portée : {scope}", "Scope: {scope}"),
    "metrics.scope.all": ("tous les services", "all services"),
    "metrics.section.interventions": ("Interventions", "Interventions"),
    "metrics.section.outreach": ("Suivi après arrestation (auteurs présumés)", "Outreach after arrest (alleged offenders)"),
    "metrics.section.by_municipality": ("Par municipalité", "By municipality"),
    "metrics.section.by_week": ("Par semaine", "By week"),
    "metrics.total": ("Interventions", "Interventions"),
    "metrics.arrests": ("Arrestations", "Arrests"),
    "metrics.repeat": ("Interventions répétées", "Repeat interventions"),
    "metrics.cohort": ("Arrestations (cohorte)", "Arrests (cohort)"),
    "metrics.attempted": ("Contact tenté", "Attempted"),
    "metrics.reached": ("Joints", "Reached"),
    "metrics.accepted": ("Ont accepté de l'aide", "Accepted help"),
    "metrics.already_in_help": ("Refus, déjà en démarche d'aide", "Declined, already in help"),
    "metrics.reach_rate": ("Taux de joignabilité", "Reach rate"),
    "metrics.acceptance_rate": ("Taux d'acceptation", "Acceptance rate"),
    "metrics.median_hours": ("Délai médian avant la 1re tentative", "Median time to first attempt"),
    "metrics.within_24h": ("Part contactée en 24 h", "Share attempted within 24 h"),
    "metrics.within_48h": ("Part contactée en 48 h", "Share attempted within 48 h"),
    "metrics.hours": ("{value} h", "{value} h"),
    "metrics.none": ("—", "—"),
}


def language_or_default(language: str | None) -> str:
    """A supported language code, the configured one when none is given."""
    if language in LANGUAGES:
        return language
    return settings.language()


def t(key: str, language: str | None = None, **values: object) -> str:
    """The catalogue text for a key in a language, with its placeholders filled."""
    french, english = CATALOGUE[key]
    text = english if language_or_default(language) == "en" else french
    return text.format(**values) if values else text


def number(value: float | int, language: str | None = None, digits: int = 0) -> str:
    """A number in the language's format: 1 234,5 in French, 1,234.5 in English."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=LOCALES[language_or_default(language)])


def percent(fraction: float, language: str | None = None, digits: int = 0) -> str:
    """A fraction as a percentage in the language's format."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + " %"
    if language_or_default(language) == "en":
        pattern = pattern.replace(" %", "%")
    return format_percent(fraction, format=pattern, locale=LOCALES[language_or_default(language)])


def day(value: date, language: str | None = None) -> str:
    """A date in the language's medium format: 21 nov. 2026, Nov 21, 2026."""
    return format_date(value, format="medium", locale=LOCALES[language_or_default(language)])
