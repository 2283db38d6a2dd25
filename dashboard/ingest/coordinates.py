"""A boundary file's coordinate system, conversion to WGS84 longitude/latitude, and simplification to about 100 m.

A shapefile states its system in its .prj (Statistics Canada: NAD83 / Statistics Canada Lambert, EPSG:3347; MRNF:
NAD83 geographic, EPSG:4269), a GeoJSON file in its optional `crs` member (GeoJSON without one is WGS84). PROJ's
own database (inside pyproj) does the conversion: no grid is downloaded, so it works on a machine with no
internet, where NAD83 and WGS84 are taken as equal (they differ by about a metre in Quebec, far below 100 m).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from pyproj.network import set_network_enabled

from dashboard.ingest.problems import InvalidValue

WGS84 = CRS.from_epsg(4326)
WGS84_NAMES = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "OGC:CRS84", "CRS84")
SIMPLIFY_METRES = 100.0
METRES_PER_DEGREE = 111_320.0
"""Length of one degree of latitude (and of longitude at the equator)."""
GEOGRAPHIC_RANGE = ((-180.0, 180.0), (-90.0, 90.0))

PolygonRings = list[list[list[float]]]


def crs_from_prj(text: str) -> CRS:
    """The coordinate system of a shapefile's .prj text (ESRI or OGC WKT)."""
    try:
        return CRS.from_wkt(text.strip())
    except CRSError as error:
        raise InvalidValue("geo.file.unknown_crs", source=".prj", error=_first_line(error)) from None


def crs_from_geojson(member: Any) -> CRS | None:
    """The coordinate system a GeoJSON `crs` member names (2008 specification), or None for WGS84."""
    if member is None:
        return None
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    if not isinstance(name, str):
        raise InvalidValue("geo.file.unknown_crs", source="crs", error=str(member)[:80])
    if name.strip() in WGS84_NAMES:
        return None
    try:
        return CRS.from_user_input(name.strip())
    except CRSError as error:
        raise InvalidValue("geo.file.unknown_crs", source="crs", error=_first_line(error)) from None


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def is_geographic_range(bounds: tuple[float, float, float, float]) -> bool:
    """Whether (west, south, east, north) could be longitudes and latitudes in degrees."""
    west, south, east, north = bounds
    (low_x, high_x), (low_y, high_y) = GEOGRAPHIC_RANGE
    return all(math.isfinite(value) for value in bounds) and low_x <= west <= east <= high_x and (
        low_y <= south <= north <= high_y
    )


def wgs84_transformer(crs: CRS | None) -> Transformer | None:
    """A transformer from this system to WGS84 longitude/latitude, or None when coordinates are already so."""
    if crs is None or crs == WGS84:
        return None
    # PROJ_NETWORK=ON in the environment would let PROJ fetch grids: the same file must give the same outlines.
    set_network_enabled(active=False)
    try:
        return Transformer.from_crs(crs, WGS84, always_xy=True)
    except CRSError as error:
        raise InvalidValue("geo.file.unknown_crs", source=crs.name, error=_first_line(error)) from None


def to_wgs84(geometry: shapely.Geometry, transformer: Transformer | None) -> shapely.Geometry:
    """The geometry's coordinates converted to WGS84 longitude/latitude."""
    if transformer is None:
        return geometry

    def convert(positions: np.ndarray) -> np.ndarray:
        longitudes, latitudes = transformer.transform(positions[:, 0], positions[:, 1])
        return np.column_stack([longitudes, latitudes])

    return shapely.transform(geometry, convert)


def polygon_geometry(polygons: PolygonRings | list[PolygonRings]) -> shapely.Geometry:
    """A shapely (Multi)Polygon from GeoJSON polygon coordinates: a list of polygons, each a list of rings."""
    return shapely.MultiPolygon([shapely.Polygon(rings[0], rings[1:]) for rings in polygons])


def simplified(geometry: shapely.Geometry, metres: float = SIMPLIFY_METRES) -> shapely.Geometry:
    """The longitude/latitude geometry without the vertices that move its outline by less than `metres`."""
    if geometry.is_empty:
        return geometry
    west, south, east, north = geometry.bounds
    # A degree of longitude shrinks with latitude: squeeze longitudes so one tolerance means metres both ways.
    squeeze = np.array([max(math.cos(math.radians((south + north) / 2)), 0.01), 1.0])
    flat = shapely.transform(geometry, lambda positions: positions * squeeze)
    tolerance = metres / METRES_PER_DEGREE
    kept = shapely.simplify(flat, tolerance, preserve_topology=False)
    if not kept.is_valid or kept.is_empty:
        # Plain Douglas-Peucker is twice as fast but can cross an outline over itself; then keep the topology.
        kept = shapely.simplify(flat, tolerance, preserve_topology=True)
    return shapely.transform(kept, lambda positions: positions / squeeze)


def polygon_coordinates(geometry: shapely.Geometry) -> list[PolygonRings]:
    """The GeoJSON coordinates of each polygon of a Polygon or MultiPolygon, as lists."""
    parts = geometry.geoms if isinstance(geometry, shapely.MultiPolygon) else [geometry]
    return [
        [shapely.get_coordinates(ring).tolist() for ring in (part.exterior, *part.interiors)]
        for part in parts
        if isinstance(part, shapely.Polygon) and not part.is_empty
    ]
