"""Two small hand-made data sets for the overview and outreach page queries, with their figures worked out in tests."""

from __future__ import annotations

from dashboard.ingest.importer import import_file

# Timestamps without an offset are local (America/Toronto): EST (-5) in winter; DST began on 2025-03-09.
# The overview period is 2025-02-03 (Monday) .. 2025-03-02 (Sunday): ISO weeks 2025-W06 .. W09. The three
# weeks before it (W03 .. W05) feed the rolling average; the previous period is 2025-01-06 .. 2025-02-02;
# the same period last year is 2024-02-03 .. 2024-03-02, and the same weeks last year (52 weeks, 364 days,
# earlier) are 2024-02-05 .. 2024-03-03. Keys: K1 .. K4; T2 and T8 are Sunday 23:30 local, Monday in UTC.
TREND_INTERVENTIONS = """\
event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban
T0,RIPRSL,57005,2025-01-06 08:00,non,,K1,non
T1,RIPRSL,57040,2025-01-14 10:00,oui,2025-01-14 11:00,K2,non
T2,RIPRSL,57005,2025-01-19 23:30,non,,K1,non
T3,RIPRSL,57040,2025-01-22 12:00,non,,,non
T4,RIPRSL,57040,2025-01-28 12:00,non,,,non
T5,RIPRSL,57005,2025-02-02 23:59,non,,,non
T6,RIPRSL,57040,2025-02-03 00:00,oui,2025-02-03 01:00,K2,oui
T7,RIPRSL,57005,2025-02-04 10:00,oui,2025-02-04 11:00,K1,non
T8,RIPRSL,57040,2025-02-09 23:30,non,,K3,oui
T9,RIPRSL,57005,2025-02-18 12:00,non,,K1,non
T10,RIPRSL,59030,2025-02-20 12:00,oui,2025-02-20 13:00,K4,non
T11,RIPRSL,57040,2025-03-02 23:59,non,,,non
T12,RIPRSL,57040,2025-03-03 00:00,non,,,non
L1,RIPRSL,57040,2024-02-03 12:00,non,,,non
L2,RIPRSL,57040,2024-02-05 09:00,oui,2024-02-05 10:00,K2,non
L3,RIPRSL,57005,2024-02-14 12:00,non,,,oui
L4,RIPRSL,57040,2024-03-03 22:00,non,,,non
S1,SPS,94068,2025-02-05 12:00,oui,2025-02-05 13:00,K1,non
S2,SPS,94068,2025-01-15 12:00,non,,,non
S3,SPS,94068,2024-02-06 12:00,non,,,non
"""

# The outreach period is 2025-01-01 .. 2025-03-31. Cohort C1 .. C12 (C10 is Saguenay's); N1 is arrested the
# minute after the period, N3 the minute before it, N2 has no arrest; R2 .. R5 are the subjects' other
# interventions, before or after. C3 is arrested Friday 31 January 23:30 local (1 February in UTC).
OUTREACH_INTERVENTIONS = """\
event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban
C1,RIPRSL,57040,2025-01-05 22:00,oui,2025-01-05 23:30,K1,non
C2,RIPRSL,57040,2025-01-10 09:00,oui,2025-01-10 10:00,K2,non
C3,RIPRSL,57005,2025-01-31 22:00,oui,2025-01-31 23:30,K3,non
C4,RIPRSL,57005,2025-02-03 08:00,oui,2025-02-03 09:00,K4,non
C5,RIPRSL,59030,2025-02-10 11:00,oui,2025-02-10 12:00,K5,non
C6,RIPRSL,57040,2025-02-20 11:00,oui,2025-02-20 12:00,K6,non
C7,RIPRSL,57040,2025-03-01 11:00,oui,2025-03-01 12:00,K7,non
C8,RIPRSL,57005,2025-03-09 11:00,oui,2025-03-09 12:00,K8,non
C9,RIPRSL,57040,2025-03-31 23:00,oui,2025-03-31 23:59,K9,non
C10,SPS,94068,2025-02-05 09:00,oui,2025-02-05 10:00,K1,non
C11,RIPRSL,57005,2025-03-20 09:00,oui,2025-03-20 10:00,K11,non
C12,RIPRSL,57005,2025-01-20 07:00,oui,2025-01-20 08:00,,non
N1,RIPRSL,57040,2025-03-31 23:30,oui,2025-04-01 00:00,K21,non
N2,RIPRSL,57040,2025-01-15 12:00,non,,K22,non
N3,RIPRSL,57040,2024-12-31 22:00,oui,2024-12-31 23:59,K23,non
R1,RIPRSL,59030,2025-06-01 12:00,non,,K1,non
R2,RIPRSL,57040,2024-12-01 12:00,non,,K2,non
R3,RIPRSL,57040,2026-01-31 22:00,non,,K3,non
R4,RIPRSL,57005,2026-02-03 08:00:01,non,,K4,non
R5,RIPRSL,57005,2025-04-15 12:00,non,,K5,non
"""

OUTREACH_ATTEMPTS = """\
attempt_id,police_service,event_id,attempted_at,subject_role,outcome,channel,referral
A1,RIPRSL,C1,2025-01-06 05:30,offender,accepted,phone,men_program
A2,RIPRSL,C2,2025-01-11 10:00,offender,no_answer,phone,
A3,RIPRSL,C2,2025-01-12 10:00,offender,declined,phone,
A4,RIPRSL,C4,2025-02-03 15:00:01,offender,already_in_help,phone,
A5,RIPRSL,C4,2025-02-04 10:00,offender,declined,phone,
A6,RIPRSL,C5,2025-02-12 12:00,offender,no_answer,phone,
A7,RIPRSL,C6,2025-02-23 12:00,offender,accepted,in_person,therapy
A8,RIPRSL,C7,2025-03-08 12:00,offender,declined,phone,
A9,RIPRSL,C8,2025-03-16 12:01,offender,declined,phone,
A10,RIPRSL,C8,2025-03-20 09:00,offender,accepted,phone,addiction
A11,RIPRSL,C9,2025-04-01 08:00,offender,accepted,phone,men_program
A12,SPS,C10,2025-02-05 11:00,offender,accepted,phone,therapy
A13,RIPRSL,C11,2025-03-20 10:30,offender,declined,sms,
A14,RIPRSL,N1,2025-04-01 09:00,offender,accepted,phone,men_program
A15,RIPRSL,C2,2025-01-10 12:00,victim,no_answer,phone,
A16,RIPRSL,C2,2025-01-11 09:00,victim,accepted,phone,shelter
A17,RIPRSL,N2,2025-01-16 09:00,victim,no_answer,phone,
A18,SPS,C10,2025-02-05 12:00,victim,declined,phone,
A19,RIPRSL,N3,2025-01-02 09:00,victim,accepted,phone,shelter
"""


def _load(engine, interventions: str, outreach: str | None = None):
    for kind, text in (("interventions", interventions), ("outreach", outreach)):
        if text is None:
            continue
        report = import_file(engine, kind, text.encode("utf-8"), f"{kind}.csv", imported_by="test")
        assert report.problems == [] and report.written
    return engine


def load_trends(engine):
    """The overview data set, imported through the importer."""
    return _load(engine, TREND_INTERVENTIONS)


def load_outreach(engine):
    """The outreach data set, imported through the importer."""
    return _load(engine, OUTREACH_INTERVENTIONS, OUTREACH_ATTEMPTS)
