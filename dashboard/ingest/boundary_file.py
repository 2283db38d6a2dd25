"""Municipality boundary polygons from a GeoJSON file or a shapefile, all or nothing (`geo import`).

Accepted: a GeoJSON FeatureCollection, UTF-8 with or without BOM, in WGS84 longitude/latitude or in the system its
`crs` member names; a shapefile, zipped (.shp, .shx, .dbf, .prj, as Statistics Canada and the MRNF distribute
them) or as a .shp beside its siblings, in the system of its .prj (without one, coordinates must be degrees).
Coordinates are converted to WGS84 and outlines simplified to about 100 m (`coordinates.py`); features of another
province (PRUID other than 24, or a census code not 24xxxxx) are skipped. A feature's municipality is the first
property among CODE_PROPERTIES (in any case) holding a 5-digit Quebec geographic code, a 7-digit census
subdivision code 24xxxxx (its last five digits), or a 4-digit number (a code whose leading zero was lost). Its
geometry must be a Polygon or MultiPolygon inside QUEBEC_BOUNDS; coordinates are rounded to 5 decimals (about 1 m)
and features sharing a code are joined into one MultiPolygon. Features of municipalities not in the database, or
without such a code, are skipped and reported; one invalid geometry of a known municipality refuses the whole file.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry
from pyproj import Transformer
from sqlalchemy import Engine

from dashboard.i18n import t
from dashboard.ingest.coordinates import (
    crs_from_geojson,
    crs_from_prj,
    is_geographic_range,
    polygon_coordinates,
    polygon_geometry,
    simplified,
    to_wgs84,
    wgs84_transformer,
)
from dashboard.ingest.problems import InvalidValue
from dashboard.ingest.shapefiles import ShapefileLayer, is_shapefile, is_zip, open_layer
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
PROVINCE_PROPERTY = "pruid"
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
    outside_province: int = 0
    layer: str | None = None
    converted_from: str | None = None
    vertices_read: int = 0
    vertices_kept: int = 0
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



@dataclass(frozen=True)
class SourceFeature:
    """One entry of a boundary file: its number (from 1), its properties, and how to read its geometry."""

    position: int
    properties: Any
    geometry: Callable[[], tuple[Any, int]] | None
    """Reads the simplified GeoJSON geometry in WGS84 and the number of vertices read; None: not a feature."""


@dataclass
class BoundarySource:
    """The features of one file, with the coordinate system they are converted from and the layer read."""

    features: Iterable[SourceFeature]
    count: int
    converted_from: str | None = None
    layer: str | None = None


def read_document(data: bytes) -> dict[str, Any]:
    """A GeoJSON FeatureCollection, checked to have features."""
    if not data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
        raise InvalidValue("geo.file.unknown_format")
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
    return document


def geojson_source(data: bytes) -> BoundarySource:
    """The features of a GeoJSON file, converted from the system its `crs` member names, if any."""
    document = read_document(data)
    crs = crs_from_geojson(document.get("crs"))
    transformer = wgs84_transformer(crs)
    features = [
        SourceFeature(
            position,
            item.get("properties"),
            (lambda item=item: _geojson_geometry(item.get("geometry"), transformer)),
        )
        if isinstance(item, dict) and item.get("type") == "Feature"
        else SourceFeature(position, None, None)
        for position, item in enumerate(document["features"], start=1)
    ]
    return BoundarySource(features, len(features), converted_from=crs.name if transformer else None)


def _geojson_geometry(geometry: Any, transformer: Transformer | None) -> tuple[Any, int]:
    if transformer is None:
        polygons = boundary_polygons(geometry)
        return _simplified_geometry(polygon_geometry(polygons)), _vertices(polygons)
    if not isinstance(geometry, dict):
        raise InvalidValue("geo.reason.no_geometry")
    if geometry.get("type") not in GEOMETRY_TYPES:
        raise InvalidValue("geo.reason.geometry_type", type=geometry.get("type"))
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.GEOSException):
        raise InvalidValue("geo.reason.coordinates") from None
    return _wgs84_geometry(shape, transformer)


def _wgs84_geometry(shape: shapely.Geometry, transformer: Transformer | None) -> tuple[Any, int]:
    # Simplified before the vertex-by-vertex checks: a full-resolution outline has thousands of vertices.
    return _simplified_geometry(to_wgs84(shape, transformer)), int(shapely.get_num_coordinates(shape))


def _simplified_geometry(shape: shapely.Geometry) -> dict[str, Any]:
    polygons = polygon_coordinates(simplified(shape))
    if not polygons:
        raise InvalidValue("geo.reason.too_small")
    return as_geometry(polygons)


def shapefile_source(layer: ShapefileLayer) -> BoundarySource:
    """The features of a shapefile layer, converted from the system of its .prj."""
    if layer.prj is not None and layer.prj.strip():
        crs = crs_from_prj(layer.prj)
    elif is_geographic_range(layer.bounds):
        crs = None
    else:
        west, south, east, north = layer.bounds
        x, y = f"{west:.0f} … {east:.0f}", f"{south:.0f} … {north:.0f}"
        raise InvalidValue("geo.file.no_prj", layer=layer.name, x=x, y=y)
    transformer = wgs84_transformer(crs)

    def geometry(index: int) -> tuple[Any, int]:
        shape = layer.geometry(index)
        if shape is None:
            raise InvalidValue("geo.reason.no_geometry")
        return _wgs84_geometry(shape, transformer)

    def features() -> Iterator[SourceFeature]:
        for index, properties in enumerate(layer.records()):
            yield SourceFeature(index + 1, properties, lambda index=index: geometry(index))

    return BoundarySource(
        features(), len(layer.reader), converted_from=crs.name if transformer else None, layer=layer.name
    )


def _vertices(polygons: list[PolygonRings]) -> int:
    return sum(len(ring) for polygon in polygons for ring in polygon)


def outside_province(properties: Any) -> bool:
    """Whether a feature belongs to another province: PRUID other than 24, or a census code not 24xxxxx."""
    if not isinstance(properties, dict):
        return False
    by_name = {str(name).lower(): value for name, value in properties.items()}
    province = by_name.get(PROVINCE_PROPERTY)
    if province not in (None, "") and str(province).strip() != QUEBEC_CENSUS_PREFIX:
        return True
    census = str(by_name.get("csduid") or "").strip()
    return len(census) == 7 and census.isdigit() and not census.startswith(QUEBEC_CENSUS_PREFIX)


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
        shown = {"longitude": round(longitude, DECIMALS), "latitude": round(latitude, DECIMALS)}
        raise InvalidValue("geo.reason.outside_quebec", **shown)
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


def _check_features(
    source: BoundarySource, names: dict[str, str], report: BoundaryReport
) -> dict[str, list[PolygonRings]]:
    polygons: dict[str, list[PolygonRings]] = {}
    feature_counts: Counter[str] = Counter()
    for feature in source.features:
        position = feature.position
        if feature.geometry is None:
            report.problems.append(FeatureProblem(position, "", t("geo.reason.not_feature"), "geo.reason.not_feature"))
            continue
        if outside_province(feature.properties):
            report.outside_province += 1
            continue
        code, shown = feature_code(feature.properties)
        if code is None:
            report.without_code.append(f"#{position}" + (f" ({shown})" if shown else ""))
            continue
        if code not in names:
            report.unknown.append(code)
            continue
        try:
            geometry, read = feature.geometry()
            checked = boundary_polygons(geometry)
        except InvalidValue as invalid:
            report.problems.append(FeatureProblem(position, code, str(invalid), invalid.key))
            continue
        report.vertices_read += read
        report.vertices_kept += _vertices(checked)
        polygons.setdefault(code, []).extend(checked)
        feature_counts[code] += 1
    report.merged = sorted(code for code, count in feature_counts.items() if count > 1)
    return polygons


def import_boundaries(engine: Engine, data: bytes, file_name: str) -> BoundaryReport:
    """Check every feature of a GeoJSON file, then store them all in one transaction, or none if any is invalid."""
    report = BoundaryReport(file_name)
    try:
        source = geojson_source(data)
    except InvalidValue as invalid:
        report.file_problem = str(invalid)
        return report
    return _import(engine, source, hashlib.sha256(data).hexdigest(), report)


def import_boundary_file(engine: Engine, path: Path, layer: str | None = None) -> BoundaryReport:
    """Import a GeoJSON file, a zipped shapefile or a .shp beside its siblings (OSError if it cannot be read)."""
    with path.open("rb") as file:
        head = file.read(4)
    if not (is_zip(head) or is_shapefile(head) or path.suffix.lower() == ".shp"):
        return import_boundaries(engine, path.read_bytes(), path.name)
    report = BoundaryReport(path.name)
    try:
        with open_layer(path, layer, CODE_PROPERTIES) as opened:
            return _import(engine, shapefile_source(opened), file_sha256(path), report)
    except InvalidValue as invalid:
        report.file_problem = str(invalid)
        return report


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _import(engine: Engine, source: BoundarySource, sha256: str, report: BoundaryReport) -> BoundaryReport:
    report.features, report.layer, report.converted_from = source.count, source.layer, source.converted_from
    with engine.connect() as connection:
        known = municipalities(connection)
    names = dict(zip(known["code"], known["name"]))
    # Read and checked before the write transaction opens: a Canada-wide file takes seconds to go through.
    polygons = _check_features(source, names, report)
    if report.problems or not polygons:
        return report
    imported_at = datetime.now(UTC)
    rows = [
        {
            "municipality_code": code,
            "geometry": as_geometry(polygons[code]),
            "source_file": report.file_name,
            "source_sha256": sha256,
            "imported_at": imported_at,
        }
        for code in sorted(polygons)
    ]
    with engine.begin() as connection:
        stored_before = boundary_codes(connection)
        replace_boundaries(connection, rows)
    report.imported, report.replaced = len(rows), len(stored_before & polygons.keys())
    still_without = sorted(names.keys() - stored_before - polygons.keys())
    report.without_boundary = [f"{code} {names[code]}" for code in still_without]
    report.municipalities = len(names)
    return report
