"""Cases workers entered by hand that no police file has brought yet: listed for the administrators."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, Select, select

from queries.filters import MetricFilter, Scope
from queries.runner import fetch_frame
from queries.schema import intervention, municipality
from queries.scoping import service_conditions

SECONDS_PER_DAY = 24 * 3600


def unconfirmed_statement(flt: MetricFilter, scope: Scope, now: datetime, days: int) -> Select:
    """Hand entries of the scope entered at least `days` days before `now` and still unconfirmed, oldest first;
    never their event number (the administrator sees no case-level data)."""
    scope.require_role("admin")
    place_name = select(municipality.c.name).where(
        municipality.c.code == intervention.c.municipality_code).scalar_subquery()
    conditions = [
        *service_conditions(intervention.c.police_service, flt, scope),
        intervention.c.entered_by.is_not(None),
        intervention.c.confirmed_at.is_(None),
        intervention.c.entered_at <= now - timedelta(days=days),
    ]
    if flt.municipalities:
        conditions.append(intervention.c.municipality_code.in_(flt.municipalities))
    return (
        select(intervention.c.police_service, place_name.label("municipality"), intervention.c.entered_at,
               intervention.c.entered_by)
        .where(*conditions)
        .order_by(intervention.c.entered_at, intervention.c.id)
    )


def unconfirmed_entries(bind: Engine | Connection, flt: MetricFilter, scope: Scope, now: datetime,
                        days: int) -> pd.DataFrame:
    """Police service, municipality, when and by whom each old unconfirmed hand entry was made, and its age in whole
    days."""
    frame = fetch_frame(bind, unconfirmed_statement(flt, scope, now, days))
    frame["age_days"] = [int((now - entered).total_seconds() // SECONDS_PER_DAY) for entered in frame["entered_at"]]
    return frame
