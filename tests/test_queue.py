"""The worker's queue, worked out by hand on a small data set seen at 12:00 on 20 March 2024 (EDT)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select

from dashboard.ingest.importer import import_file
from queries.filters import MetricFilter, Period, Scope
from queries.localtime import LOCAL_TIMEZONE, epoch_microseconds
from queries.queue import QueueRules, clock, queue_summary, waiting_cases
from queries.schema import case_closure, intervention

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=LOCAL_TIMEZONE)
NOW_US = epoch_microseconds(NOW)
TODAY = date(2024, 3, 20)
RULES = QueueRules(target_hours=24, warning_hours=4, close_after_days=14, close_after_attempts=5)
# The queue ignores the period: it is about now.
ANY = MetricFilter(Period(date(2024, 1, 1), date(2024, 3, 20)))

INTERVENTIONS = """\
event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban
QX,RIPRSL,57040,2023-01-01 10:00,non,,K1,non
Q0,RIPRSL,57040,2023-06-01 10:00,non,,K1,non
Q1,RIPRSL,57040,2024-03-20 09:00,oui,2024-03-20 10:00,K1,non
Q2,RIPRSL,57005,2024-03-19 15:00,oui,2024-03-19 16:00,K2,oui
Q3,RIPRSL,57005,2024-03-19 10:00,oui,2024-03-19 11:00,,non
Q4,RIPRSL,57040,2024-03-19 11:00,oui,2024-03-19 12:00,K4,non
Q5,RIPRSL,57040,2024-03-18 09:00,oui,2024-03-18 10:00,K5,non
Q6,RIPRSL,57040,2024-03-01 09:00,oui,2024-03-01 10:00,K6,non
Q7,RIPRSL,57040,2024-03-20 07:00,oui,2024-03-20 08:00,K7,non
Q8,RIPRSL,57040,2024-03-19 19:00,oui,2024-03-19 20:00,K8,non
Q9,SPS,94068,2024-03-20 08:00,oui,2024-03-20 09:00,K9,non
Q10,RIPRSL,57040,2024-03-20 07:00,non,,K10,non
"""

OUTREACH = """\
attempt_id,police_service,event_id,attempted_at,subject_role,outcome,channel,referral
B1,RIPRSL,Q2,2024-03-19 18:00,offender,no_answer,phone,
B2,RIPRSL,Q3,2024-03-19 13:00,offender,wrong_number,phone,
B3,RIPRSL,Q5,2024-03-18 12:00,offender,accepted,phone,men_program
B4,RIPRSL,Q8,2024-03-19 21:00,offender,no_answer,phone,
B5,RIPRSL,Q8,2024-03-19 22:00,offender,no_answer,phone,
B6,RIPRSL,Q8,2024-03-19 23:00,offender,unsafe_to_leave_message,phone,
B7,RIPRSL,Q8,2024-03-20 08:00,offender,no_answer,phone,
B8,RIPRSL,Q8,2024-03-20 09:00,offender,no_answer,phone,
B9,RIPRSL,Q1,2024-03-20 11:00,victim,accepted,phone,shelter
"""


@pytest.fixture
def queued(engine):
    for kind, text in (("interventions", INTERVENTIONS), ("outreach", OUTREACH)):
        report = import_file(engine, kind, text.encode(), f"{kind}.csv", imported_by="test")
        assert report.problems == [] and report.written
    with engine.begin() as connection:
        q7 = connection.scalar(select(intervention.c.id).where(intervention.c.event_id == "Q7"))
        connection.execute(insert(case_closure).values(intervention_id=q7, subject_role="offender",
                                                       closed_at=datetime(2024, 3, 20, 15, tzinfo=UTC),
                                                       closed_by="worker"))
    return engine


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
