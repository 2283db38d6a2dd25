"""Police services and municipalities known to the database, for validating what a user asks for."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select

from queries.runner import fetch_frame
from queries.schema import membership, municipality, police_service


def police_services(bind: Engine | Connection):
    """Every police service: code and names."""
    return fetch_frame(bind, select(police_service).order_by(police_service.c.code))


def municipalities(bind: Engine | Connection):
    """Every municipality: code, name, 2021 population and centroid."""
    return fetch_frame(bind, select(municipality).order_by(municipality.c.code))


def canonical_service(bind: Engine | Connection, code: str) -> str | None:
    """The stored code of a police service named in any case, or None when unknown."""
    frame = fetch_frame(
        bind, select(police_service.c.code).where(func.upper(police_service.c.code) == code.strip().upper())
    )
    return None if frame.empty else str(frame.iloc[0, 0])


def services_of_municipality(bind: Engine | Connection, code: str) -> set[str] | None:
    """The services that have ever served a municipality, or None when the code is unknown."""
    known = fetch_frame(bind, select(municipality.c.code).where(municipality.c.code == code))
    if known.empty:
        return None
    served = fetch_frame(bind, select(membership.c.police_service).where(membership.c.municipality_code == code))
    return set(served["police_service"])
