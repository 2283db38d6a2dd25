"""The WHERE clauses that confine every query to the viewer's scope and the chosen filter."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, and_, exists, false, or_, select, true

from queries.filters import MetricFilter, Scope
from queries.schema import membership


def service_conditions(service_column, flt: MetricFilter, scope: Scope) -> list[ColumnElement]:
    """Police-service conditions: the services of the viewer's scope (deny by default) that the filter chose."""
    if scope.all_services:
        return [service_column.in_(flt.services)] if flt.services else []
    # One list, not the scope's and the filter's: PostgreSQL takes two conditions on one column as two independent
    # narrowings and expects too few rows (a plan that took 76 s for one municipality; see queries/cohort.py).
    allowed = sorted(set(scope.services) & set(flt.services)) if flt.services else sorted(scope.services)
    return [service_column.in_(allowed) if allowed else false()]


def intervention_conditions(table: Table, flt: MetricFilter, scope: Scope) -> list[ColumnElement]:
    """Scope, service and municipality conditions on an intervention table (or alias)."""
    # Every figure is counted from interventions: a scope that may only see suppressed figures, or that carries no
    # role at all (a Scope built by mistake), stops here.
    if not scope.exact_figures:
        raise PermissionError("this viewer may read suppressed figures only (queries.report)")
    conditions = service_conditions(table.c.police_service, flt, scope)
    if flt.municipalities:
        conditions.append(table.c.municipality_code.in_(flt.municipalities))
    return conditions


def served_in_period(municipality_code_column, flt: MetricFilter, scope: Scope) -> ColumnElement:
    """True for a municipality that belongs to the scope at some time in the filter's period."""
    period = flt.period
    overlaps = and_(
        or_(membership.c.member_from.is_(None), membership.c.member_from <= period.end),
        or_(membership.c.member_until.is_(None), membership.c.member_until >= period.start),
    )
    chosen = membership.c.municipality_code.in_(flt.municipalities) if flt.municipalities else true()
    return exists(
        select(membership.c.id).where(
            membership.c.municipality_code == municipality_code_column,
            overlaps,
            chosen,
            *service_conditions(membership.c.police_service, flt, scope),
        )
    )
