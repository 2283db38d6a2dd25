"""A small hand-made data set whose figures tests/test_metrics.py works out by hand."""

from __future__ import annotations

import re
from datetime import date, timedelta

from dashboard.ingest.importer import import_file

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


def shifted(text: str, days: int) -> str:
    """The CSV with every date moved by a number of days."""

    def move(match: re.Match) -> str:
        return (date.fromisoformat(match.group(0)) + timedelta(days=days)).isoformat()

    return re.sub(r"\d{4}-\d{2}-\d{2}", move, text)


def load_hand_made(engine, shift_days: int = 0):
    """Import the data set through the importer, as a records clerk would, optionally moved in time."""
    for kind, text in (("interventions", INTERVENTIONS), ("outreach", OUTREACH)):
        data = shifted(text, shift_days).encode("utf-8")
        report = import_file(engine, kind, data, f"{kind}.csv", imported_by="test")
        assert report.problems == [] and report.written
    return engine
