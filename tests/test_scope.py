"""Role × query grid: a viewer's police services confine every query function, in SQL, on both databases."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select

from auth.viewer import viewer_from_claims
from queries.audit import AuditFilter, audit_events, record_event
from queries.filters import MetricFilter, Period, Scope
from queries.interventions import intervention_totals, interventions_by_municipality, interventions_by_week
from queries.outreach import outreach_summary
from queries.schema import audit_event, intervention
from queries.scoping import service_conditions
from tests.hand_made import load_hand_made

MARCH = Period(date(2024, 3, 4), date(2024, 3, 17))
QUERIES = (intervention_totals, interventions_by_municipality, interventions_by_week, outreach_summary)
SAGUENAY = "94068"


@pytest.fixture
def loaded(engine):
    return load_hand_made(engine)


def _same(left, right) -> bool:
    return left.equals(right) if hasattr(left, "equals") else left == right


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.__name__)
@pytest.mark.parametrize("service", ["RIPRSL", "SPS"])
@pytest.mark.parametrize("role", ["captain", "director", "worker", "admin"])
def test_a_viewer_of_one_service_gets_exactly_that_service(loaded, query, service, role):
    viewer = viewer_from_claims({"sub": "v", "roles": [role], "police_services": [service]})
    mine = query(loaded, MetricFilter(MARCH), viewer.scope)
    assert _same(mine, query(loaded, MetricFilter(MARCH, services=(service,)), Scope.everything()))
    # Asking for the other service through the filter cannot widen the scope: the answer is empty.
    other = "SPS" if service == "RIPRSL" else "RIPRSL"
    asked = query(loaded, MetricFilter(MARCH, services=(other,)), viewer.scope)
    assert _same(asked, query(loaded, MetricFilter(MARCH), Scope.of()))


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.__name__)
def test_a_funder_alone_is_refused_every_exact_figure_before_any_sql(loaded, query):
    funder = viewer_from_claims({"sub": "f", "roles": ["funder"], "police_services": ["*"]})
    with pytest.raises(PermissionError, match="suppressed figures only"):
        query(loaded, MetricFilter(MARCH), funder.scope)
    # With another role beside it, the exact figures are that role's.
    both = viewer_from_claims({"sub": "d", "roles": ["funder", "director"], "police_services": ["*"]})
    assert _same(query(loaded, MetricFilter(MARCH), both.scope), query(loaded, MetricFilter(MARCH), Scope.everything()))


def test_the_empty_scope_reads_nothing(loaded):
    flt = MetricFilter(MARCH)
    assert intervention_totals(loaded, flt, Scope.of()).total == 0
    assert interventions_by_municipality(loaded, flt, Scope.of()).empty
    assert set(interventions_by_week(loaded, flt, Scope.of())["interventions"]) == {0}
    assert outreach_summary(loaded, flt, Scope.of()).cohort == 0


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.__name__)
@pytest.mark.parametrize("scope", [Scope(all_services=True), Scope(services=frozenset({"RIPRSL", "SPS"}))])
def test_a_scope_without_a_role_is_refused_before_any_sql(loaded, query, scope):
    """Fail closed: a Scope built without roles (by mistake) reads nothing, rather than every exact figure."""
    with pytest.raises(PermissionError):
        query(loaded, MetricFilter(MARCH), scope)


def test_the_regie_never_shows_saguenay(loaded):
    rows = interventions_by_municipality(loaded, MetricFilter(MARCH), Scope.of("RIPRSL"))
    assert SAGUENAY not in set(rows["code"]) and len(rows) == 17
    saguenay = interventions_by_municipality(loaded, MetricFilter(MARCH), Scope.of("SPS"))
    assert list(saguenay["code"]) == [SAGUENAY] and list(saguenay["interventions"]) == [1]


@pytest.mark.parametrize("role", ["captain", "director", "worker", "funder"])
def test_only_administrators_read_the_audit_trail(engine, role):
    record_event(engine, subject="alice", roles=("captain",), action="view", page="overview")
    viewer = viewer_from_claims({"sub": "v", "roles": [role], "police_services": ["*"]})
    with pytest.raises(PermissionError):
        audit_events(engine, AuditFilter(date(2000, 1, 1), date(2100, 1, 1)), viewer.scope)
    admin = viewer_from_claims({"sub": "a", "roles": ["admin"], "police_services": ["*"]})
    shown = audit_events(engine, AuditFilter(date(2000, 1, 1), date(2100, 1, 1)), admin.scope)
    assert list(shown["subject"]) == ["alice"]


@pytest.mark.parametrize(("scope", "chosen", "expected"), [
    (Scope.of("RIPRSL", "SPS"), ("SPS",), ["intervention.police_service IN ('SPS')"]),
    (Scope.of("RIPRSL", "SPS"), (), ["intervention.police_service IN ('RIPRSL', 'SPS')"]),
    (Scope.of("RIPRSL"), ("SPS",), ["false"]),
    (Scope.of("RIPRSL"), ("RIPRSL", "SPS"), ["intervention.police_service IN ('RIPRSL')"]),
    (Scope(services=frozenset({"SPS"}), all_services=True, roles=frozenset({"captain"})), (), []),
    (replace(Scope.of("RIPRSL", "SPS", role="funder"), for_release=True), ("SPS", "SPVQ"),
     ["intervention.police_service IN ('SPS')"]),
    (Scope.of(), (), ["false"]),
    (Scope.everything(), ("SPS",), ["intervention.police_service IN ('SPS')"]),
    (Scope.everything(), (), []),
])
def test_one_service_condition_of_what_scope_and_filter_share(scope, chosen, expected):
    """One list of services, never wider than the scope: PostgreSQL read the scope's list and the filter's as two
    independent narrowings, expected too few rows and chose a plan that took 76 s."""
    conditions = service_conditions(intervention.c.police_service, MetricFilter(MARCH, services=chosen), scope)
    assert [str(condition.compile(compile_kwargs={"literal_binds": True})) for condition in conditions] == expected


def test_the_administrator_reads_no_event_number_in_the_trail(engine):
    record_event(engine, subject="worker-1", roles=("worker",), services="SPS", action="case_closed", page="queue",
                 detail={"event_id": "SPS-2026-000123", "service": "SPS", "subject_role": "offender"})
    record_event(engine, subject="worker-1", roles=("worker",), services="SPS", action="view", page="queue")
    admin = viewer_from_claims({"sub": "a", "roles": ["admin"], "police_services": ["*"]})
    shown = audit_events(engine, AuditFilter(date(2000, 1, 1), date(2100, 1, 1)), admin.scope)
    assert list(shown["action"]) == ["view", "case_closed"]
    assert shown["detail"].iloc[0] is None or pd.isna(shown["detail"].iloc[0])
    assert json.loads(shown["detail"].iloc[1]) == {"event_id": "•••", "service": "SPS", "subject_role": "offender"}
    # The row itself keeps the event, for an inquiry into who closed which case.
    with engine.connect() as connection:
        stored = connection.scalar(select(audit_event.c.detail).where(audit_event.c.action == "case_closed"))
    assert json.loads(stored)["event_id"] == "SPS-2026-000123"
