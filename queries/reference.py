"""Reference data: police services, the municipalities they serve and the partner organisations, with their dates."""

from __future__ import annotations

import csv
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, Table, delete, exists, func, inspect, select

from queries.filters import MetricFilter, Period, Scope
from queries.runner import chunks, fetch_frame
from queries.schema import (
    import_batch,
    intervention,
    membership,
    metadata,
    municipality,
    municipality_boundary,
    organisation,
    organisation_service,
    police_service,
)
from queries.scoping import service_conditions
from queries.writes import upsert

# The reference files' columns, in their order: what the Data page offers to download and takes back.
MUNICIPALITY_COLUMNS = ("code", "census_code", "name", "police_service", "population_2021", "lat", "lon",
                        "member_from", "member_until")
ORGANISATION_COLUMNS = ("code", "name_fr", "name_en", "kind", "police_services", "member_from", "member_until")

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
    """Insert or update the reference files' services, municipalities and organisations (their memberships replace
    stored ones), except a kind an administrator has replaced from the Data page."""
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
        # A database at a revision before organisations (the migrations' tests load it there) has no such batches.
        current = inspect(connection).has_table(organisation.name)
        # Once an administrator has replaced a kind from the Data page, hers is the reference: the shipped file only
        # seeds a database, and every `init-db` or `serve` would otherwise bring the old rows back.
        if current and replaced_by_upload(connection, "municipalities"):
            municipalities, memberships = [], []
        else:
            store_municipalities(connection, municipalities, memberships)
        organisations = (load_organisations(connection, read_csv(directory / "organisations.csv"))
                         if current and not replaced_by_upload(connection, "organisations") else 0)
    return ReferenceCounts(len(services), len(municipalities), len(memberships), organisations)


def replaced_by_upload(connection: Connection, kind: str) -> bool:
    """Whether an administrator has replaced this kind of reference data from the Data page."""
    return connection.scalar(select(exists().where(import_batch.c.kind == kind, import_batch.c.status == "imported",
                                                   import_batch.c.channel == "upload")))


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
    store_organisations(connection, organisations, links)
    return len(organisations)


def store_municipalities(connection: Connection, municipalities: Sequence[dict], memberships: Sequence[dict],
                         removed: Collection[str] = ()) -> None:
    """Insert or update these municipalities, replace their memberships, remove the `removed` (and their boundaries)."""
    codes = [row["code"] for row in municipalities] + list(removed)
    if municipalities:
        upsert(connection, municipality, ("code",), municipalities)
    for chunk in chunks(codes, 1000):
        connection.execute(delete(membership).where(membership.c.municipality_code.in_(chunk)))
    if memberships:
        connection.execute(membership.insert(), list(memberships))
    for chunk in chunks(list(removed), 1000):
        connection.execute(delete(municipality_boundary).where(municipality_boundary.c.municipality_code.in_(chunk)))
        connection.execute(delete(municipality).where(municipality.c.code.in_(chunk)))


def store_organisations(connection: Connection, organisations: Sequence[dict], links: Sequence[dict],
                        removed: Collection[str] = ()) -> None:
    """Insert or update these organisations, replace the services they work with, and remove the `removed` ones."""
    codes = [row["code"] for row in organisations] + list(removed)
    if organisations:
        upsert(connection, organisation, ("code",), organisations)
    if codes:
        connection.execute(delete(organisation_service).where(organisation_service.c.organisation_code.in_(codes)))
    if links:
        connection.execute(organisation_service.insert(), list(links))
    if removed:
        connection.execute(delete(organisation).where(organisation.c.code.in_(list(removed))))


def known_services(connection) -> set[str]:
    """Codes of the police services in the database."""
    return set(connection.scalars(select(police_service.c.code)))


@dataclass(frozen=True)
class StoredReference:
    """A stored municipality or organisation: its own values and its (service, from, until) periods, sorted."""

    values: dict
    memberships: tuple[tuple[str, date | None, date | None], ...]


def stored_municipalities(connection: Connection) -> dict[str, StoredReference]:
    """Every stored municipality by code, with its memberships."""
    places = {row.code: dict(row._mapping) for row in connection.execute(select(municipality))}
    periods: dict[str, list] = {code: [] for code in places}
    statement = select(membership.c.municipality_code, membership.c.police_service, membership.c.member_from,
                       membership.c.member_until)
    for code, service, start, end in connection.execute(statement):
        periods.setdefault(code, []).append((service, start, end))
    return {code: StoredReference(values, tuple(sorted(periods[code], key=_period_order)))
            for code, values in places.items()}


def _period_order(link: tuple) -> tuple:
    return (link[0], link[1] or date.min, link[2] or date.max)


def stored_organisations(connection: Connection) -> dict[str, StoredReference]:
    """Every stored organisation by code, with the services it works with as (service, from, until), sorted."""
    found = {row.code: dict(row._mapping) for row in connection.execute(select(organisation))}
    links: dict[str, list] = {code: [] for code in found}
    statement = select(organisation_service.c.organisation_code, organisation_service.c.police_service,
                       organisation_service.c.member_from, organisation_service.c.member_until)
    for code, service, start, end in connection.execute(statement):
        links.setdefault(code, []).append((service, start, end))
    return {code: StoredReference(values, tuple(sorted(links[code], key=_period_order)))
            for code, values in found.items()}


def rows_referring_to(connection: Connection, target: Table, codes: Collection[str],
                      replaced: Collection[Table] = ()) -> dict[str, dict[str, int]]:
    """For each of these codes of `target`, how many rows of each other table (not `replaced`) refer to it."""
    found: dict[str, dict[str, int]] = {}
    if not codes:
        return found
    for table in metadata.sorted_tables:
        if table is target or table in replaced:
            continue
        for key in table.foreign_keys:
            if key.column.table is not target:
                continue
            column = key.parent
            for chunk in chunks(sorted(codes), 1000):
                statement = select(column, func.count()).where(column.in_(chunk)).group_by(column)
                for code, count in connection.execute(statement):
                    found.setdefault(code, {})[table.name] = count
    return found


@dataclass(frozen=True)
class Unserved:
    """Stored interventions of a police service in a municipality that no membership would cover any more."""

    police_service: str
    municipality_code: str
    interventions: int
    first: date
    last: date


def gaps(periods: Sequence[tuple[date | None, date | None]]) -> list[tuple[date, date]]:
    """The days no period covers, as (first, last) ranges; an open end is date.min or date.max."""
    found, day = [], date.min
    for start, end in sorted(((start or date.min, end or date.max) for start, end in periods)):
        if start > day:
            found.append((day, start - timedelta(days=1)))
        if end >= day:
            if end == date.max:
                return found
            day = end + timedelta(days=1)
    return found + [(day, date.max)]


def unserved_interventions(connection: Connection,
                           periods: Mapping[tuple[str, str], Sequence[tuple[date | None, date | None]]]
                           ) -> list[Unserved]:
    """Per (service, municipality) pair and its new periods: stored interventions no period covers, first and last."""
    ranges = [(service, code, first, last) for service, code in sorted(periods)
              for first, last in gaps(periods[(service, code)])]
    found: dict[tuple[str, str], Unserved] = {}
    day = intervention.c.occurred_date
    # One statement per uncovered range, each an index range of one municipality (an OR of every pair's periods, or a
    # join with them, read every row of the service once per pair: 7 to 24 s at a million rows).
    for service, code, first, last in ranges:
        statement = select(func.count(), func.min(day), func.max(day)).where(
            intervention.c.municipality_code == code, day.between(first, last),
            intervention.c.police_service == service)
        count, earliest, latest = connection.execute(statement).one()
        if not count:
            continue
        known = found.get((service, code))
        if known is not None:
            count, earliest, latest = count + known.interventions, min(earliest, known.first), max(latest, known.last)
        found[(service, code)] = Unserved(service, code, count, earliest, latest)
    return [found[pair] for pair in sorted(found)]


def _any_time() -> MetricFilter:
    return MetricFilter(Period(date.min, date.max))


def municipality_reference(bind: Engine | Connection, scope: Scope) -> pd.DataFrame:
    """Municipalities and their memberships in the scope's services, one row per membership, as the file has them."""
    scope.require_role("admin")
    statement = (
        select(municipality.c.code, municipality.c.census_code, municipality.c.name, membership.c.police_service,
               municipality.c.population_2021, municipality.c.latitude.label("lat"),
               municipality.c.longitude.label("lon"), membership.c.member_from, membership.c.member_until)
        .select_from(municipality.outerjoin(membership, membership.c.municipality_code == municipality.c.code))
        .where(*service_conditions(membership.c.police_service, _any_time(), scope))
        .order_by(municipality.c.name, municipality.c.code, membership.c.police_service, membership.c.member_from)
    )
    return fetch_frame(bind, statement)


def organisation_reference(bind: Engine | Connection, scope: Scope) -> pd.DataFrame:
    """Partner organisations of the scope's services as the file has them: one period's services `;`-separated."""
    scope.require_role("admin")
    statement = (
        select(organisation.c.code, organisation.c.name_fr, organisation.c.name_en, organisation.c.kind,
               organisation_service.c.police_service, organisation_service.c.member_from,
               organisation_service.c.member_until)
        .select_from(organisation.outerjoin(organisation_service,
                                            organisation_service.c.organisation_code == organisation.c.code))
        .where(*service_conditions(organisation_service.c.police_service, _any_time(), scope))
        .order_by(organisation.c.code, organisation_service.c.police_service)
    )
    links = fetch_frame(bind, statement)
    keys = ["code", "name_fr", "name_en", "kind", "member_from", "member_until"]
    grouped = (links.assign(police_services=links["police_service"].fillna(""))
               .groupby(keys, dropna=False, sort=False)["police_services"]
               .agg(lambda services: ";".join(service for service in services if service))
               .reset_index())
    grouped = grouped[list(ORGANISATION_COLUMNS)].sort_values("code", kind="stable", ignore_index=True)
    # Grouping turns a missing date into NaN: back to None, as the municipalities have it.
    return grouped.astype(object).where(grouped.notna(), None)
