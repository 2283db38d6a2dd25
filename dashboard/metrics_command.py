"""`python -m dashboard metrics`: the contract's figures as JSON, or as a readable table."""

from __future__ import annotations

import json
import sys
from datetime import date

from sqlalchemy import Engine

from dashboard.i18n import number, percent, t
from queries.filters import MetricFilter, Period, Scope
from queries.metrics import metrics_document
from queries.places import canonical_service, services_of_municipality

EXIT_OK, EXIT_USAGE = 0, 2


class MetricsRequestError(ValueError):
    """A request the metrics command refuses, with the reason in the user's language."""


def resolve_filter(engine: Engine, start: date, end: date, service: str | None, municipality: str | None) -> MetricFilter:
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


def _value(value, kind: str) -> str:
    if value is None:
        return t("metrics.none")
    if kind == "rate":
        return percent(value, digits=1)
    if kind == "hours":
        return t("metrics.hours", value=number(value, digits=1))
    return number(value)


def render_table(document: dict) -> str:
    """The metrics document as aligned lines of text in the configured language."""
    scope = document["scope"]
    described = " / ".join(part for part in (scope["service"], scope["municipality"]) if part)
    lines = [
        t("metrics.title", start=document["from"], end=document["to"]),
        t("metrics.scope", scope=described or t("metrics.scope.all")),
        "",
    ]

    def section(title: str, rows: list[tuple[str, str]]) -> None:
        width = max(len(label) for label, _ in rows)
        lines.append(title)
        lines.extend(f"  {label.ljust(width)}  {value.rjust(10)}" for label, value in rows)
        lines.append("")

    interventions, outreach = document["interventions"], document["outreach"]
    section(
        t("metrics.section.interventions"),
        [(t(f"metrics.{key}"), _value(interventions[key], "count")) for key in ("total", "arrests", "repeat")],
    )
    outreach_rows = [
        ("cohort", "count"),
        ("attempted", "count"),
        ("reached", "count"),
        ("accepted", "count"),
        ("already_in_help", "count"),
        ("reach_rate", "rate"),
        ("acceptance_rate", "rate"),
        ("median_hours_to_first_attempt", "hours"),
        ("within_24h_share", "rate"),
        ("within_48h_share", "rate"),
    ]
    labels = {"median_hours_to_first_attempt": "median_hours", "within_24h_share": "within_24h",
              "within_48h_share": "within_48h"}
    section(
        t("metrics.section.outreach"),
        [(t("metrics." + labels.get(key, key)), _value(outreach[key], kind)) for key, kind in outreach_rows],
    )
    section(
        t("metrics.section.by_municipality"),
        [(code, _value(count, "count")) for code, count in interventions["by_municipality"].items()],
    )
    section(
        t("metrics.section.by_week"),
        [(week, _value(count, "count")) for week, count in interventions["by_week"].items()],
    )
    return "\n".join(lines).rstrip() + "\n"


def run_metrics_command(
    engine: Engine, start: date, end: date, service: str | None, municipality: str | None, as_json: bool
) -> int:
    """Print the metrics of a period; exit 2 on a request that cannot be answered."""
    try:
        flt = resolve_filter(engine, start, end, service, municipality)
    except MetricsRequestError as error:
        print(t("cli.error", message=error), file=sys.stderr)
        return EXIT_USAGE
    # The command line is run by operators with database access: it sees every service.
    document = metrics_document(engine, flt, Scope.everything())
    if as_json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render_table(document))
    return EXIT_OK
