"""`python -m dashboard geo import`: municipality boundary polygons from a GeoJSON file, all or nothing.

Accepted: a GeoJSON FeatureCollection, UTF-8 with or without BOM, coordinates as WGS84 longitude/latitude.
A feature's municipality is the first property among CODE_PROPERTIES (in any case) holding a 5-digit Quebec
geographic code, a 7-digit census subdivision code 24xxxxx (its last five digits), or a 4-digit number (a code
whose leading zero was lost). Its geometry must be a Polygon or MultiPolygon inside QUEBEC_BOUNDS; coordinates
are rounded to 5 decimals (about 1 m) and features sharing a code are joined into one MultiPolygon. Features of
municipalities not in the database, or without such a code, are skipped and reported; one invalid geometry of a
known municipality refuses the whole file.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from dashboard.i18n import number, t
from queries.boundaries import boundary_codes, replace_boundaries
from queries.places import municipalities

CODE_PROPERTIES = (
    "code",
    "code_mun",
    "mun_code",
    "codmun",
    "cod_mun",
    "code_geo",
    "codegeo",
    "geocode",
    "mus_co_geo",
    "csduid",
)
QUEBEC_CENSUS_PREFIX = "24"
QUEBEC_BOUNDS = ((-80.0, -57.0), (44.0, 63.0))
"""(west, east) longitudes and (south, north) latitudes that every coordinate must lie within."""
DECIMALS = 5
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
EXAMPLES = 5

PolygonRings = list[list[list[float]]]


@dataclass(frozen=True)
class FeatureProblem:
    """Why a feature refuses the file: its number (from 1), code, reason, and the reason's catalogue key."""

    feature: int
    code: str
    reason: str
    key: str


@dataclass
class BoundaryReport:
    """What a boundary import read, skipped, refused and wrote."""

    file_name: str
    features: int = 0
    file_problem: str | None = None
    problems: list[FeatureProblem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    without_code: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    imported: int = 0
    replaced: int = 0
    without_boundary: list[str] = field(default_factory=list)
    municipalities: int = 0

    @property
    def written(self) -> bool:
        """Whether boundaries were stored."""
        return self.imported > 0

    @property
    def outside_quebec(self) -> bool:
        """Whether a coordinate lies outside Quebec, the mark of a file not in WGS84 longitude/latitude."""
        return any(problem.key == "geo.reason.outside_quebec" for problem in self.problems)


class _Invalid(ValueError):
    """A feature or a file refused, with the reason in the user's language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(t(key, **values))
        self.key = key


def read_features(data: bytes) -> list:
    """The features of a GeoJSON FeatureCollection."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Invalid("geo.file.not_utf8") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _Invalid("geo.file.not_json", line=error.lineno, column=error.colno) from None
    if not (
        isinstance(document, dict)
        and document.get("type") == "FeatureCollection"
        and isinstance(document.get("features"), list)
    ):
        raise _Invalid("geo.file.not_feature_collection")
    if not document["features"]:
        raise _Invalid("geo.file.empty")
    return document["features"]


def _normalised_code(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    if len(text) == 5:
        return text
    if len(text) == 7 and text.startswith(QUEBEC_CENSUS_PREFIX):
        return text[2:]
    if len(text) == 4 and isinstance(value, int):
        return text.zfill(5)
    return None


def feature_code(properties: Any) -> tuple[str | None, str]:
    """The municipality code of a feature's properties, or None, and the value read, to show the user."""
    by_name = {str(name).lower(): value for name, value in properties.items()} if isinstance(properties, dict) else {}
    present = [by_name[name] for name in CODE_PROPERTIES if by_name.get(name) not in (None, "")]
    for value in present:
        code = _normalised_code(value)
        if code is not None:
            return code, str(value)
    return None, str(present[0]) if present else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _position(value: Any) -> list[float]:
    if not (isinstance(value, list) and len(value) >= 2 and _is_number(value[0]) and _is_number(value[1])):
        raise _Invalid("geo.reason.coordinates")
    longitude, latitude = value[0], value[1]
    (west, east), (south, north) = QUEBEC_BOUNDS
    if not (west <= longitude <= east and south <= latitude <= north):
        raise _Invalid("geo.reason.outside_quebec", longitude=longitude, latitude=latitude)
    return [round(longitude, DECIMALS), round(latitude, DECIMALS)]


def _ring(value: Any) -> list[list[float]] | None:
    if not (isinstance(value, list) and len(value) >= 4):
        raise _Invalid("geo.reason.coordinates")
    positions = [_position(position) for position in value]
    if positions[0] != positions[-1]:
        raise _Invalid("geo.reason.ring_open")
    kept = [position for index, position in enumerate(positions) if index == 0 or position != positions[index - 1]]
    # Rounding merges neighbouring vertices; a ring that collapses is smaller than the precision kept.
    return kept if len(kept) >= 4 else None


def _polygon(value: Any) -> PolygonRings | None:
    if not (isinstance(value, list) and value):
        raise _Invalid("geo.reason.coordinates")
    exterior, *holes = [_ring(ring) for ring in value]
    if exterior is None:
        return None
    return [exterior, *(hole for hole in holes if hole is not None)]


def boundary_polygons(geometry: Any) -> list[PolygonRings]:
    """The polygons of a Polygon or MultiPolygon geometry, checked and rounded to 5 decimals."""
    if not isinstance(geometry, dict):
        raise _Invalid("geo.reason.no_geometry")
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        raise _Invalid("geo.reason.geometry_type", type=kind)
    coordinates = geometry.get("coordinates")
    if kind == "MultiPolygon" and not (isinstance(coordinates, list) and coordinates):
        raise _Invalid("geo.reason.coordinates")
    polygons = [_polygon(polygon) for polygon in (coordinates if kind == "MultiPolygon" else [coordinates])]
    kept = [polygon for polygon in polygons if polygon is not None]
    if not kept:
        raise _Invalid("geo.reason.too_small")
    return kept


def as_geometry(polygons: list[PolygonRings]) -> dict[str, Any]:
    """A Polygon geometry for one polygon, a MultiPolygon for several."""
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _check_features(features: list, names: dict[str, str], report: BoundaryReport) -> dict[str, list[PolygonRings]]:
    polygons: dict[str, list[PolygonRings]] = {}
    feature_counts: Counter[str] = Counter()
    for position, feature in enumerate(features, start=1):
        if not (isinstance(feature, dict) and feature.get("type") == "Feature"):
            report.problems.append(FeatureProblem(position, "", t("geo.reason.not_feature"), "geo.reason.not_feature"))
            continue
        code, shown = feature_code(feature.get("properties"))
        if code is None:
            report.without_code.append(f"#{position}" + (f" ({shown})" if shown else ""))
            continue
        if code not in names:
            report.unknown.append(code)
            continue
        try:
            checked = boundary_polygons(feature.get("geometry"))
        except _Invalid as invalid:
            report.problems.append(FeatureProblem(position, code, str(invalid), invalid.key))
            continue
        polygons.setdefault(code, []).extend(checked)
        feature_counts[code] += 1
    report.merged = sorted(code for code, count in feature_counts.items() if count > 1)
    return polygons


def import_boundaries(engine: Engine, data: bytes, file_name: str) -> BoundaryReport:
    """Check every feature, then store the boundaries in one transaction, or none if any feature is invalid."""
    report = BoundaryReport(file_name)
    try:
        features = read_features(data)
    except _Invalid as invalid:
        report.file_problem = str(invalid)
        return report
    report.features = len(features)
    with engine.begin() as connection:
        known = municipalities(connection)
        names = dict(zip(known["code"], known["name"]))
        polygons = _check_features(features, names, report)
        if report.problems or not polygons:
            return report
        imported_at = datetime.now(UTC)
        sha256 = hashlib.sha256(data).hexdigest()
        rows = [
            {
                "municipality_code": code,
                "geometry": as_geometry(polygons[code]),
                "source_file": file_name,
                "source_sha256": sha256,
                "imported_at": imported_at,
            }
            for code in sorted(polygons)
        ]
        stored_before = boundary_codes(connection)
        replace_boundaries(connection, rows)
        report.imported, report.replaced = len(rows), len(stored_before & polygons.keys())
        still_without = sorted(names.keys() - stored_before - polygons.keys())
        report.without_boundary = [f"{code} {names[code]}" for code in still_without]
        report.municipalities = len(names)
    return report


def _examples(items: Sequence[str]) -> str:
    distinct = list(dict.fromkeys(items))
    shown = ", ".join(distinct[:EXAMPLES])
    if len(distinct) <= EXAMPLES:
        return shown
    return t("geo.and_more", items=shown, count=number(len(distinct) - EXAMPLES))


def problem_table(problems: list[FeatureProblem]) -> str:
    """The problems as an aligned table: feature number, code, reason."""
    header = (t("geo.table.feature"), t("geo.table.code"), t("geo.table.reason"))
    rows = [header] + [(str(problem.feature), problem.code, problem.reason) for problem in problems]
    widths = [max(len(row[index]) for row in rows) for index in range(2)]
    return "\n".join("  ".join([row[0].rjust(widths[0]), row[1].ljust(widths[1]), row[2]]).rstrip() for row in rows)


def _skipped_lines(report: BoundaryReport) -> list[str]:
    lines = []
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


def _error(message: str) -> None:
    print(t("cli.error", message=message), file=sys.stderr)


def run_geo_import_command(engine: Engine, path: Path) -> int:
    """`python -m dashboard geo import FILE`: import one boundary file, print what happened, return the exit status."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _error(t("geo.error.no_file", path=path))
        return EXIT_USAGE
    except OSError as error:
        _error(t("geo.error.unreadable", path=path, error=error.strerror or error))
        return EXIT_USAGE
    try:
        report = import_boundaries(engine, data, path.name)
    except SQLAlchemyError as error:
        _error(t("geo.error.database", error=str(error).splitlines()[0]))
        return EXIT_INVALID
    if report.file_problem:
        _error(t("geo.rejected_file", file=path, reason=report.file_problem))
        return EXIT_INVALID
    if report.problems:
        print(problem_table(report.problems), file=sys.stderr)
        _error(t("geo.rejected", file=path, problems=number(len(report.problems))))
        if report.outside_quebec:
            print(t("geo.hint.reproject"), file=sys.stderr)
        return EXIT_INVALID
    if not report.written:
        for line in _skipped_lines(report):
            print(line, file=sys.stderr)
        _error(t("geo.nothing", file=path))
        return EXIT_INVALID
    features, imported = number(report.features), number(report.imported)
    new, replaced = number(report.imported - report.replaced), number(report.replaced)
    print(t("geo.done", file=path, features=features, imported=imported, new=new, replaced=replaced))
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
