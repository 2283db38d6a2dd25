"""The outreach cohort's one statement: its percentiles are computed once, whatever the planner expects."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from dashboard.ingest.importer import import_file
from queries.cohort import cohort_figures, cohort_statement
from queries.filters import MetricFilter, Period, Scope
from tests.hand_made_pages import load_outreach

QUARTER = Period(date(2025, 1, 1), date(2025, 3, 31))
BOTH = Scope.of("RIPRSL", "SPS", role="director")
# Eight more arrests in Saguenay, each on its own day, each called 3 hours later: with C10, nine SPS members.
SAGUENAY = 8
SAGUENAY_INTERVENTIONS = "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at\n" + "".join(
    f"S{day},SPS,94068,2025-01-{day:02d} 09:00,oui,2025-01-{day:02d} 10:00\n" for day in range(1, SAGUENAY + 1))
SAGUENAY_ATTEMPTS = "attempt_id,police_service,event_id,attempted_at,subject_role,outcome\n" + "".join(
    f"T{day},SPS,S{day},2025-01-{day:02d} 13:00,offender,declined\n" for day in range(1, SAGUENAY + 1))


@pytest.mark.parametrize("municipalities", [(), ("94068",)])
def test_the_delays_are_ranked_once(engine, municipalities):
    """The delays are ranked once, not once per counted row (PostgreSQL, expecting one member for a service of the
    viewer's two and a municipality of it, ranked them for each of 1,101 rows: 76 s at province scale)."""
    load_outreach(engine)
    for kind, data in (("interventions", SAGUENAY_INTERVENTIONS), ("outreach", SAGUENAY_ATTEMPTS)):
        assert import_file(engine, kind, data.encode(), f"{kind}.csv", imported_by="test").problems == []
    flt = MetricFilter(QUARTER, services=("SPS",), municipalities=municipalities)
    figures = cohort_figures(engine, flt, BOTH)
    # C10 called after 1 hour, the eight after 3: the middle (fifth of nine) is 3 hours, as is the 90th percentile.
    assert figures["members"].sum() == SAGUENAY + 1 and len(figures) == SAGUENAY + 1
    assert set(figures["middle_us"] / figures["middle_rows"]) == {3 * 3600e6} and set(figures["p90_us"]) == {3 * 3600e6}
    # Computed once, as a materialized CTE: PostgreSQL's plan for the joined subquery ranked every delay again for
    # each counted row whenever it expected a single member.
    with engine.connect() as connection:
        compiled = str(cohort_statement(flt, BOTH).compile(connection, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row[-1]) for row in connection.execute(text(
            ("EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ") + compiled)))
    assert "percentile AS MATERIALIZED" in compiled
    assert ("MATERIALIZE percentile" if engine.dialect.name == "sqlite" else "CTE percentile") in plan
