"""Outreach timeliness on the hand-made outreach data set (tests/hand_made_pages.py), figures worked out below."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from queries.filters import MetricFilter, Period, Scope
from queries.outreach import outreach_summary
from queries.timeliness import delay_distribution, delay_percentiles, funnel, weekly_within_24h
from tests.hand_made import load_hand_made
from tests.hand_made_pages import load_outreach

# 2025-01-01 .. 2025-03-31, every service. Cohort C1 .. C12 = 12 (N3 arrested the minute before, N1 the minute
# after). First offender attempt, hours after arrest:
#   C11 0.5, C10 1 (Saguenay), C1 6 exactly (arrested Sunday 23:30, called 05:30), C4 6 h and 1 s,
#   C9 8 h 1 min (arrested at the last minute of the period, called the next morning), C2 24 exactly,
#   C5 48 exactly, C6 72 exactly, C7 168 exactly (1 to 8 March, before the DST change),
#   C8 168 h 1 min (9 to 16 March, both after the change); C3 and C12 never attempted.
# Final statuses: accepted C1, C6, C8 (declined first), C9, C10; already in help C4 (then declined);
#   declined C2 (no answer first), C7, C11; no answer C5; never attempted C3, C12.
QUARTER = Period(date(2025, 1, 1), date(2025, 3, 31))
EMPTY = Period(date(2030, 1, 7), date(2030, 1, 13))
BUCKETS = ["0-6", "6-12", "12-24", "24-48", "48-72", "72-168", "168+", "never"]


@pytest.fixture
def loaded(engine):
    return load_outreach(engine)


def _members(frame) -> dict[str, int]:
    return dict(zip(frame.iloc[:, 0], frame["members"]))


def test_delay_distribution(loaded):
    frame = delay_distribution(loaded, MetricFilter(QUARTER), Scope.everything())
    assert list(frame.columns) == ["bucket", "lower_hours", "upper_hours", "members"]
    assert list(frame["bucket"]) == BUCKETS
    assert list(frame["lower_hours"]) == [0.0, 6.0, 12.0, 24.0, 48.0, 72.0, 168.0, None]
    assert list(frame["upper_hours"]) == [6.0, 12.0, 24.0, 48.0, 72.0, 168.0, None, None]
    # Upper bounds inclusive: 6 h (C1) in 0-6 and 6 h 1 s (C4) in 6-12, 24 h (C2) in 12-24, 48 h in 24-48,
    # 72 h in 48-72, 168 h in 72-168, 168 h 1 min in 168+.
    assert _members(frame) == {
        "0-6": 3, "6-12": 2, "12-24": 1, "24-48": 1, "48-72": 1, "72-168": 1, "168+": 1, "never": 2,
    }


def test_delay_distribution_of_the_contract_data_set(engine):
    # tests/test_metrics.py's cohort of 2024-03-04 .. 03-17: E13 0.5 and E1 6 exactly; E15 23 (across the DST
    # change) and E0 24 exactly; E3 34 and E6 48 exactly; E7 never.
    frame = delay_distribution(
        load_hand_made(engine), MetricFilter(Period(date(2024, 3, 4), date(2024, 3, 17))), Scope.everything()
    )
    assert list(frame["members"]) == [2, 0, 2, 2, 0, 0, 0, 1]


def test_delay_distribution_of_one_service(loaded):
    saguenay = delay_distribution(loaded, MetricFilter(QUARTER), Scope.of("SPS"))
    assert list(saguenay["members"]) == [1, 0, 0, 0, 0, 0, 0, 0]
    regie = delay_distribution(loaded, MetricFilter(QUARTER), Scope.of("RIPRSL"))
    assert list(regie["members"]) == [2, 2, 1, 1, 1, 1, 1, 2]
    asked = delay_distribution(loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"))
    assert list(asked["members"]) == [0] * 8


def test_delay_distribution_of_an_empty_period(loaded):
    for flt, scope in ((MetricFilter(EMPTY), Scope.everything()), (MetricFilter(QUARTER), Scope.of())):
        frame = delay_distribution(loaded, flt, scope)
        assert list(frame["bucket"]) == BUCKETS and list(frame["members"]) == [0] * 8


def test_delay_percentiles(loaded):
    # 10 attempted, in order: 0.5, 1, 6, 6 + 1/3600, 8 + 1/60, 24, 48, 72, 168, 168 + 1/60.
    # Median: the 5th and 6th, (8 + 1/60 + 24) / 2 = 16 + 1/120.
    # 90th percentile, nearest rank: the smallest delay with at least 90 % of the attempted at or below it,
    # rank ceil(0.9 × 10) = 9: 168 (the largest, 168 + 1/60, is left above it).
    result = delay_percentiles(loaded, MetricFilter(QUARTER), Scope.everything())
    assert result.attempted == 10
    assert result.median_hours == pytest.approx(16 + 1 / 120)
    assert result.p90_hours == pytest.approx(168.0)
    assert result.median_hours == pytest.approx(
        outreach_summary(loaded, MetricFilter(QUARTER), Scope.everything()).median_hours_to_first_attempt
    )


def test_delay_percentiles_of_one_service(loaded):
    # The Régie without C10: 9 attempted, median the 5th = 24; rank ceil(0.9 × 9) = 9, the largest, 168 + 1/60.
    regie = delay_percentiles(loaded, MetricFilter(QUARTER), Scope.of("RIPRSL"))
    assert (regie.attempted, regie.median_hours) == (9, pytest.approx(24.0))
    assert regie.p90_hours == pytest.approx(168 + 1 / 60)
    # Saguenay: C10 alone, one hour.
    saguenay = delay_percentiles(loaded, MetricFilter(QUARTER), Scope.of("SPS"))
    assert (saguenay.attempted, saguenay.median_hours, saguenay.p90_hours) == (1, 1.0, 1.0)
    asked = delay_percentiles(loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"))
    assert (asked.attempted, asked.median_hours, asked.p90_hours) == (0, None, None)


def test_delay_percentiles_of_a_few(loaded):
    # Beloeil: C1 6, C9 8 + 1/60, C2 24, C6 72, C7 168. Median the 3rd, 24; rank ceil(4.5) = 5, 168.
    result = delay_percentiles(loaded, MetricFilter(QUARTER, municipalities=("57040",)), Scope.everything())
    assert (result.attempted, result.median_hours, result.p90_hours) == (5, 24.0, 168.0)
    # January: C1 6 and C2 24 attempted (C3, C12 never): median (6 + 24) / 2 = 15; rank ceil(1.8) = 2, 24.
    january = delay_percentiles(loaded, MetricFilter(Period(date(2025, 1, 1), date(2025, 1, 31))), Scope.everything())
    assert (january.attempted, january.median_hours, january.p90_hours) == (2, 15.0, 24.0)


def test_delay_percentiles_when_nobody_was_attempted(loaded):
    # 31 January: C3 only, never attempted.
    for flt, scope in (
        (MetricFilter(Period(date(2025, 1, 31), date(2025, 1, 31))), Scope.everything()),
        (MetricFilter(EMPTY), Scope.everything()),
        (MetricFilter(QUARTER), Scope.of()),
    ):
        result = delay_percentiles(loaded, flt, scope)
        assert (result.median_hours, result.p90_hours, result.attempted) == (None, None, 0)


# Cohort per ISO week of the local arrest date (2025-W01 starts on Monday 2024-12-30), within 24 h, within 48 h:
#   W01 C1 (Sunday 5 January 23:30, Monday in UTC) 1/1/1; W02 C2 (24 h exactly) 1/1/1; W03 none;
#   W04 C12 1/0/0; W05 C3 (never) 1/0/0; W06 C4, C10 2/2/2; W07 C5 (48 h exactly) 1/0/1; W08 C6 1/0/0;
#   W09 C7 1/0/0; W10 C8 (Sunday 9 March) 1/0/0; W11 none; W12 C11 1/1/1; W13 none;
#   W14 C9 (Monday 31 March 23:59) 1/1/1.
WEEKLY = [
    (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 0, 0), (1, 0, 0), (2, 2, 2), (1, 0, 1), (1, 0, 0), (1, 0, 0),
    (1, 0, 0), (0, 0, 0), (1, 1, 1), (0, 0, 0), (1, 1, 1),
]


def test_weekly_within_24h(loaded):
    frame = weekly_within_24h(loaded, MetricFilter(QUARTER), Scope.everything())
    assert list(frame.columns) == ["week", "week_start", "cohort", "within_24h", "within_48h", "share_24h"]
    assert list(frame["week"]) == [f"2025-W{number:02d}" for number in range(1, 15)]
    assert list(frame["week_start"]) == [date(2024, 12, 30) + timedelta(weeks=index) for index in range(14)]
    assert list(zip(frame["cohort"], frame["within_24h"], frame["within_48h"])) == WEEKLY
    shares = list(frame["share_24h"])
    assert [index for index, share in enumerate(shares) if math.isnan(share)] == [2, 10, 12]
    assert [shares[index] for index in (0, 3, 5, 6)] == [1.0, 0.0, 1.0, 0.0]
    # Summed, the contract's figures: cohort 12, within 24 h 6, within 48 h 7.
    summary = outreach_summary(loaded, MetricFilter(QUARTER), Scope.everything())
    assert (frame["cohort"].sum(), frame["within_24h"].sum(), frame["within_48h"].sum()) == (
        summary.cohort, summary.within_24h, summary.within_48h,
    ) == (12, 6, 7)


def test_weekly_within_24h_of_one_service(loaded):
    frame = weekly_within_24h(loaded, MetricFilter(QUARTER), Scope.of("SPS"))
    # Saguenay: C10 (1 h) in W06 only.
    assert list(frame["cohort"]) == [0] * 5 + [1] + [0] * 8 and frame["within_24h"].sum() == 1
    assert frame["share_24h"].isna().sum() == 13
    asked = weekly_within_24h(loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"))
    assert asked["cohort"].sum() == 0 and asked["share_24h"].isna().all()


def test_weekly_within_24h_of_an_empty_period(loaded):
    frame = weekly_within_24h(loaded, MetricFilter(EMPTY), Scope.everything())
    assert frame[["week", "cohort", "within_24h", "within_48h"]].to_dict("records") == [
        {"week": "2030-W02", "cohort": 0, "within_24h": 0, "within_48h": 0}
    ]
    assert math.isnan(frame.loc[0, "share_24h"])


def test_funnel(loaded):
    frame = funnel(loaded, MetricFilter(QUARTER), Scope.everything())
    assert list(frame.columns) == ["stage", "members"]
    # 12 arrests; 10 attempted; reached all but C5 (no answer only) = 9: accepted 5 (C1, C6, C8, C9, C10),
    # declined 3 (C2, C7, C11), already in help 1 (C4).
    assert _members(frame) == {
        "arrests": 12, "attempted": 10, "reached": 9, "accepted": 5, "declined": 3, "already_in_help": 1,
    }
    assert list(frame["stage"]) == ["arrests", "attempted", "reached", "accepted", "declined", "already_in_help"]


def test_funnel_of_the_contract_data_set(engine):
    # tests/test_metrics.py: cohort 7, attempted 6, reached 5, accepted 3, already in help 1 (E3),
    # so declined 1 (E1).
    flt = MetricFilter(Period(date(2024, 3, 4), date(2024, 3, 17)))
    frame = funnel(load_hand_made(engine), flt, Scope.everything())
    assert list(frame["members"]) == [7, 6, 5, 3, 1, 1]


def test_funnel_of_one_service(loaded):
    # Saguenay: C10, attempted, reached, accepted. The Régie: the rest.
    assert list(funnel(loaded, MetricFilter(QUARTER), Scope.of("SPS"))["members"]) == [1, 1, 1, 1, 0, 0]
    assert list(funnel(loaded, MetricFilter(QUARTER), Scope.of("RIPRSL"))["members"]) == [11, 9, 8, 4, 3, 1]
    asked = funnel(loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"))
    assert list(asked["members"]) == [0] * 6


def test_funnel_of_an_empty_period(loaded):
    assert list(funnel(loaded, MetricFilter(EMPTY), Scope.everything())["members"]) == [0] * 6
    assert list(funnel(loaded, MetricFilter(QUARTER), Scope.of())["members"]) == [0] * 6
