"""Municipality boundary polygons from a GeoJSON file, all or nothing (`python -m dashboard geo import`).

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
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from dashboard.i18n import t
from dashboard.ingest.problems import InvalidValue
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



def read_features(data: bytes) -> list:
    """The features of a GeoJSON FeatureCollection."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidValue("geo.file.not_utf8") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidValue("geo.file.not_json", line=error.lineno, column=error.colno) from None
    if not (
        isinstance(document, dict)
        and document.get("type") == "FeatureCollection"
        and isinstance(document.get("features"), list)
    ):
        raise InvalidValue("geo.file.not_feature_collection")
    if not document["features"]:
        raise InvalidValue("geo.file.empty")
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
        raise InvalidValue("geo.reason.coordinates")
    longitude, latitude = value[0], value[1]
    (west, east), (south, north) = QUEBEC_BOUNDS
    if not (west <= longitude <= east and south <= latitude <= north):
        raise InvalidValue("geo.reason.outside_quebec", longitude=longitude, latitude=latitude)
    return [round(longitude, DECIMALS), round(latitude, DECIMALS)]


def _ring(value: Any) -> list[list[float]] | None:
    if not (isinstance(value, list) and len(value) >= 4):
        raise InvalidValue("geo.reason.coordinates")
    positions = [_position(position) for position in value]
    if positions[0] != positions[-1]:
        raise InvalidValue("geo.reason.ring_open")
    kept = [position for index, position in enumerate(positions) if index == 0 or position != positions[index - 1]]
    # Rounding merges neighbouring vertices; a ring that collapses is smaller than the precision kept.
    return kept if len(kept) >= 4 else None


def _polygon(value: Any) -> PolygonRings | None:
    if not (isinstance(value, list) and value):
        raise InvalidValue("geo.reason.coordinates")
    exterior, *holes = [_ring(ring) for ring in value]
    if exterior is None:
        return None
    return [exterior, *(hole for hole in holes if hole is not None)]


def boundary_polygons(geometry: Any) -> list[PolygonRings]:
    """The polygons of a Polygon or MultiPolygon geometry, checked and rounded to 5 decimals."""
    if not isinstance(geometry, dict):
        raise InvalidValue("geo.reason.no_geometry")
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        raise InvalidValue("geo.reason.geometry_type", type=kind)
    coordinates = geometry.get("coordinates")
    if kind == "MultiPolygon" and not (isinstance(coordinates, list) and coordinates):
        raise InvalidValue("geo.reason.coordinates")
    polygons = [_polygon(polygon) for polygon in (coordinates if kind == "MultiPolygon" else [coordinates])]
    kept = [polygon for polygon in polygons if polygon is not None]
    if not kept:
        raise InvalidValue("geo.reason.too_small")
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
        except InvalidValue as invalid:
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
    except InvalidValue as invalid:
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
