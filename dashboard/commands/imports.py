"""`python -m dashboard import interventions|outreach FILE`: import one file, print what happened."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from dashboard.commands.audit import audit_command, failure_detail
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError
from dashboard.commands.printing import error, problem_table
from dashboard.i18n import number, t
from dashboard.ingest.importer import Problem, import_file, write_rejects
from queries.reference import known_services

VALUE_WIDTH = 40


def _shortened(value: str, limit: int = VALUE_WIDTH) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def import_problem_table(problems: list[Problem]) -> str:
    """The problems as an aligned table: line, column, value, reason."""
    header = (t("import.table.line"), t("import.table.column"), t("import.table.value"), t("import.table.reason"))
    return problem_table(header, [(str(p.line), p.column, _shortened(p.value), p.reason) for p in problems])


def progress_bars() -> Callable[..., tqdm]:
    """tqdm's bars on standard error, when it is a terminal someone watches."""
    return partial(tqdm, file=sys.stderr, unit=" " + t("import.progress.unit"), disable=not sys.stderr.isatty())


def _record_import(engine: Engine, kind: str, path: Path, detail: dict) -> None:
    audit_command(engine, "import", {"kind": kind, "file": path.name}, detail, refused_words="import.error.audit")


def import_service(engine: Engine, asked: str | None) -> str | None:
    """The service an import is confined to: the one asked for, or the only one known; UsageError otherwise."""
    with engine.connect() as connection:
        known = sorted(known_services(connection))
    if asked is None:
        if len(known) > 1:
            raise UsageError(t("import.error.service_required", services=", ".join(known)))
        return known[0] if known else None
    for code in known:
        if code.upper() == asked.strip().upper():
            return code
    raise UsageError(t("metrics.error.unknown_service", code=asked))


def run_import_command(engine: Engine, kind: str, path: Path, skip_invalid: bool, rejects_path: Path | None, *,
                       service: str | None = None, replace_demo: bool = False) -> int:
    """Import one file of one police service, print what happened, return the exit status."""
    try:
        service = import_service(engine, service)
    except UsageError as refused:
        _record_import(engine, kind, path, {"status": "refused", "reason": str(refused)})
        raise
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        error(t("import.error.no_file", path=path))
        _record_import(engine, kind, path, {"status": "refused", "reason": "no_file"})
        return EXIT_USAGE
    except OSError as failure:
        error(t("import.error.unreadable", path=path, error=failure.strerror or failure))
        _record_import(engine, kind, path, {"status": "refused", "reason": "unreadable"})
        return EXIT_USAGE
    read = {"file_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    try:
        report = import_file(engine, kind, data, path.name, skip_invalid=skip_invalid, progress=progress_bars(),
                             service=service, replace_demo=replace_demo)
    except SQLAlchemyError as failure:
        error(t("import.error.database", error=str(failure).splitlines()[0]))
        _record_import(engine, kind, path, {"status": "failed", **failure_detail(failure), **read})
        return EXIT_INVALID
    except BaseException as failure:
        # A crash (or an interrupted run) is audited before it propagates; its traceback is the operator's to read.
        _record_import(engine, kind, path, {"status": "failed", **failure_detail(failure), **read})
        raise
    _record_import(engine, kind, path, {"status": report.status, "batch_id": report.batch_id,
                                        "rows_read": report.rows_read, "accepted": report.accepted,
                                        "replaced": report.replaced, "rejected": len(report.rejected), **read})
    if report.status == "rejected":
        print(import_problem_table(report.problems), file=sys.stderr)
        if report.file_problem:
            error(t("import.rejected_file", file=path))
        else:
            problems, rows = number(len(report.problems)), number(len(report.rejected))
            error(t("import.rejected_rows", file=path, problems=problems, rows=rows))
            print(t("import.hint.skip_invalid"), file=sys.stderr)
        return EXIT_INVALID
    accepted, new, replaced = (number(count) for count in (report.accepted, report.new, report.replaced))
    seconds = number(report.check_seconds + report.write_seconds, digits=1)
    print(t("import.done", file=path, accepted=accepted, new=new, replaced=replaced, seconds=seconds))
    if rejects_path is not None:
        try:
            write_rejects(report, rejects_path)
        except OSError as failure:
            # The valid rows are already stored: show the refused ones here so that none is lost.
            print(import_problem_table(report.problems), file=sys.stderr)
            error(t("import.error.rejects_unwritable", path=rejects_path, error=failure.strerror or failure))
            return EXIT_INVALID
        print(t("import.set_aside", rejected=number(len(report.rejected)), path=rejects_path))
    return EXIT_OK
