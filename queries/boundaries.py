"""Municipality boundary polygons: GeoJSON geometries stored as JSON text, one per municipality."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, select

from queries.runner import LOOKUP_CHUNK, chunks, fetch_frame
from queries.schema import municipality_boundary
from queries.writes import upsert

BOUNDARY_KEY = ("municipality_code",)


def geometry_json(geometry: dict[str, Any]) -> str:
    """A GeoJSON geometry as the compact JSON text the table stores."""
    return json.dumps(geometry, separators=(",", ":"))


def replace_boundaries(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store these boundaries (geometry as a GeoJSON dict), replacing each municipality's stored one."""
    if not rows:
        return
    stored = [{**row, "geometry": geometry_json(row["geometry"])} for row in rows]
    upsert(connection, municipality_boundary, BOUNDARY_KEY, stored)


def boundary_statement(codes: Sequence[str]) -> Select:
    """The code and geometry text of these municipalities' stored boundaries."""
    return select(municipality_boundary.c.municipality_code, municipality_boundary.c.geometry).where(
        municipality_boundary.c.municipality_code.in_(codes)
    )


def boundaries(bind: Engine | Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Municipality code → GeoJSON geometry dict, for those of these municipalities that have a boundary."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(codes)), LOOKUP_CHUNK):
        frame = fetch_frame(bind, boundary_statement(chunk))
        found.update(zip(frame["municipality_code"], map(json.loads, frame["geometry"])))
    return found


def boundary_codes(bind: Engine | Connection) -> set[str]:
    """Codes of the municipalities that have a stored boundary."""
    return set(fetch_frame(bind, select(municipality_boundary.c.municipality_code))["municipality_code"])
