"""`python -m dashboard`: the parser of every command, and the one place that runs them."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path

from dashboard.commands.exits import EXIT_USAGE, UsageError
from dashboard.database import default_engine
from dashboard.i18n import t

EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)


def _date(value: str) -> date:
    # fromisoformat alone would also take 20240101 and 2024-W01-1.
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise argparse.ArgumentTypeError(t("metrics.error.bad_date", value=value))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(t("metrics.error.bad_date", value=value)) from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        # The ISO weeks of year 9999 run past what dates can hold; no record is that old or that far ahead.
        raise argparse.ArgumentTypeError(t("metrics.error.date_range", value=value, first=EARLIEST_DATE,
                                           last=LATEST_DATE))
    return day


def _expected_row(value: str) -> tuple[int, str]:
    """An audit row as `audit checkpoint` printed it, ID:HASH: its id and its 64 hex digits."""
    found = re.fullmatch(r"\s*([0-9]{1,10}):([0-9a-f]{64})\s*", value)
    if found is None:
        raise argparse.ArgumentTypeError(t("audit.verify.expect.invalid", value=value))
    return int(found[1]), found[2]


def _retention_years(value: str) -> int:
    from queries.retention import MOST_RETENTION_YEARS

    years = int(value) if re.fullmatch(r"[0-9]{1,9}", value.strip()) else 0
    if not 1 <= years <= MOST_RETENTION_YEARS:
        raise argparse.ArgumentTypeError(t("retention.error.years", value=value, most=MOST_RETENTION_YEARS))
    return years


def _poll_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0.1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(t("ingest.error.poll", value=value))
    return seconds


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=t("cli.description"))
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("init-db", help="create or upgrade the schema and load the reference data")

    importing = commands.add_parser("import", help="import a CSV file (interventions or outreach)")
    importing.add_argument("kind", choices=("interventions", "outreach"))
    importing.add_argument("file", type=Path)
    importing.add_argument("--skip-invalid", action="store_true", help="write the valid rows, set the others aside")
    importing.add_argument("--rejects", type=Path, help="where to write the invalid rows (with --skip-invalid)")
    importing.add_argument("--service", metavar="CODE",
                           help="the police service whose file it is; rows of any other are refused "
                                "(required when the database knows several services)")
    importing.add_argument("--replace-demo", action="store_true",
                           help="remove the demo data first (real data is refused beside it)")

    ingest = commands.add_parser("ingest", help="import the files dropped in DIR/incoming/<SERVICE>/<kind>/, then "
                                                "move each to DIR/done/ or DIR/failed/ with its report")
    ingest.add_argument("folder", type=Path, metavar="DIR")
    ingest.add_argument("--once", action="store_true", help="handle the files there now and exit (for cron)")
    ingest.add_argument("--poll", type=_poll_seconds, metavar="SECONDS",
                        help="read the folder every SECONDS instead of waiting for file system events (a network "
                             "share that sends none)")
    ingest.add_argument("--demo", action="store_true",
                        help="import as demo data, with the demo's public pseudonym key (what `demo` runs)")

    metrics = commands.add_parser("metrics", help="print the metrics of a period")
    metrics.add_argument("--from", dest="start", required=True, type=_date, metavar="YYYY-MM-DD")
    metrics.add_argument("--to", dest="end", required=True, type=_date, metavar="YYYY-MM-DD")
    metrics.add_argument("--service", metavar="CODE")
    metrics.add_argument("--municipality", metavar="CODE")
    metrics.add_argument("--json", action="store_true", help="one JSON object, as in DATA_CONTRACT.md")

    demo = commands.add_parser("demo-data", help="load realistic synthetic data, 2019 to this minute")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--write-csv", type=Path, metavar="DIR", help="also write the generated CSV files to DIR")

    geo = commands.add_parser("geo", help="municipality boundaries for the map")
    geo_commands = geo.add_subparsers(dest="geo_command", required=True)
    geo_import = geo_commands.add_parser(
        "import",
        help="import boundary polygons: a zipped shapefile (Statistics Canada, MRNF), a .shp or a GeoJSON file",
    )
    geo_import.add_argument("file", type=Path, help="lcsd000b21a_e.zip, SDA.shp.zip, munic_s.shp, FILE.geojson")
    geo_import.add_argument("--layer", help="the layer to read when the archive holds several (munic_s)")

    serve = commands.add_parser("serve", help="serve the app against DATABASE_URL and the configured provider")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--address", default="127.0.0.1",
                       help="the address to listen on: this machine only by default; 0.0.0.0 for every interface "
                            "(the container's, whose port only nginx and compose's services reach)")
    serve.add_argument("--no-upgrade", dest="upgrade", action="store_false",
                       help="leave the schema and reference data alone (a role that may not migrate: the "
                            "migrations run apart, as in compose.yaml)")

    demo_app = commands.add_parser("demo", help="demo data, a local identity provider with demo users, and the app")
    demo_app.add_argument("--port", type=int, default=8501)
    demo_app.add_argument("--provider-port", type=int, default=9400)

    audit = commands.add_parser("audit", help="check the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="walk the hash chain of the audit rows and report the first "
                                                      "broken link; with RELAIS_AUDIT_KEY, check its anchor and "
                                                      "checkpoints")
    verify.add_argument("--expect", action="append", type=_expected_row, default=[], metavar="ID:HASH",
                        help="a row as `audit checkpoint` printed it, kept outside the database: fail if it is "
                             "missing or differs (unless a signed destruction covers it); repeatable")
    audit_commands.add_parser("checkpoint", help="verify the chain, then sign its head with RELAIS_AUDIT_KEY "
                                                 "(nightly, by an operator who holds the key; on PostgreSQL as "
                                                 "relais_owner, the schema's owner, not relais_app)")

    retention = commands.add_parser("retention", help="destroy interventions (or audit rows) older than YEARS, or "
                                                      "record the organisation's retention period")
    retention_action = retention.add_mutually_exclusive_group(required=True)
    retention_action.add_argument("--older-than", dest="older_than", type=_retention_years, metavar="YEARS")
    retention_action.add_argument("--set-period", dest="set_period", nargs=2, metavar=("data|audit", "YEARS"),
                                  help="record the organisation's retention period in the database (as the "
                                       "schema's owner); the environment may only lengthen it")
    retention.add_argument("--dry-run", action="store_true", help="count what would be destroyed, destroy nothing")
    retention.add_argument("--audit", action="store_true",
                           help="audit rows instead of data (needs RELAIS_AUDIT_KEY; the table owner's role)")
    retention.add_argument("--shorten", action="store_true",
                           help="with --set-period: record a period shorter than the one in force")

    commands.add_parser("rekey", help="pseudonymise the stored subject keys again under RELAIS_NEW_PSEUDONYM_KEY")

    alerts = commands.add_parser("alerts", help="last week's unusual municipalities per service; --send e-mails them")
    alerts.add_argument("--week", metavar="YYYY-Www", help="the ISO week (the last complete one by default)")
    alerts.add_argument("--send", action="store_true", help="e-mail each subscriber (RELAIS_ALERT_SUBSCRIPTIONS)")

    fresh = commands.add_parser("freshness", help="each police service's latest import and intervention; exit 1 when "
                                                  "one is late (RELAIS_STALE_HOURS)")
    fresh.add_argument("--send", action="store_true",
                       help="e-mail the administrators (RELAIS_ADMIN_EMAILS) once per late spell")

    report = commands.add_parser("report", help="write the suppressed report of a period to a file (for cron)")
    report.add_argument("--period", choices=("quarter", "year", "custom"), required=True)
    report.add_argument("--from", dest="start", required=True, type=_date, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="end", type=_date, metavar="YYYY-MM-DD", help="with --period custom")
    report.add_argument("--service", metavar="CODE", help="one police service (every service by default)")
    report.add_argument("--format", dest="file_format", choices=("pdf", "pptx", "zip"), default="pdf")
    report.add_argument("--lang", choices=("fr", "en"), default="fr")
    report.add_argument("--out", type=Path, required=True, metavar="PATH")
    report.add_argument("--exact", action="store_true",
                        help="an internal report with nothing hidden (only where RELAIS_EXACT_REPORTS=allowed)")

    benchmark = commands.add_parser("benchmark", help="measure and print performance figures")
    targets = benchmark.add_subparsers(dest="target", required=True)
    speed = targets.add_parser("import", help="time the import of a generated interventions file")
    speed.add_argument("--rows", type=int, default=100_000)
    speed.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                       help="a throwaway SQLite file, or a throwaway database on RELAIS_TEST_POSTGRES_URL's server")
    pages = targets.add_parser("pages", help="time each page's reruns, cold and warm, on demo and province-scale data")
    pages.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    pages.add_argument("--scale", choices=("demo", "province", "both"), default="both")
    pages.add_argument("--interventions", type=int, default=1_000_000, help="interventions at province scale")
    pages.add_argument("--reruns", type=int, default=5, help="warm reruns per page")
    load = targets.add_parser("load", help="drive many signed-in sessions at once against the served app")
    load.add_argument("--sessions", type=int, default=50)
    load.add_argument("--minutes", type=float, default=2.0)
    load.add_argument("--scale", choices=("demo", "province"), default="demo")
    load.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    load.add_argument("--interventions", type=int, default=1_000_000, help="interventions at province scale")
    load.add_argument("--think", type=float, default=8.0, help="mean seconds between a session's actions")
    load.add_argument("--replicas", type=int, default=1,
                      help="app processes; more than one are served behind nginx, each session kept on one")
    upload = targets.add_parser("upload", help="upload a generated interventions file on the Data page in Chromium")
    upload.add_argument("--rows", type=int, default=100_000)
    upload.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    browser = targets.add_parser("browser", help="time each page's load in Chromium against a bare floor page")
    browser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    browser.add_argument("--scale", choices=("demo", "province"), default="demo")
    browser.add_argument("--interventions", type=int, default=1_000_000, help="interventions at province scale")
    browser.add_argument("--runs", type=int, default=5, help="timed loads per page, after a first one")
    return parser


def _init_db(_args) -> int:
    from dashboard.commands.init_db import run_init_db_command

    return run_init_db_command(default_engine())


def _import(args) -> int:
    from dashboard.commands.imports import run_import_command

    if bool(args.skip_invalid) != bool(args.rejects):
        raise UsageError(t("cli.usage.skip_invalid_needs_rejects"))
    return run_import_command(default_engine(), args.kind, args.file, args.skip_invalid, args.rejects,
                              service=args.service, replace_demo=args.replace_demo)


def _ingest(args) -> int:
    from dashboard.commands.ingest import run_ingest_command

    return run_ingest_command(default_engine(), args.folder, args.once, args.poll, demo=args.demo)


def _metrics(args) -> int:
    from dashboard.commands.metrics import run_metrics_command

    return run_metrics_command(default_engine(), args.start, args.end, args.service, args.municipality, args.json)


def _demo_data(args) -> int:
    from dashboard.commands.demo_data import run_demo_data_command

    return run_demo_data_command(default_engine(), args.seed, args.write_csv)


def _benchmark(args) -> int:
    from dashboard.commands.benchmark import run_import_benchmark, run_pages_benchmark

    if args.target == "pages":
        return run_pages_benchmark(args.backend, args.scale, args.interventions, args.reruns)
    if args.target == "upload":
        from dashboard.commands.benchmark_upload import run_upload_benchmark

        return run_upload_benchmark(args.rows, args.backend)
    if args.target == "browser":
        from dashboard.commands.benchmark_browser import run_browser_benchmark

        return run_browser_benchmark(args.backend, args.scale, args.interventions, args.runs)
    if args.target == "load":
        from dashboard.commands.benchmark_load import run_load_benchmark

        return run_load_benchmark(args.sessions, args.minutes, args.scale, args.backend, args.interventions,
                                  args.think, args.replicas)
    return run_import_benchmark(args.rows, args.backend)


def _geo(args) -> int:
    from dashboard.commands.geo import run_geo_import_command

    return run_geo_import_command(default_engine(), args.file, args.layer)


def _audit(args) -> int:
    from dashboard.commands.audit import run_audit_checkpoint_command, run_audit_verify_command

    if args.audit_command == "checkpoint":
        return run_audit_checkpoint_command(default_engine())
    return run_audit_verify_command(default_engine(), tuple(args.expect))


def _retention(args) -> int:
    from dashboard.commands.retention import run_retention_command, run_retention_period_command

    if args.set_period is None:
        if args.shorten:
            raise UsageError(t("retention.error.shorten_alone"))
        return run_retention_command(default_engine(), args.older_than, args.dry_run, args.audit)
    kind, given = args.set_period
    if kind not in ("data", "audit"):
        raise UsageError(t("retention.error.kind", value=kind))
    if args.dry_run or args.audit:
        raise UsageError(t("retention.error.set_period_alone"))
    try:
        years = _retention_years(given)
    except argparse.ArgumentTypeError as wrong:
        raise UsageError(str(wrong)) from None
    return run_retention_period_command(default_engine(), kind, years, args.shorten)


def _alerts(args) -> int:
    from dashboard.commands.alerts import run_alerts_command

    return run_alerts_command(default_engine(), args.week, args.send)


def _freshness(args) -> int:
    from dashboard.commands.freshness import run_freshness_command

    return run_freshness_command(default_engine(), args.send)


def _report(args) -> int:
    from dashboard.commands.report import run_report_command

    return run_report_command(default_engine(), args.period, args.start, args.end, args.service, args.file_format,
                              args.lang, args.out, args.exact)


def _rekey(_args) -> int:
    from dashboard.commands.rekey import run_rekey_command

    return run_rekey_command(default_engine())


def _serve(args) -> int:
    from dashboard.commands.serve import run_serve_command

    return run_serve_command(args.port, args.address, args.upgrade)


def _demo(args) -> int:
    from dashboard.commands.serve import run_demo_command

    return run_demo_command(args.port, args.provider_port)


HANDLERS = {
    "init-db": _init_db,
    "import": _import,
    "ingest": _ingest,
    "metrics": _metrics,
    "demo-data": _demo_data,
    "benchmark": _benchmark,
    "geo": _geo,
    "audit": _audit,
    "rekey": _rekey,
    "report": _report,
    "alerts": _alerts,
    "freshness": _freshness,
    "retention": _retention,
    "serve": _serve,
    "demo": _demo,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except UsageError as error:
        print(t("cli.error", message=error), file=sys.stderr)
        return EXIT_USAGE
