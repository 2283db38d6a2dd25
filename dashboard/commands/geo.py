"""`python -m dashboard geo import FILE`: official municipal boundaries for the map, and what happened."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.commands.audit import audit_command, failure_detail
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error, problem_table
from dashboard.i18n import number, t
from dashboard.ingest.boundary_file import (
    CODE_PROPERTIES,
    BoundaryReport,
    FeatureProblem,
    file_sha256,
    import_boundary_file,
)

EXAMPLES = 5


def _examples(items: Sequence[str]) -> str:
    distinct = list(dict.fromkeys(items))
    shown = ", ".join(distinct[:EXAMPLES])
    if len(distinct) <= EXAMPLES:
        return shown
    return t("geo.and_more", items=shown, count=number(len(distinct) - EXAMPLES))


def boundary_problem_table(problems: list[FeatureProblem]) -> str:
    """The problems as an aligned table: feature number, code, reason."""
    header = (t("geo.table.feature"), t("geo.table.code"), t("geo.table.reason"))
    return problem_table(header, [(str(problem.feature), problem.code, problem.reason) for problem in problems])


def _skipped_lines(report: BoundaryReport) -> list[str]:
    lines = []
    if report.outside_province:
        lines.append(t("geo.skipped_outside", count=number(report.outside_province)))
    if report.unknown:
        lines.append(t("geo.skipped_unknown", count=number(len(report.unknown)), codes=_examples(report.unknown)))
    if report.without_code:
        lines.append(
            t(
                "geo.skipped_no_code",
                count=number(len(report.without_code)),
                features=_examples(report.without_code),
                properties=", ".join(CODE_PROPERTIES),
            )
        )
    return lines


def _record_geo_import(engine: Engine, path: Path, layer: str | None, detail: dict) -> None:
    audit_command(engine, "geo_import", {"file": path.name, "layer": layer}, detail)


def _file_sha256(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _outcome(report: BoundaryReport) -> dict:
    """What the audit keeps of a boundary import: its counts, and what refused it."""
    status = ("rejected" if report.file_problem or report.problems else "imported" if report.written
              else "nothing")
    return {"status": status, "features": report.features, "imported": report.imported,
            "replaced": report.replaced, "problems": len(report.problems), "file_problem": report.file_problem,
            "unknown": len(report.unknown), "without_code": len(report.without_code),
            "outside_province": report.outside_province, "layer_read": report.layer,
            "converted_from": report.converted_from, "without_boundary": len(report.without_boundary)}


def run_geo_import_command(engine: Engine, path: Path, layer: str | None = None) -> int:
    """Import one boundary file, print what happened, audit it, return the exit status."""
    try:
        report = import_boundary_file(engine, path, layer)
    except FileNotFoundError:
        error(t("geo.error.no_file", path=path))
        _record_geo_import(engine, path, layer, {"status": "refused", "reason": "no_file"})
        return EXIT_USAGE
    except OSError as failure:
        error(t("geo.error.unreadable", path=path, error=failure.strerror or failure))
        _record_geo_import(engine, path, layer, {"status": "refused", "reason": "unreadable"})
        return EXIT_USAGE
    except SQLAlchemyError as failure:
        error(t("geo.error.database", error=str(failure).splitlines()[0]))
        _record_geo_import(engine, path, layer, {"status": "failed", **failure_detail(failure),
                                                 "file_sha256": _file_sha256(path)})
        return EXIT_INVALID
    except BaseException as failure:
        _record_geo_import(engine, path, layer, {"status": "failed", **failure_detail(failure),
                                                 "file_sha256": _file_sha256(path)})
        raise
    _record_geo_import(engine, path, layer, {**_outcome(report), "file_sha256": _file_sha256(path)})
    if report.file_problem:
        error(t("geo.rejected_file", file=path, reason=report.file_problem))
        return EXIT_INVALID
    if report.problems:
        print(boundary_problem_table(report.problems), file=sys.stderr)
        error(t("geo.rejected", file=path, problems=number(len(report.problems))))
        if report.outside_quebec:
            print(t("geo.hint.reproject"), file=sys.stderr)
        return EXIT_INVALID
    if not report.written:
        for line in _skipped_lines(report):
            print(line, file=sys.stderr)
        error(t("geo.nothing", file=path))
        return EXIT_INVALID
    features, imported = number(report.features), number(report.imported)
    new, replaced = number(report.imported - report.replaced), number(report.replaced)
    print(t("geo.done", file=path, features=features, imported=imported, new=new, replaced=replaced))
    if report.layer:
        print(t("geo.layer", layer=report.layer))
    if report.converted_from:
        print(t("geo.converted", crs=report.converted_from))
    print(t("geo.simplified", kept=number(report.vertices_kept), read=number(report.vertices_read)))
    if report.merged:
        print(t("geo.merged", count=number(len(report.merged)), codes=_examples(report.merged)))
    for line in _skipped_lines(report):
        print(line)
    if report.without_boundary:
        count = number(len(report.without_boundary))
        print(t("geo.missing", count=count, municipalities=_examples(report.without_boundary)))
    else:
        print(t("geo.complete", count=number(report.municipalities)))
    return EXIT_OK
