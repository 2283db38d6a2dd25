"""`python -m dashboard report`: the suppressed report the Report page offers, written to a file (for cron or a
systemd timer)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from dashboard import settings
from dashboard.commands.audit import record_command
from dashboard.commands.exits import EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.i18n import t
from dashboard.private_files import write_owner_only
from dashboard.render import report_content
from queries.boundaries import boundaries
from queries.filters import MetricFilter, Period, Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.periods import quarter_period, quarter_start, year_period
from queries.places import services_in_scope
from queries.report import funder_report

FORMATS = ("pdf", "pptx", "zip")
PERIODS = ("quarter", "year", "custom")


def report_period(kind: str, start: date, end: date | None, today: date) -> Period:
    """The period of a report: the quarter or year starting on `start` (cut at today), or `start` to `end`."""
    if kind == "quarter":
        if quarter_start(start) != start:
            raise ValueError(t("report.command.error.quarter", start=start))
        return quarter_period(start, today)
    if kind == "year":
        if (start.month, start.day) != (1, 1):
            raise ValueError(t("report.command.error.year", start=start))
        return year_period(start.year, today)
    if end is None or end < start:
        raise ValueError(t("report.command.error.custom"))
    return Period(start, min(end, today))


def run_report_command(engine: Engine, kind: str, start: date, end: date | None, service: str | None,
                       file_format: str, language: str, out: Path, exact: bool = False) -> int:
    """Write the suppressed report of a period and scope (every service by default) in one format; with `exact`,
    where the administrator allows it, an internal one with nothing hidden."""
    today = datetime.now(LOCAL_TIMEZONE).date()
    if exact and settings.get("RELAIS_EXACT_REPORTS").lower() != "allowed":
        error(t("report.command.error.exact"))
        return EXIT_USAGE
    try:
        period = report_period(kind, start, end, today)
    except ValueError as problem:
        error(str(problem))
        return EXIT_USAGE
    if start > today:
        error(t("report.command.error.future", start=start))
        return EXIT_USAGE
    # The command line is run by operators: every service, with the report's own suppression, as the page applies it.
    operator = Scope(all_services=True, roles=frozenset({"director"}))
    services = services_in_scope(engine, operator)
    names = dict(zip(services["code"], services[f"name_{language}"]))
    if service is not None and service.upper() not in names:
        error(t("metrics.error.unknown_service", code=service))
        return EXIT_USAGE
    chosen = (service.upper(),) if service else ()
    flt = MetricFilter(period, services=chosen)
    # Threshold 1 hides nothing; the files then say, on every page, that they are internal and exact.
    built = funder_report(engine, flt, operator, 1 if exact else settings.suppression_threshold())
    scope_text = report_content.scope_text({code: names[code] for code in chosen} if chosen else names, [],
                                           not chosen, language)
    from dashboard.render import report_files  # ReportLab and python-pptx load only here

    if file_format == "zip":
        data = report_files.report_csv_zip(built, language)
    else:
        shapes = boundaries(engine, tuple(built.municipalities["code"]))
        make = report_files.report_pdf if file_format == "pdf" else report_files.report_pptx
        data = make(built, language, scope_text, settings.outreach_target()[0], shapes, today)
    out.parent.mkdir(parents=True, exist_ok=True)
    # An exact report's figures are unsuppressed, and even a suppressed one is not for every account on the host.
    write_owner_only(out, data)
    record_command(engine, "report", {"period": kind, "from": period.start.isoformat(), "to": period.end.isoformat(),
                                      "service": chosen[0] if chosen else None, "format": file_format,
                                      "language": language, "exact": exact},
                   {"file": out.name, "bytes": len(data)})
    print(t("report.command.done", path=out, start=period.start, end=period.end))
    return EXIT_OK
