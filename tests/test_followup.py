"""Outcomes, referrals, victim follow-ups and later repeats on the hand-made outreach data set, worked out below."""

from __future__ import annotations

import math
from datetime import date

import pytest

from queries.filters import MetricFilter, Period, Scope
from queries.followup import outcomes_by_month, referrals_by_month, repeat_after_outreach, victim_followups
from queries.outreach import outreach_summary
from queries.schema import REFERRALS
from tests.hand_made_pages import load_outreach

# The cohort of tests/test_timeliness.py: 2025-01-01 .. 03-31, C1 .. C12, C10 Saguenay's.
QUARTER = Period(date(2025, 1, 1), date(2025, 3, 31))
MONTHS = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
EMPTY = Period(date(2030, 1, 7), date(2030, 1, 13))
STATUSES = ["accepted", "already_in_help", "declined", "no_answer", "not_attempted"]


@pytest.fixture
def loaded(engine):
    return load_outreach(engine)


def _grid(frame, key: str, value: str) -> dict[tuple[date, str], int]:
    return {(month, name): count for month, name, count in zip(frame["month_start"], frame[key], frame[value])}


def _nonzero(frame, key: str, value: str) -> dict[tuple[date, str], int]:
    return {cell: count for cell, count in _grid(frame, key, value).items() if count}


def test_outcomes_by_month(loaded):
    frame = outcomes_by_month(loaded, MetricFilter(QUARTER), Scope.everything())
    assert list(frame.columns) == ["month_start", "outcome", "members"]
    assert list(frame["month_start"]) == [month for month in MONTHS for _status in STATUSES]
    assert list(frame["outcome"]) == STATUSES * 3
    # By local month of arrest, best outcome reached:
    # January: C1 accepted, C2 declined (no answer first), C12 and C3 (31 January 23:30 local, 1 February in
    #   UTC) never attempted.
    # February: C4 already in help (declined afterwards), C5 no answer, C6 and C10 accepted.
    # March: C7 and C11 declined, C8 accepted (declined first), C9 accepted (arrested 31 March 23:59).
    assert list(frame["members"]) == [1, 0, 1, 0, 2] + [2, 1, 0, 1, 0] + [2, 0, 2, 0, 0]
    summary = outreach_summary(loaded, MetricFilter(QUARTER), Scope.everything())
    totals = frame.groupby("outcome")["members"].sum()
    assert (totals.sum(), totals["accepted"], totals["already_in_help"]) == (
        summary.cohort, summary.accepted, summary.already_in_help,
    )


def test_outcomes_by_month_of_one_service(loaded):
    saguenay = outcomes_by_month(loaded, MetricFilter(QUARTER), Scope.of("SPS"))
    assert _nonzero(saguenay, "outcome", "members") == {(date(2025, 2, 1), "accepted"): 1} and len(saguenay) == 15
    asked = outcomes_by_month(loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"))
    assert len(asked) == 15 and asked["members"].sum() == 0


def test_outcomes_by_month_of_an_empty_period(loaded):
    frame = outcomes_by_month(loaded, MetricFilter(EMPTY), Scope.everything())
    assert list(frame["month_start"]) == [date(2030, 1, 1)] * 5 and list(frame["members"]) == [0] * 5
    assert outcomes_by_month(loaded, MetricFilter(QUARTER), Scope.of())["members"].sum() == 0


def test_referrals_by_month(loaded):
    frame = referrals_by_month(loaded, MetricFilter(QUARTER), Scope.everything())
    assert list(frame.columns) == ["month_start", "referral", "attempts"]
    # The cohort's offender attempts with a referral, by local attempt date: A1 (C1, 6 January, men's program),
    # A12 (C10, 5 February) and A7 (C6, 23 February) therapy, A10 (C8, 20 March, addiction), and A11 (C9,
    # 1 April: after the period, so April is shown too). Not A14 (N1, arrested the minute after the period)
    # nor the victims' A16 and A19.
    assert list(frame["month_start"].unique()) == [*MONTHS, date(2025, 4, 1)]
    assert list(frame["referral"]) == list(REFERRALS) * 4
    assert _nonzero(frame, "referral", "attempts") == {
        (date(2025, 1, 1), "men_program"): 1,
        (date(2025, 2, 1), "therapy"): 2,
        (date(2025, 3, 1), "addiction"): 1,
        (date(2025, 4, 1), "men_program"): 1,
    }


def test_referrals_by_month_of_one_service(loaded):
    # Saguenay: A12 only; no attempt after the period, so the months are the period's.
    saguenay = referrals_by_month(loaded, MetricFilter(QUARTER), Scope.of("SPS"))
    assert list(saguenay["month_start"].unique()) == MONTHS
    assert _nonzero(saguenay, "referral", "attempts") == {(date(2025, 2, 1), "therapy"): 1}
    asked = referrals_by_month(loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"))
    assert len(asked) == 3 * len(REFERRALS) and asked["attempts"].sum() == 0


def test_referrals_by_month_of_an_empty_period(loaded):
    frame = referrals_by_month(loaded, MetricFilter(EMPTY), Scope.everything())
    assert set(frame["month_start"]) == {date(2030, 1, 1)} and list(frame["attempts"]) == [0] * len(REFERRALS)


def test_victim_followups(loaded):
    frame = victim_followups(loaded, MetricFilter(QUARTER), Scope.everything())
    assert list(frame.columns) == ["month_start", "interventions", "followed_up", "attempts", "reached"]
    # By local month of the intervention, arrest or not:
    # January: C1, C2, N2, C12, C3 = 5; victims followed up on C2 (A15 no answer, A16 accepted: reached) and N2
    #   (A17 no answer): 2, 3 attempts, 1 reached. N3 (31 December) is outside, with its January attempt A19.
    # February: C4, C10, C5, C6 = 4; C10's victim declined (A18): 1 followed up, 1 attempt, 1 reached.
    # March: C7, C8, C11, C9 and N1 (31 March 23:30 local) = 5, no victim attempt.
    assert frame.to_dict("records") == [
        {"month_start": date(2025, 1, 1), "interventions": 5, "followed_up": 2, "attempts": 3, "reached": 1},
        {"month_start": date(2025, 2, 1), "interventions": 4, "followed_up": 1, "attempts": 1, "reached": 1},
        {"month_start": date(2025, 3, 1), "interventions": 5, "followed_up": 0, "attempts": 0, "reached": 0},
    ]


def test_victim_followups_of_one_service(loaded):
    frame = victim_followups(loaded, MetricFilter(QUARTER), Scope.of("SPS"))
    assert [list(row) for row in frame[["interventions", "followed_up", "attempts", "reached"]].to_numpy()] == [
        [0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0],
    ]
    asked = victim_followups(loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"))
    assert len(asked) == 3 and asked[["interventions", "attempts"]].to_numpy().sum() == 0


def test_victim_followups_of_an_empty_period(loaded):
    frame = victim_followups(loaded, MetricFilter(EMPTY), Scope.everything())
    assert frame.to_dict("records") == [
        {"month_start": date(2030, 1, 1), "interventions": 0, "followed_up": 0, "attempts": 0, "reached": 0}
    ]


# Members: the period's cohort arrested on or before as_of − 365 days, with a subject key. With as_of
# 2026-02-10, arrests up to 2025-02-10: C1, C2, C3, C4, C10 and C5 (arrested on 2025-02-10 itself); not C12
# (no key) nor C6 and later (their 12 months have not passed).
# Repeated: another intervention of the same service and key, strictly after and at most 365 × 24 h after:
#   C1 (K1) yes, R1 on 2025-06-01 in another municipality; C10 (K1 too, Saguenay's) no, R1 is the Régie's;
#   C2 (K2) no, R2 is before; C4 (K4) no, R4 is 365 × 24 h and one second after;
#   C3 (K3) yes, R3 exactly 365 × 24 h after; C5 (K5) yes, R5 on 2025-04-15.
def _groups(frame) -> list[tuple[str, int, int]]:
    return list(zip(frame["group"], frame["members"], frame["repeated"]))


def test_repeat_after_outreach(loaded):
    frame = repeat_after_outreach(loaded, MetricFilter(QUARTER), Scope.everything(), as_of=date(2026, 2, 10))
    assert list(frame.columns) == ["group", "members", "repeated", "share"]
    # accepted C1, C10; declined or already in help C2, C4; not reached C3 (never attempted), C5 (no answer).
    assert _groups(frame) == [("accepted", 2, 1), ("declined_or_in_help", 2, 0), ("not_reached", 2, 2)]
    assert list(frame["share"]) == [0.5, 0.0, 1.0]


def test_repeat_after_outreach_waits_for_twelve_months(loaded):
    flt = MetricFilter(QUARTER)
    # A day earlier, C5's 12 months have not passed.
    day_before = repeat_after_outreach(loaded, flt, Scope.everything(), as_of=date(2026, 2, 9))
    assert _groups(day_before) == [("accepted", 2, 1), ("declined_or_in_help", 2, 0), ("not_reached", 1, 1)]
    # As of 2026-01-30, arrests up to 2025-01-30: C1 and C2 (C12 has no key).
    january = repeat_after_outreach(loaded, flt, Scope.everything(), as_of=date(2026, 1, 30))
    assert _groups(january) == [("accepted", 1, 1), ("declined_or_in_help", 1, 0), ("not_reached", 0, 0)]
    assert list(january["share"][:2]) == [1.0, 0.0] and math.isnan(january["share"][2])
    # A year after the period's end or less: no cohort is old enough.
    for as_of in (date(2025, 12, 31), date(2025, 6, 1)):
        young = repeat_after_outreach(loaded, flt, Scope.everything(), as_of=as_of)
        assert _groups(young) == [("accepted", 0, 0), ("declined_or_in_help", 0, 0), ("not_reached", 0, 0)]
        assert young["share"].isna().all()


def test_repeat_after_outreach_counts_repeats_anywhere_in_the_service(loaded):
    # Beloeil's members by 2026-02-10: C1 (repeated in Calixa-Lavallée) and C2.
    frame = repeat_after_outreach(
        loaded, MetricFilter(QUARTER, municipalities=("57040",)), Scope.everything(), as_of=date(2026, 2, 10)
    )
    assert _groups(frame) == [("accepted", 1, 1), ("declined_or_in_help", 1, 0), ("not_reached", 0, 0)]


def test_repeat_after_outreach_of_one_service(loaded):
    # Saguenay: C10, accepted, no later Saguenay intervention with K1.
    frame = repeat_after_outreach(loaded, MetricFilter(QUARTER), Scope.of("SPS"), as_of=date(2026, 2, 10))
    assert _groups(frame) == [("accepted", 1, 0), ("declined_or_in_help", 0, 0), ("not_reached", 0, 0)]
    assert frame["share"][0] == 0.0 and frame["share"][1:].isna().all()
    asked = repeat_after_outreach(
        loaded, MetricFilter(QUARTER, services=("RIPRSL",)), Scope.of("SPS"), as_of=date(2026, 2, 10)
    )
    assert asked["members"].sum() == 0


def test_repeat_after_outreach_of_an_empty_period(loaded):
    frame = repeat_after_outreach(loaded, MetricFilter(EMPTY), Scope.everything(), as_of=date(2032, 1, 1))
    assert list(frame["members"]) == [0, 0, 0] and frame["share"].isna().all()
    nobody = repeat_after_outreach(loaded, MetricFilter(QUARTER), Scope.of(), as_of=date(2026, 6, 1))
    assert list(nobody["members"]) == [0, 0, 0]
