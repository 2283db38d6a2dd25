"""A small queue worked out by hand, seen at 12:00 on 20 March 2024 (EDT), for the queue and worker-log tests."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import insert, select

from dashboard.ingest.importer import import_file
from queries.filters import MetricFilter, Period
from queries.localtime import LOCAL_TIMEZONE, epoch_microseconds
from queries.queue import QueueRules
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


def moved(text: str, now: datetime) -> str:
    """The CSV with every local timestamp moved so that NOW becomes `now` (same elapsed times, as offsets)."""
    delta = now - NOW

    def move(match: re.Match) -> str:
        moment = datetime.fromisoformat(match.group(0)).replace(tzinfo=LOCAL_TIMEZONE).astimezone(UTC) + delta
        return moment.astimezone(UTC).isoformat(timespec="seconds")

    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", move, text)


def load_queue_data(engine, now: datetime = NOW):
    """Import the queue's data set through the importer, seen at `now`, and close Q7 as a worker would."""
    for kind, text in (("interventions", INTERVENTIONS), ("outreach", OUTREACH)):
        report = import_file(engine, kind, moved(text, now).encode(), f"{kind}.csv", imported_by="test")
        assert report.problems == [] and report.written
    with engine.begin() as connection:
        q7 = connection.scalar(select(intervention.c.id).where(intervention.c.event_id == "Q7"))
        connection.execute(insert(case_closure).values(intervention_id=q7, subject_role="offender",
                                                       closed_at=datetime(2024, 3, 20, 15, tzinfo=UTC),
                                                       closed_by="worker"))
    return engine


