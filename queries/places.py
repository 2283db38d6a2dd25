"""Police services and municipalities known to the database, for validating what a user asks for."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Connection, Engine, func, or_, select

from queries.filters import MetricFilter, Period, Scope
from queries.runner import fetch_frame
from queries.schema import membership, municipality, police_service
from queries.scoping import service_conditions


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


def municipalities_in_scope(bind: Engine | Connection, scope: Scope) -> pd.DataFrame:
    """The municipalities a viewer may filter on: code, name and the police service serving it."""
    statement = (
        select(municipality.c.code, municipality.c.name, membership.c.police_service)
        .join(membership, membership.c.municipality_code == municipality.c.code)
        .where(*service_conditions(membership.c.police_service, MetricFilter(Period(date.min, date.max)), scope))
        .distinct()
        .order_by(municipality.c.name)
    )
    return fetch_frame(bind, statement)


def services_in_scope(bind: Engine | Connection, scope: Scope) -> pd.DataFrame:
    """The police services a viewer may choose: code and names."""
    statement = select(police_service).where(
        *service_conditions(police_service.c.code, MetricFilter(Period(date.min, date.max)), scope)
    ).order_by(police_service.c.code)
    return fetch_frame(bind, statement)


def members_on(bind: Engine | Connection, flt: MetricFilter, scope: Scope, day: date) -> pd.DataFrame:
    """The municipalities the scope's services (those the filter chose) serve on a day: code, name, police service."""
    statement = (
        select(municipality.c.code, municipality.c.name, membership.c.police_service)
        .join(membership, membership.c.municipality_code == municipality.c.code)
        .where(*service_conditions(membership.c.police_service, flt, scope),
               or_(membership.c.member_from.is_(None), membership.c.member_from <= day),
               or_(membership.c.member_until.is_(None), membership.c.member_until >= day))
        .distinct()
        .order_by(municipality.c.name, membership.c.police_service)
    )
    return fetch_frame(bind, statement)
