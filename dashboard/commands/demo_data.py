"""`python -m dashboard demo-data`: replace the demo data, and print what was loaded."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from dashboard.commands.exits import EXIT_INVALID, EXIT_OK
from dashboard.commands.imports import import_problem_table
from dashboard.commands.printing import error
from dashboard.demo.data import (
    COUNT_FIELDS,
    DemoImportFailed,
    YearCounts,
    demo_counts,
    generate,
    load_demo_files,
    schema_ready,
    until_now,
    write_files,
)
from dashboard.i18n import day, number, t
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


def run_demo_data_command(engine: Engine, seed: int, write_csv_dir: Path | None, *, end: date | None = None) -> int:
    """Replace the demo data with freshly generated files, through the importer, and print what was loaded."""
    url = engine.url.render_as_string(hide_password=True)
    if not schema_ready(engine):
        error(t("demo.error.no_schema", url=url))
        return EXIT_INVALID
    with engine.connect() as connection:
        real = real_row_count(connection)
    if real:
        error(t("demo.error.real_data", count=number(real)))
        return EXIT_INVALID
    # Up to this minute unless an end is given: the worker's queue then holds today's arrests, as it would.
    files = generate(seed, end) if end else generate(seed, *until_now())
    if write_csv_dir is not None:
        interventions_path, outreach_path = write_files(files, write_csv_dir)
        print(t("demo.csv_written", interventions=interventions_path, outreach=outreach_path))
    try:
        load_demo_files(engine, files)
    except DemoImportFailed as failure:
        print(import_problem_table(failure.report.problems), file=sys.stderr)
        error(t("demo.error.import_failed", kind=failure.kind))
        return EXIT_INVALID
    print(t("demo.done", seed=seed, start=day(files.first_day), end=day(files.last_day), url=url))
    with engine.connect() as connection:
        print(counts_table(demo_counts(connection)))
    return EXIT_OK
