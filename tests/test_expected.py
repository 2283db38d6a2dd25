"""Unusual weeks from the database: one intervention a week in Beloeil for three years, then a week of eight."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from scipy import stats

from dashboard.ingest.importer import import_file
from queries.expected import municipality_expectations, unusual_weeks, weekly_range
from queries.filters import MetricFilter, Period, Scope

FIRST_MONDAY = date(2022, 1, 3)  # ISO week 2022-W01
SPIKE_MONDAY = date(2025, 3, 3)  # 2025-W10
PERIOD = MetricFilter(Period(date(2025, 2, 3), date(2025, 3, 16)))  # 2025-W06 to 2025-W11


def _file() -> bytes:
    lines = ["event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban"]
    monday, number = FIRST_MONDAY, 0
    while monday <= date(2025, 3, 16):
        for extra in range(8 if monday == SPIKE_MONDAY else 1):
            number += 1
            lines.append(f"E{number},RIPRSL,57040,{monday + timedelta(days=2)} {10 + extra}:00,non,,,non")
        monday += timedelta(weeks=1)
    # Saguenay: one case, last week: too little history for any method.
    lines.append("S1,SPS,94068,2025-03-12 10:00,non,,,non")
    return "\n".join(lines).encode()


@pytest.fixture
def history(engine):
    report = import_file(engine, "interventions", _file(), "interventions.csv", imported_by="test")
    assert report.problems == []
    return engine


def test_the_spike_is_the_one_unusual_week(history):
    """Expected 1 (every earlier same week held 1), range up to the 99th percentile of a Poisson of mean 1 (4):
    8 is 4 above it, and 8 cases in the last 4 weeks pass the rule of 5."""
    unusual = unusual_weeks(history, PERIOD, Scope.of("RIPRSL", "SPS"))
    assert list(unusual["week"]) == ["2025-W10"]
    (row,) = unusual.to_dict("records")
    assert (row["code"], row["name"], row["interventions"], row["method"]) == ("57040", "Beloeil", 8, "farrington")
    assert row["expected"] == pytest.approx(1.0) and row["upper"] == stats.poisson.ppf(0.99, 1) == 4
    assert row["excess"] == 4


def test_every_week_of_the_period_has_its_range(history):
    frame = municipality_expectations(history, PERIOD, Scope.of("RIPRSL", "SPS"))
    beloeil = frame[frame["code"] == "57040"]
    assert list(beloeil["week"]) == [f"2025-W{week:02d}" for week in range(6, 12)]
    assert list(beloeil["interventions"]) == [1, 1, 1, 1, 8, 1]
    saguenay = frame[frame["code"] == "94068"]
    # Its first case is this week: no history, no method, no alarm.
    assert list(saguenay["method"]) == ["none"] * 6 and not saguenay["alarm"].any()


def test_the_scope_is_applied(history):
    assert unusual_weeks(history, PERIOD, Scope.of("SPS")).empty
    with pytest.raises(PermissionError):
        unusual_weeks(history, PERIOD, Scope.of("RIPRSL", role="funder"))


def test_the_weekly_chart_gets_the_totals_range(history):
    frame = weekly_range(history, PERIOD, Scope.of("RIPRSL"))
    assert list(frame["interventions"]) == [1, 1, 1, 1, 8, 1]
    assert list(frame["alarm"]) == [False, False, False, False, True, False]
    assert frame["expected"].tolist() == pytest.approx([1.0] * 6)
