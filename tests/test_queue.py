"""The worker's queue, worked out by hand on a small data set seen at 12:00 on 20 March 2024 (EDT)."""

from __future__ import annotations

import pytest

from queries.filters import MetricFilter, Scope
from queries.queue import clock, queue_summary, waiting_cases
from tests.queue_data import ANY, NOW_US, RULES, TODAY, load_queue_data


@pytest.fixture
def queued(engine):
    return load_queue_data(engine)


def worker(*services: str) -> Scope:
    return Scope.of(*services, role="worker")


@pytest.mark.parametrize(("hours", "expected"), [(0, "on_time"), (19.99, "on_time"), (20, "due_soon"),
                                                 (24, "due_soon"), (24.001, "overdue"), (400, "overdue")])
def test_the_clock_turns_amber_four_hours_before_the_target_and_red_past_it(hours, expected):
    assert clock(hours, RULES) == expected


def test_offenders_waiting_oldest_first_with_their_clock(queued):
    frame = waiting_cases(queued, ANY, worker("RIPRSL"), "offender", NOW_US, RULES)
    # Q5 reached, Q6 past 14 days, Q7 closed, Q8 five attempts, Q9 another service, Q10 no arrest.
    assert list(frame["event_id"]) == ["Q3", "Q4", "Q2", "Q1"]
    assert list(frame["hours_waiting"]) == [25.0, 24.0, 20.0, 2.0]
    assert list(frame["clock"]) == ["overdue", "due_soon", "due_soon", "on_time"]
    assert list(frame["attempts"]) == [1, 0, 1, 0]
    assert list(frame["contact_ban"]) == [False, False, True, False]
    # K1 had Q0 within 12 months of Q1 and QX before that; Q3 has no subject key.
    assert list(frame["previous_12_months"]) == [0, 0, 0, 1]
    assert list(frame["municipality_code"]) == ["57005", "57040", "57005", "57040"]


def test_a_worker_sees_only_her_services_rows(queued):
    assert list(waiting_cases(queued, ANY, worker("SPS"), "offender", NOW_US, RULES)["event_id"]) == ["Q9"]
    assert waiting_cases(queued, ANY, Scope(roles=frozenset({"worker"})), "offender", NOW_US, RULES).empty
    everywhere = Scope(all_services=True, roles=frozenset({"worker"}))
    assert list(waiting_cases(queued, ANY, everywhere, "offender", NOW_US, RULES)["event_id"]) == [
        "Q3", "Q4", "Q2", "Q9", "Q1"]
    only_57005 = MetricFilter(ANY.period, municipalities=("57005",))
    assert list(waiting_cases(queued, only_57005, worker("RIPRSL"), "offender", NOW_US, RULES)["event_id"]) == [
        "Q3", "Q2"]


@pytest.mark.parametrize("role", ["captain", "director", "funder", "admin"])
def test_only_a_worker_reads_the_queues_rows(queued, role):
    with pytest.raises(PermissionError):
        waiting_cases(queued, ANY, Scope.of("RIPRSL", role=role), "offender", NOW_US, RULES)


def test_victims_waiting_for_a_follow_up(queued):
    frame = waiting_cases(queued, ANY, worker("RIPRSL"), "victim", NOW_US, RULES)
    # Every RIPRSL intervention of the last 14 days but Q1, whose victim accepted; closures are per person.
    assert list(frame["event_id"]) == ["Q5", "Q3", "Q4", "Q2", "Q8", "Q7", "Q10"]
    assert list(frame["hours_waiting"]) == [51.0, 26.0, 25.0, 21.0, 17.0, 5.0, 5.0]


def test_the_tiles_count_in_sql(queued):
    offenders = queue_summary(queued, ANY, worker("RIPRSL"), "offender", NOW_US, RULES, TODAY)
    # Contacted today: Q8 (two attempts today, one person).
    assert (offenders.waiting, offenders.overdue, offenders.contacted_today) == (4, 1, 1)
    victims = queue_summary(queued, ANY, worker("RIPRSL"), "victim", NOW_US, RULES, TODAY)
    assert (victims.waiting, victims.overdue, victims.contacted_today) == (7, 3, 1)
    director = queue_summary(queued, ANY, Scope.of("SPS", role="director"), "offender", NOW_US, RULES, TODAY)
    assert (director.waiting, director.overdue, director.contacted_today) == (1, 0, 0)
    with pytest.raises(PermissionError):
        queue_summary(queued, ANY, Scope.of("RIPRSL", role="captain"), "offender", NOW_US, RULES, TODAY)
