"""The contract's metrics on a small hand-made data set whose every figure is worked out below."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from queries.filters import MetricFilter, Period, Scope
from queries.interventions import intervention_totals
from queries.metrics import metrics_document
from queries.outreach import outreach_summary
from tests.hand_made import load_hand_made

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# By hand, for 2024-03-04 .. 2024-03-17 (ISO weeks 10 and 11), every service:
# - in the period: E1 (first minute), E2 (02:30 on the DST night, which does not exist: read as 07:30 UTC),
#   E3 (Sunday 23:30 local, Monday in UTC: week 10), E4 (last second), E6, E7, E10, E12, E13, E14, E15 = 11;
#   out: E0 (the day before), E5 (first minute after), E8, E9, E11 (2023).
# - arrests among them: E1, E3, E4, E6, E7, E13, E15 = 7.
# - repeats: E3 and E4 (S1 seen on E1, same service, another municipality), E7 (E8 365 days less an hour before),
#   E12 (E11 exactly 365 × 24 h before); not E6 (S1 but another service), E10 (E9 365 days and a second before),
#   E13/E14 (same instant, neither strictly earlier), E15 (no key) = 4.
# - contact bans: E1, E3, E6 = 3.
# - cohort (arrested in the period): E0 (arrested 03-04 09:00, intervention before the period), E1, E3, E6, E7,
#   E13, E15 = 7; E4 is arrested on 03-18, outside.
# - first offender attempt, hours after arrest: E0 24 (exactly), E1 6, E3 34, E6 48 (exactly), E13 0.5,
#   E15 23 (noon to noon across the DST change is 23 elapsed hours); E7 never attempted. Median of
#   0.5, 6, 23, 24, 34, 48 = (23 + 24) / 2 = 23.5. Within 24 h: E0, E1, E13, E15 = 4; within 48 h: + E3, E6 = 6.
# - reached: E0 (accepted on 03-19, after the period: all attempts count), E1, E3, E13, E15 = 5;
#   accepted: E0, E13, E15 = 3; already in help: E3 (reached, never accepted) = 1. The victim attempt A4 counts nowhere.
EXPECTED_ALL = {
    "from": "2024-03-04",
    "to": "2024-03-17",
    "scope": {"service": None, "municipality": None},
    "interventions": {
        "total": 11,
        "arrests": 7,
        "repeat": 4,
        "by_municipality": {
            "55057": 0, "55065": 0, "57005": 2, "57010": 0, "57020": 0, "57025": 0, "57030": 0, "57033": 0,
            "57035": 1, "57040": 5, "57045": 0, "59010": 1, "59015": 0, "59020": 1, "59025": 0, "59030": 0,
            "59035": 0, "94068": 1,
        },
        "by_week": {"2024-W10": 5, "2024-W11": 6},
    },
    "outreach": {
        "cohort": 7,
        "attempted": 6,
        "reached": 5,
        "accepted": 3,
        "already_in_help": 1,
        "reach_rate": 5 / 7,
        "acceptance_rate": 3 / 5,
        "median_hours_to_first_attempt": 23.5,
        "within_24h_share": 4 / 7,
        "within_48h_share": 6 / 7,
    },
}

MARCH = Period(date(2024, 3, 4), date(2024, 3, 17))


@pytest.fixture
def loaded(engine):
    """The hand-made data set, imported through the importer as a records clerk would."""
    return load_hand_made(engine)


def _approx(expected):
    """The expected figures with every float compared to within rounding, at any depth."""
    if isinstance(expected, dict):
        return {key: _approx(value) for key, value in expected.items()}
    return pytest.approx(expected) if isinstance(expected, float) else expected


def test_every_figure_of_the_period(loaded):
    assert metrics_document(loaded, MetricFilter(MARCH), Scope.everything()) == _approx(EXPECTED_ALL)


def test_one_service(loaded):
    document = metrics_document(loaded, MetricFilter(MARCH, services=("RIPRSL",)), Scope.everything())
    interventions = document["interventions"]
    assert (interventions["total"], interventions["arrests"], interventions["repeat"]) == (10, 6, 4)
    assert "94068" not in interventions["by_municipality"] and len(interventions["by_municipality"]) == 17
    assert interventions["by_week"] == {"2024-W10": 4, "2024-W11": 6}
    # Without E6: delays 0.5, 6, 23, 24, 34 → median 23; within 24 h 4 of 6, within 48 h 5 of 6.
    assert document["outreach"] == _approx({
        "cohort": 6, "attempted": 5, "reached": 5, "accepted": 3, "already_in_help": 1,
        "reach_rate": 5 / 6, "acceptance_rate": 3 / 5, "median_hours_to_first_attempt": 23.0,
        "within_24h_share": 4 / 6, "within_48h_share": 5 / 6,
    })
    assert document["scope"] == {"service": "RIPRSL", "municipality": None}


def test_one_municipality_counts_repeats_seen_elsewhere(loaded):
    document = metrics_document(
        loaded, MetricFilter(MARCH, services=("RIPRSL",), municipalities=("57005",)), Scope.everything()
    )
    assert document["interventions"] == {
        "total": 2, "arrests": 2, "repeat": 2, "by_municipality": {"57005": 2},
        "by_week": {"2024-W10": 1, "2024-W11": 1},
    }
    # Cohort: E3 only, first attempted after 34 h, already in help; an acceptance rate of 0 is a real 0.
    assert document["outreach"] == _approx({
        "cohort": 1, "attempted": 1, "reached": 1, "accepted": 0, "already_in_help": 1,
        "reach_rate": 1.0, "acceptance_rate": 0.0, "median_hours_to_first_attempt": 34.0,
        "within_24h_share": 0.0, "within_48h_share": 1.0,
    })


def test_cohort_never_attempted_has_zero_shares_and_null_median(loaded):
    summary = outreach_summary(
        loaded, MetricFilter(Period(date(2024, 3, 12), date(2024, 3, 12)), municipalities=("59010",)),
        Scope.everything(),
    )
    assert (summary.cohort, summary.attempted, summary.reached) == (1, 0, 0)
    assert summary.median_hours_to_first_attempt is None and summary.acceptance_rate is None
    assert (summary.reach_rate, summary.within_24h_share, summary.within_48h_share) == (0.0, 0.0, 0.0)


def test_empty_period_gives_zeros_and_nulls(loaded):
    document = metrics_document(loaded, MetricFilter(Period(date(2030, 1, 7), date(2030, 1, 13))), Scope.everything())
    assert document["interventions"]["total"] == 0
    assert set(document["interventions"]["by_municipality"].values()) == {0}
    assert document["interventions"]["by_week"] == {"2030-W02": 0}
    assert document["outreach"] == {
        "cohort": 0, "attempted": 0, "reached": 0, "accepted": 0, "already_in_help": 0,
        "reach_rate": None, "acceptance_rate": None, "median_hours_to_first_attempt": None,
        "within_24h_share": None, "within_48h_share": None,
    }


def test_week_labels_use_the_iso_year(loaded):
    document = metrics_document(loaded, MetricFilter(Period(date(2024, 12, 30), date(2025, 1, 5))), Scope.everything())
    assert list(document["interventions"]["by_week"]) == ["2025-W01"]


def test_contact_bans_in_force(loaded):
    assert intervention_totals(loaded, MetricFilter(MARCH), Scope.everything()).contact_bans == 3


@pytest.mark.parametrize(
    ("scope", "expected_total"),
    [(Scope.of("RIPRSL"), 10), (Scope.of("SPS"), 1), (Scope.of("RIPRSL", "SPS"), 11), (Scope.of(), 0)],
)
def test_scope_confines_every_figure(loaded, scope, expected_total):
    document = metrics_document(loaded, MetricFilter(MARCH), scope)
    assert document["interventions"]["total"] == expected_total
    assert sum(document["interventions"]["by_municipality"].values()) == expected_total
    assert sum(document["interventions"]["by_week"].values()) == expected_total


def _command(database_url: str, *arguments: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "fr"}
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "metrics", *arguments],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_command_prints_the_contract_json(loaded, database_url):
    result = _command(database_url, "--from", "2024-03-04", "--to", "2024-03-17", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == _approx(EXPECTED_ALL)


def test_command_prints_a_french_table(loaded, database_url):
    result = _command(database_url, "--from", "2024-03-04", "--to", "2024-03-17", "--service", "riprsl")
    assert result.returncode == 0, result.stderr
    assert "Interventions répétées" in result.stdout
    assert "83,3 %" in result.stdout  # reach rate 5/6 in fr_CA
    assert "23,0 h" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--from", "2024-03-17", "--to", "2024-03-04"), "postérieure"),
        (("--from", "2024-03-04", "--to", "2024-03-17", "--service", "XYZ"), "XYZ"),
        (("--from", "2024-03-04", "--to", "2024-03-17", "--municipality", "99999"), "99999"),
        (("--from", "2024-03-04", "--to", "2024-03-17", "--service", "SPS", "--municipality", "57040"), "57040"),
        (("--from", "2024-02-30", "--to", "2024-03-17"), "2024-02-30"),
        (("--from", "20240304", "--to", "2024-03-17"), "20240304"),
    ],
)
def test_command_refuses_what_it_cannot_answer(loaded, database_url, arguments, message):
    result = _command(database_url, *arguments, "--json")
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""
