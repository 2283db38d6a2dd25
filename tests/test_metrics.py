"""The contract's metrics on a small hand-made data set whose every figure is worked out below."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from dashboard.importer import import_file
from queries.filters import MetricFilter, Period, Scope
from queries.interventions import intervention_totals
from queries.metrics import metrics_document
from queries.outreach import outreach_summary

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Timestamps without an offset are local (America/Toronto). DST began on 2024-03-10 at 02:00 (EST -5 → EDT -4).
INTERVENTIONS = """\
event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban
E0,RIPRSL,57040,2024-03-03 22:00,oui,2024-03-04 09:00,S7,non
E1,RIPRSL,57040,2024-03-04 00:00,oui,2024-03-04 01:00,S1,oui
E2,RIPRSL,57040,2024-03-10 02:30,non,,S2,
E3,RIPRSL,57005,2024-03-10 23:30,1,2024-03-11 00:30,S1,1
E4,RIPRSL,57005,2024-03-17 23:59:59,true,2024-03-18 00:10,S1,0
E5,RIPRSL,57005,2024-03-18 00:00,false,,S1,false
E6,SPS,94068,2024-03-05 12:00,yes,2024-03-05T17:00:00Z,S1,true
E7,RIPRSL,59010,2024-03-12T10:00:00-04:00,o,2024-03-12 11:00,S3,n
E8,RIPRSL,59010,2023-03-13 11:00,n,,S3,
E9,RIPRSL,59020,2023-03-15T15:59:59Z,n,,S4,
E10,RIPRSL,59020,2024-03-14 12:00,n,,S4,
E11,RIPRSL,57035,2023-03-16T12:00:00Z,n,,S5,
E12,RIPRSL,57035,2024-03-15T12:00:00Z,n,,S5,
E13,RIPRSL,57040,2024-03-13 08:00,vrai,2024-03-13 09:00,S6,faux
E14,RIPRSL,57040,2024-03-13 08:00,faux,,S6,
E15,RIPRSL,57040,2024-03-09 11:00,y,2024-03-09 12:00,,
"""

OUTREACH = """\
attempt_id;police_service;event_id;attempted_at;subject_role;outcome;channel;referral
A1;RIPRSL;E0;2024-03-05 09:00;offender;no_answer;phone;
A2;RIPRSL;E0;2024-03-19 10:00;offender;accepted;phone;men_program
A3;RIPRSL;E1;2024-03-04 07:00;offender;declined;in_person;
A4;RIPRSL;E1;2024-03-04 02:00;victim;accepted;phone;shelter
A5;RIPRSL;E3;2024-03-12 10:30;offender;already_in_help;phone;
A6;RIPRSL;E3;2024-03-20 12:00;offender;declined;sms;
A7;SPS;E6;2024-03-07T17:00:00Z;offender;no_answer;phone;
A8;RIPRSL;E13;2024-03-13 09:30;offender;accepted;phone;therapy
A9;RIPRSL;E13;2024-03-14 09:00;offender;declined;phone;
A10;RIPRSL;E15;2024-03-10 12:00;offender;accepted;phone;men_program
"""

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
    for kind, text in (("interventions", INTERVENTIONS), ("outreach", OUTREACH)):
        report = import_file(engine, kind, text.encode("utf-8"), f"{kind}.csv", imported_by="test")
        assert report.problems == [] and report.written
    return engine


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
    [(Scope.of("RIPRSL"), 10), (Scope.of("SPS"), 1), (Scope.of("RIPRSL", "SPS"), 11), (Scope(), 0)],
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
    ],
)
def test_command_refuses_what_it_cannot_answer(loaded, database_url, arguments, message):
    result = _command(database_url, *arguments, "--json")
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""
