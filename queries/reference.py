"""Reference data: police services and the municipalities they serve, from the project's own files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, delete, inspect, select

from queries.schema import membership, municipality, organisation, organisation_service, police_service
from queries.writes import upsert

REFERENCE_DIR = Path(__file__).resolve().parent / "reference_data"


@dataclass(frozen=True)
class ReferenceCounts:
    """How many rows of each kind of reference data were loaded."""

    police_services: int
    municipalities: int
    memberships: int
    organisations: int = 0


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def optional_date(text: str) -> date | None:
    return date.fromisoformat(text) if text.strip() else None


def load_reference(engine: Engine, directory: Path = REFERENCE_DIR) -> ReferenceCounts:
    """Insert or update the reference files' services and municipalities; their memberships replace stored ones."""
    services = [
        {"code": row["code"], "name_fr": row["name_fr"], "name_en": row["name_en"]}
        for row in read_csv(directory / "police_services.csv")
    ]
    places = read_csv(directory / "municipalities.csv")
    municipalities = [
        {
            "code": row["code"],
            "census_code": row["census_code"] or None,
            "name": row["name"],
            "population_2021": int(row["population_2021"]),
            "latitude": float(row["lat"]),
            "longitude": float(row["lon"]),
        }
        for row in places
    ]
    memberships = [
        {
            "municipality_code": row["code"],
            "police_service": row["police_service"],
            "member_from": optional_date(row["member_from"]),
            "member_until": optional_date(row["member_until"]),
        }
        for row in places
    ]
    with engine.begin() as connection:
        upsert(connection, police_service, ("code",), services)
        upsert(connection, municipality, ("code",), municipalities)
        codes = [row["code"] for row in municipalities]
        connection.execute(delete(membership).where(membership.c.municipality_code.in_(codes)))
        connection.execute(membership.insert(), memberships)
        # A database at a revision before organisations (the migrations' tests load it there) takes the rest.
        organisations = (load_organisations(connection, read_csv(directory / "organisations.csv"))
                         if inspect(connection).has_table(organisation.name) else 0)
    return ReferenceCounts(len(services), len(municipalities), len(memberships), organisations)


def organisation_rows(rows: list[dict[str, str]]) -> tuple[list[dict], list[dict]]:
    """The organisations and their (organisation, service, dates) links from the reference file's rows."""
    organisations = [{"code": row["code"], "name_fr": row["name_fr"], "name_en": row["name_en"], "kind": row["kind"]}
                     for row in rows]
    links = [
        {"organisation_code": row["code"], "police_service": service.strip(),
         "member_from": optional_date(row.get("member_from") or ""),
         "member_until": optional_date(row.get("member_until") or "")}
        for row in rows
        for service in row["police_services"].split(";")
        if service.strip()
    ]
    return organisations, links


def load_organisations(connection, rows: list[dict[str, str]]) -> int:
    """Insert or update these organisations; the services they work with replace the stored ones."""
    organisations, links = organisation_rows(rows)
    if organisations:
        upsert(connection, organisation, ("code",), organisations)
        codes = [row["code"] for row in organisations]
        connection.execute(delete(organisation_service).where(organisation_service.c.organisation_code.in_(codes)))
    if links:
        connection.execute(organisation_service.insert(), links)
    return len(organisations)


def known_services(connection) -> set[str]:
    """Codes of the police services in the database."""
    return set(connection.scalars(select(police_service.c.code)))
