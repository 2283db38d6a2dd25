"""Esri shapefiles as the agencies distribute them: a .zip of .shp/.shx/.dbf/.prj, or a .shp beside its siblings.

Only the attribute table is read whole (a few thousand rows); a shape is read when asked for, through the .shx
index, in the file's order, so a Canada-wide file inside a zip is decompressed as a stream, never held in memory.
"""

from __future__ import annotations

import codecs
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np
import shapefile
import shapely

from dashboard.ingest.problems import InvalidValue

ZIP_SIGNATURE = b"PK\x03\x04"
SHAPEFILE_SIGNATURE = struct.pack(">i", 9994)
REQUIRED_MEMBERS = (".shp", ".shx", ".dbf")
OPTIONAL_MEMBERS = (".prj", ".cpg")
POLYGON_TYPES = (shapefile.POLYGON, shapefile.POLYGONZ, shapefile.POLYGONM)
READ_ERRORS = (shapefile.ShapefileException, struct.error, zipfile.BadZipFile, zlib.error, EOFError, ValueError)
PROVINCE_FIELD = "pruid"


@dataclass
class ShapefileLayer:
    """One open layer: its name, attribute fields kept, coordinate system text, bounds and shapes."""

    name: str
    reader: shapefile.Reader
    fields: list[str]
    prj: str | None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of every shape, from the .shp header."""
        west, south, east, north = self.reader.bbox
        return (west, south, east, north)

    def records(self) -> Iterator[dict[str, Any]]:
        """The kept attributes of every record, in the file's order."""
        try:
            for record in self.reader.iterRecords(fields=self.fields):
                yield {} if record is None else record.as_dict()
        except READ_ERRORS as error:
            raise InvalidValue("geo.file.bad_shapefile", layer=self.name, error=error) from None

    def geometry(self, index: int) -> shapely.Geometry | None:
        """The (Multi)Polygon of shape `index`, in the file's coordinates, or None for a null shape."""
        try:
            shape = self.reader.shape(index)
        except READ_ERRORS as error:
            raise InvalidValue("geo.file.bad_shapefile", layer=self.name, error=error) from None
        if shape is None or shape.shapeType == shapefile.NULL or not shape.points:
            return None
        try:
            return rings_polygon(np.asarray(shape.points, dtype=float)[:, :2], list(shape.parts))
        except (ValueError, shapely.errors.GEOSException):
            raise InvalidValue("geo.reason.coordinates") from None


def rings_polygon(points: np.ndarray, parts: list[int]) -> shapely.Geometry:
    """A shapefile polygon's rings as a (Multi)Polygon: clockwise rings are outer, the others holes of one."""
    bounds = [*parts, len(points)]
    rings = [points[start:end] for start, end in zip(bounds, bounds[1:])]
    if any(len(ring) < 4 for ring in rings):
        raise InvalidValue("geo.reason.coordinates")
    outer = [ring for ring in rings if _signed_area(ring) <= 0]
    holes = [ring for ring in rings if _signed_area(ring) > 0]
    if not outer:
        # Some writers ignore the orientation rule: take every ring as an outer one.
        outer, holes = rings, []
    if len(outer) == 1:
        return shapely.Polygon(outer[0], holes)
    shells = [shapely.Polygon(ring) for ring in outer]
    inside: list[list[np.ndarray]] = [[] for _ in shells]
    for hole in holes:
        point = shapely.Point(hole[0])
        owner = next((number for number, shell in enumerate(shells) if shell.covers(point)), None)
        if owner is not None:
            inside[owner].append(hole)
    return shapely.MultiPolygon([shapely.Polygon(ring, own) for ring, own in zip(outer, inside)])


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 2


def is_zip(head: bytes) -> bool:
    """Whether a file starting with these bytes is a zip archive."""
    return head.startswith(ZIP_SIGNATURE)


def is_shapefile(head: bytes) -> bool:
    """Whether a file starting with these bytes is a .shp main file."""
    return head.startswith(SHAPEFILE_SIGNATURE)


@dataclass(frozen=True)
class _Members:
    """The files of one layer: extension → how to open it."""

    name: str
    openers: dict[str, Callable[[], IO[bytes]]]


def _zip_layers(archive: zipfile.ZipFile) -> list[_Members]:
    by_stem: dict[str, dict[str, Callable[[], IO[bytes]]]] = {}
    names: dict[str, str] = {}
    for info in archive.infolist():
        member = PurePosixPath(info.filename)
        if info.is_dir() or "__MACOSX" in member.parts or member.name.startswith("._"):
            continue
        extension = member.suffix.lower()
        if extension in REQUIRED_MEMBERS + OPTIONAL_MEMBERS:
            stem = str(member.with_suffix("")).lower()
            names.setdefault(stem, member.stem)
            by_stem.setdefault(stem, {})[extension] = lambda info=info: archive.open(info)
    return [_Members(names[stem], openers) for stem, openers in sorted(by_stem.items()) if ".shp" in openers]


def _sibling_layer(path: Path) -> _Members:
    stem = path.stem.lower()
    siblings = {
        candidate.suffix.lower(): candidate
        for candidate in path.parent.iterdir()
        if candidate.is_file() and candidate.stem.lower() == stem
    }
    siblings[".shp"] = path
    return _Members(path.stem, {extension: (lambda file=file: file.open("rb")) for extension, file in siblings.items()})


@contextmanager
def _zip(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise InvalidValue("geo.file.not_zip", error=error) from None
    with archive:
        yield archive


def _layer_kind(members: _Members, stack: ExitStack, code_fields: Sequence[str]) -> tuple[shapefile.Reader, list[str]]:
    missing = [extension for extension in REQUIRED_MEMBERS if extension not in members.openers]
    if missing:
        raise InvalidValue("geo.file.missing_members", layer=members.name, members=", ".join(missing))
    cpg = members.openers.get(".cpg")
    try:
        encoding = None
        if cpg is not None:
            with cpg() as file:
                encoding = file.read(40).decode("ascii", "replace").strip() or None
        reader = shapefile.Reader(
            shp=stack.enter_context(members.openers[".shp"]()),
            shx=stack.enter_context(members.openers[".shx"]()),
            dbf=stack.enter_context(members.openers[".dbf"]()),
            # Only codes are read: a name in an unexpected encoding must not refuse the file.
            encoding=_known_encoding(encoding),
            encodingErrors="replace",
        )
        field_names = [field.name for field in reader.fields[1:]]
    except READ_ERRORS as error:
        raise InvalidValue("geo.file.bad_shapefile", layer=members.name, error=error) from None
    wanted = {name.lower() for name in code_fields} | {PROVINCE_FIELD}
    return reader, [name for name in field_names if name.lower() in wanted]


def _known_encoding(name: str | None) -> str:
    try:
        return codecs.lookup(name).name if name else "utf-8"
    except LookupError:
        return "latin-1"


def _has_code(fields: list[str], code_fields: Sequence[str]) -> bool:
    return any(name.lower() in {code.lower() for code in code_fields} for name in fields)


@contextmanager
def open_layer(path: Path, layer: str | None, code_fields: Sequence[str]) -> Iterator[ShapefileLayer]:
    """The polygon layer with a municipality code field, in a .zip or a .shp beside its siblings."""
    with ExitStack() as stack:
        if path.suffix.lower() == ".shp" or not is_zip(_head(path)):
            candidates = [_sibling_layer(path)]
        else:
            candidates = _zip_layers(stack.enter_context(_zip(path)))
            if not candidates:
                raise InvalidValue("geo.file.no_shapefile")
        if layer is not None:
            chosen = [members for members in candidates if members.name.lower() == layer.lower()]
            if not chosen:
                names = ", ".join(members.name for members in candidates)
                raise InvalidValue("geo.file.unknown_layer", layer=layer, layers=names)
            candidates = chosen
        readable = []
        for members in candidates:
            try:
                reader, fields = _layer_kind(members, stack, code_fields)
            except InvalidValue:
                # Another layer of the archive (a line layer, a legend) may be incomplete: only the one read counts.
                if len(candidates) == 1:
                    raise
                continue
            if reader.shapeType in POLYGON_TYPES and _has_code(fields, code_fields):
                readable.append((members, reader, fields))
        if not readable:
            names = ", ".join(members.name for members in candidates)
            raise InvalidValue("geo.file.no_layer", layers=names, properties=", ".join(code_fields))
        if len(readable) > 1:
            raise InvalidValue("geo.file.several_layers", layers=", ".join(item[0].name for item in readable))
        members, reader, fields = readable[0]
        prj = None
        if ".prj" in members.openers:
            with members.openers[".prj"]() as file:
                prj = file.read().decode("utf-8-sig", "replace")
        yield ShapefileLayer(members.name, reader, fields, prj)


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(4)
