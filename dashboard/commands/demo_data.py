"""`python -m dashboard demo-data`: replace the demo data, and print what was loaded."""

from __future__ import annotations

import hashlib
import sys
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.commands.audit import audit_command, failure_detail, record_command
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK
from dashboard.commands.imports import import_problem_table
from dashboard.commands.printing import error
from dashboard.demo.data import (
    COUNT_FIELDS,
    NEW_ARRESTS_FILE,
    DemoFiles,
    DemoImportFailed,
    YearCounts,
    demo_counts,
    generate,
    load_demo_files,
    new_arrests_file,
    schema_ready,
    until_now,
    write_files,
)
from dashboard.i18n import day, number, t
from dashboard.ingest.importer import ImportReport
from queries.writes import real_row_count


def counts_table(counts: list[YearCounts]) -> str:
    """The counts as a plain-text table, with a total line per police service."""
    header = [t("demo.column.service"), t("demo.column.year")] + [t(f"demo.column.{name}") for name in COUNT_FIELDS]
    lines = [header]
    for service in dict.fromkeys(row.police_service for row in counts):
        rows = [row for row in counts if row.police_service == service]
        for row in rows:
            lines.append([service, str(row.year)] + [number(getattr(row, name)) for name in COUNT_FIELDS])
        totals = [number(sum(getattr(row, name) for row in rows)) for name in COUNT_FIELDS]
        lines.append([service, t("demo.total")] + totals)
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        "  ".join([line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])])
        for line in lines
    )


def _loaded(files: DemoFiles, reports: list[ImportReport]) -> dict:
    """What the audit keeps of a load: the days, each file's hash, and its rows and batch."""
    return {"status": "loaded", "from": files.first_day.isoformat(), "to": files.last_day.isoformat(),
            "files": {report.kind: {"sha256": hashlib.sha256(files.by_kind()[report.kind]).hexdigest(),
                                    "rows": report.accepted, "batch_id": report.batch_id} for report in reports}}


def run_demo_data_command(engine: Engine, seed: int, write_csv_dir: Path | None, *, end: date | None = None) -> int:
    """Replace the demo data with freshly generated files, through the importer, print and audit what was loaded."""
    url = engine.url.render_as_string(hide_password=True)
    asked = {"seed": seed, "end": end.isoformat() if end else None, "write_csv": write_csv_dir is not None}
    if not schema_ready(engine):
        error(t("demo.error.no_schema", url=url))
        # Audited when the trail exists already (a schema without the demo's police services).
        with suppress(SQLAlchemyError):
            record_command(engine, "demo_data", asked, {"status": "refused", "reason": "no_schema"})
        return EXIT_INVALID
    with engine.connect() as connection:
        real = real_row_count(connection)
    if real:
        error(t("demo.error.real_data", count=number(real)))
        audit_command(engine, "demo_data", asked, {"status": "refused", "reason": "real_data", "real_rows": real})
        return EXIT_INVALID
    try:
        # Up to this minute unless an end is given: the worker's queue then holds today's arrests, as it would.
        files = generate(seed, end) if end else generate(seed, *until_now())
        if write_csv_dir is not None:
            interventions_path, outreach_path = write_files(files, write_csv_dir)
            print(t("demo.csv_written", interventions=interventions_path, outreach=outreach_path))
            new_arrests = write_csv_dir / NEW_ARRESTS_FILE
            new_arrests.write_bytes(new_arrests_file(datetime.now(UTC)))
            print(t("demo.new_arrests_written", path=new_arrests))
        reports = load_demo_files(engine, files)
    except DemoImportFailed as failure:
        print(import_problem_table(failure.report.problems), file=sys.stderr)
        error(t("demo.error.import_failed", kind=failure.kind))
        audit_command(engine, "demo_data", asked, {"status": "rejected", "kind": failure.kind,
                                                   "problems": len(failure.report.problems)})
        return EXIT_INVALID
    except BaseException as failure:
        audit_command(engine, "demo_data", asked, {"status": "failed", **failure_detail(failure)})
        raise
    audit_command(engine, "demo_data", asked, _loaded(files, reports))
    print(t("demo.done", seed=seed, start=day(files.first_day), end=day(files.last_day), url=url))
    with engine.connect() as connection:
        print(counts_table(demo_counts(connection)))
    return EXIT_OK
