"""`python -m dashboard benchmark import`: how fast a large interventions file is read, checked and written."""

from __future__ import annotations

import csv
import io
import random
import sys
from datetime import datetime, timedelta

from dashboard.i18n import number, t
from dashboard.importer import KINDS, ImportReport, import_file, problem_table
from queries.localtime import parse_timestamp
from dashboard.scratch import scratch_database
from queries.reference import REFERENCE_DIR

TARGET_ROWS, TARGET_SECONDS = 100_000, 30.0
LOCAL_FORMAT, OFFSET_FORMAT = "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S-05:00"
COLUMNS = KINDS["interventions"].columns
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _served_municipalities() -> list[tuple[str, str]]:
    with (REFERENCE_DIR / "municipalities.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["police_service"], row["code"]) for row in csv.DictReader(handle)]


def interventions_file(rows: int, seed: int = 42) -> bytes:
    """A valid interventions file as a French spreadsheet writes it: `;`, oui/non, local times, some offsets."""
    generator = random.Random(seed)
    places = _served_municipalities()
    start = datetime(2019, 1, 1)
    output = io.StringIO()
    writer = csv.writer(output, delimiter=";")
    writer.writerow(COLUMNS)
    for index in range(rows):
        service, code = generator.choice(places)
        occurred = start + timedelta(minutes=generator.randrange(6 * 365 * 24 * 60))
        arrest = generator.random() < 0.4
        stamp = LOCAL_FORMAT if index % 5 else OFFSET_FORMAT
        occurred_text = occurred.strftime(stamp)
        arrested_text = (occurred + timedelta(minutes=generator.randrange(12 * 60))).strftime(stamp) if arrest else ""
        if arrested_text and parse_timestamp(arrested_text) < parse_timestamp(occurred_text):
            # Only across a daylight-saving change, where fold=0 can put the later local time first.
            arrested_text = occurred_text
        writer.writerow(
            (
                f"{service}-{index:07d}",
                service,
                code,
                occurred_text,
                "oui" if arrest else "non",
                arrested_text,
                f"S{generator.randrange(rows // 3 + 1):06d}" if generator.random() < 0.8 else "",
                "oui" if generator.random() < 0.1 else "non",
            )
        )
    return ("\ufeff" + output.getvalue()).encode("utf-8")


def _figures(phase: str, rows: int, seconds: float) -> str:
    rate, unit = number(rows / seconds if seconds else 0.0), t("import.benchmark.per_second")
    return f"{phase:<34} {number(rows):>10} {number(seconds, digits=2):>8} s {rate:>10} {unit}"


def _report_lines(label: str, report: ImportReport) -> list[str]:
    total = report.check_seconds + report.write_seconds
    return [
        _figures(t("import.benchmark.check", label=label), report.rows_read, report.check_seconds),
        _figures(t("import.benchmark.write", label=label), report.accepted, report.write_seconds),
        _figures(t("import.benchmark.total", label=label), report.rows_read, total),
    ]


def run_import_benchmark(rows: int, backend: str = "sqlite") -> int:
    """Import a generated file twice into a throwaway database and print the time of each phase."""
    data = interventions_file(rows)
    with scratch_database(backend) as engine:
        first = import_file(engine, "interventions", data, "benchmark.csv", imported_by="benchmark")
        again = import_file(engine, "interventions", data, "benchmark.csv", imported_by="benchmark")
    if first.status != "imported":
        print(problem_table(first.problems[:20]), file=sys.stderr)
        return 1
    print(t("import.benchmark.title", rows=number(rows), megabytes=number(len(data) / 1e6, digits=1), backend=BACKEND_NAMES[backend]))
    lines = _report_lines(t("import.benchmark.first"), first) + _report_lines(t("import.benchmark.again"), again)
    print("\n".join(lines))
    seconds = first.check_seconds + first.write_seconds
    projected = number(seconds * TARGET_ROWS / rows if rows else 0.0, digits=1)
    print(t("import.benchmark.target", rows=number(TARGET_ROWS), limit=number(TARGET_SECONDS), seconds=projected))
    return 0
