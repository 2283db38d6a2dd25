"""`python -m dashboard metrics`: the contract's figures as JSON, or as a readable table."""

from __future__ import annotations

import json
import sys
from datetime import date

from sqlalchemy import Engine

from dashboard import settings
from dashboard.commands.audit import record_command
from dashboard.commands.exits import EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.figures import formatted, label, unit
from dashboard.i18n import day, number, t
from queries.filters import MetricFilter, Period, Scope
from queries.metrics import metrics_document
from queries.places import canonical_service, municipalities, services_of_municipality


class MetricsRequestError(ValueError):
    """A request the metrics command refuses, with the reason in the user's language."""


def resolve_filter(
    engine: Engine, start: date, end: date, service: str | None, municipality: str | None
) -> MetricFilter:
    """The filter for the command's arguments, or MetricsRequestError saying what is wrong."""
    if start > end:
        raise MetricsRequestError(t("metrics.error.from_after_to", start=start, end=end))
    services: tuple[str, ...] = ()
    if service is not None:
        code = canonical_service(engine, service)
        if code is None:
            raise MetricsRequestError(t("metrics.error.unknown_service", code=service))
        services = (code,)
    municipalities: tuple[str, ...] = ()
    if municipality is not None:
        municipality = municipality.strip()
        served_by = services_of_municipality(engine, municipality)
        if served_by is None:
            raise MetricsRequestError(t("metrics.error.unknown_municipality", code=municipality))
        if services and services[0] not in served_by:
            raise MetricsRequestError(
                t("metrics.error.municipality_outside_service", code=municipality, service=services[0])
            )
        municipalities = (municipality,)
    return MetricFilter(Period(start, end), services, municipalities)


# The contract's JSON keys and the registered figures they publish; the command prints shares to a tenth.
INTERVENTION_ROWS = (("total", "interventions"), ("arrests", "arrests"), ("repeat", "repeat"))
OUTREACH_ROWS = (
    ("cohort", "cohort"),
    ("attempted", "attempted"),
    ("reached", "reached"),
    ("accepted", "accepted"),
    ("already_in_help", "already_in_help"),
    ("reach_rate", "reach_rate"),
    ("acceptance_rate", "acceptance_rate"),
    ("median_hours_to_first_attempt", "median_hours"),
    ("within_24h_share", "within_24h_share"),
    ("within_48h_share", "within_48h_share"),
)
SHARE_DIGITS = 1


def _row(key: str, value: float | None) -> tuple[str, str]:
    """A registered figure's label and value as the command prints them."""
    language = settings.language()
    digits = SHARE_DIGITS if unit(key) == "share" else None
    return label(key, language), formatted(unit(key), value, language, digits)


def render_table(document: dict, municipality_names: dict[str, str]) -> str:
    """The metrics document as aligned lines of text in the configured language."""
    scope = document["scope"]
    described = " / ".join(part for part in (scope["service"], municipality_names.get(scope["municipality"])) if part)
    start, end = (day(date.fromisoformat(document[key])) for key in ("from", "to"))
    interventions, outreach = document["interventions"], document["outreach"]
    sections = [
        (
            t("metrics.section.interventions"),
            [_row(key, interventions[field]) for field, key in INTERVENTION_ROWS],
        ),
        (
            t("metrics.section.outreach"),
            [_row(key, outreach[field]) for field, key in OUTREACH_ROWS],
        ),
        (
            t("metrics.section.by_municipality"),
            [
                (f"{code} {municipality_names.get(code, '')}".rstrip(), number(count))
                for code, count in interventions["by_municipality"].items()
            ],
        ),
        (
            t("metrics.section.by_week"),
            [(week, number(count)) for week, count in interventions["by_week"].items()],
        ),
    ]
    width = max(len(name) for _title, rows in sections for name, _value_text in rows)
    lines = [t("metrics.title", start=start, end=end), t("metrics.scope", scope=described or t("metrics.scope.all"))]
    for title, rows in sections:
        lines += ["", title]
        lines += [f"  {name.ljust(width)}  {value.rjust(10)}" for name, value in rows]
    return "\n".join(lines) + "\n"


def run_metrics_command(
    engine: Engine, start: date, end: date, service: str | None, municipality: str | None, as_json: bool
) -> int:
    """Print the metrics of a period; exit 2 on a request that cannot be answered."""
    asked = {"from": start.isoformat(), "to": end.isoformat(), "service": service, "municipality": municipality}
    try:
        flt = resolve_filter(engine, start, end, service, municipality)
    except MetricsRequestError as failure:
        error(str(failure))
        record_command(engine, "metrics", asked, {"status": "refused", "reason": str(failure)})
        return EXIT_USAGE
    # The command line is run by operators with database access: it sees every service.
    document = metrics_document(engine, flt, Scope.everything())
    record_command(engine, "metrics", {"from": start.isoformat(), "to": end.isoformat(), "services": list(flt.services),
                                       "municipalities": list(flt.municipalities)},
                   {"format": "json" if as_json else "table", "interventions": document["interventions"]["total"],
                    "cohort": document["outreach"]["cohort"]})
    if as_json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        places = municipalities(engine)
        names = dict(zip(places["code"], places["name"]))
        sys.stdout.write(render_table(document, names))
    return EXIT_OK
