"""What is stored on write (each intervention's previous and next of the same subject, its offender outreach summary,
each week's counts) always equals what the rows say, worked out here in plain Python after every kind of write."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from dashboard.ingest.importer import import_file
from dashboard.ingest.worker_log import AttemptEntry, Recorder, correct_attempt, record_attempt, withdraw_attempt
from queries.filters import Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.precomputed import refresh_all_outreach, refresh_all_subject_links
from queries.retention import destroy_data
from queries.schema import REACHED_OUTCOMES, intervention, outreach_attempt, weekly_count
from queries.writes import delete_demo_rows

PLACES = {"RIPRSL": ("57040", "57005", "59010"), "SPS": ("94068",)}
SUBJECTS = ("S1", "S2", "S3", "")
OUTCOMES = ("no_answer", "wrong_number", "accepted", "declined", "already_in_help")
START = datetime(2023, 1, 1, 12, tzinfo=UTC)
YEAR_US = 365 * 24 * 3_600_000_000
WORKER = Recorder("anne", Scope.of("RIPRSL", role="worker"))


def expected_links(rows: list) -> dict[int, tuple]:
    """Intervention id → (previous_us, next_us), by looking at every other row."""
    found = {}
    for row in rows:
        same = [other.occurred_us for other in rows
                if row.subject_key and other.police_service == row.police_service
                and other.subject_key == row.subject_key]
        earlier = [moment for moment in same if moment < row.occurred_us]
        later = [moment for moment in same if moment > row.occurred_us]
        found[row.id] = (max(earlier) if earlier else None, min(later) if later else None)
    return found


def expected_outreach(rows: list, attempts: list) -> dict[int, tuple]:
    """Intervention id → (first offender attempt, reached, accepted, already in help)."""
    found = {}
    for row in rows:
        own = [attempt for attempt in attempts if attempt.intervention_id == row.id and
               attempt.subject_role == "offender"]
        outcomes = {attempt.outcome for attempt in own}
        found[row.id] = (min((attempt.attempted_us for attempt in own), default=None),
                         bool(outcomes & set(REACHED_OUTCOMES)), "accepted" in outcomes, "already_in_help" in outcomes)
    return found


def expected_weeks(rows: list) -> dict[tuple, tuple]:
    """(service, municipality, ISO week) → (interventions, arrests, repeats, contact bans), from the rows alone."""
    previous = {row_id: links[0] for row_id, links in expected_links(rows).items()}
    found: dict[tuple, list[int]] = {}
    for row in rows:
        cell = found.setdefault((row.police_service, row.municipality_code, row.occurred_week), [0, 0, 0, 0])
        repeat = previous[row.id] is not None and previous[row.id] >= row.occurred_us - YEAR_US
        for index, counted in enumerate((True, row.arrest, repeat, row.contact_ban)):
            cell[index] += bool(counted)
    return {key: tuple(values) for key, values in found.items()}


def assert_stored_values_hold(engine) -> None:
    with engine.connect() as connection:
        rows = connection.execute(select(intervention)).all()
        attempts = connection.execute(select(outreach_attempt)).all()
        weeks = connection.execute(select(weekly_count)).all()
    assert {row.id: (row.previous_us, row.next_us) for row in rows} == expected_links(rows)
    stored = {row.id: (row.offender_first_attempt_us, bool(row.offender_reached), bool(row.offender_accepted),
                       bool(row.offender_in_help)) for row in rows}
    assert stored == expected_outreach(rows, attempts)
    assert {(week.police_service, week.municipality_code, week.week): (week.interventions, week.arrests, week.repeats,
                                                                       week.contact_bans)
            for week in weeks} == expected_weeks(rows)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def intervention_file(rng: random.Random, events: range, service: str = "RIPRSL") -> bytes:
    lines = ["event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban"]
    for number in events:
        # Whole days from a small range: several of one subject's interventions share a moment.
        occurred = START + timedelta(days=rng.randrange(0, 500), hours=rng.choice((0, 0, 5)))
        arrested = occurred + timedelta(hours=rng.randrange(0, 6)) if rng.random() < 0.7 else None
        lines.append(f"E{number},{service},{rng.choice(PLACES[service])},{_stamp(occurred)},"
                     f"{'oui' if arrested else 'non'},{_stamp(arrested) if arrested else ''},{rng.choice(SUBJECTS)},"
                     f"{rng.choice(('oui', 'non', 'non'))}")
    return ("\n".join(lines) + "\n").encode()


def outreach_file(rng: random.Random, arrests: list, numbers: range) -> bytes:
    lines = ["attempt_id,police_service,event_id,attempted_at,subject_role,outcome"]
    for number in numbers:
        service, event_id, arrested_at = rng.choice(arrests)
        moment = arrested_at + timedelta(hours=rng.randrange(1, 300))
        role = rng.choice(("offender", "offender", "victim"))
        lines.append(f"A{number},{service},{event_id},{_stamp(moment)},{role},{rng.choice(OUTCOMES)}")
    return ("\n".join(lines) + "\n").encode()


def imported(engine, kind: str, data: bytes, **options) -> None:
    report = import_file(engine, kind, data, f"{kind}.csv", imported_by="test", **options)
    assert report.problems == [] and report.written


def arrests_of(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(intervention.c.police_service, intervention.c.event_id,
                                         intervention.c.arrested_at).where(intervention.c.arrest)).all()


def test_stored_values_follow_imports_replacements_and_retention(engine):
    rng = random.Random(42)
    imported(engine, "interventions", intervention_file(rng, range(40)))
    imported(engine, "interventions", intervention_file(rng, range(40, 50), service="SPS"))
    assert_stored_values_hold(engine)
    # Re-imported events change subject, moment and arrest: both the old and the new subjects' links move.
    imported(engine, "interventions", intervention_file(rng, range(0, 40, 3)))
    assert_stored_values_hold(engine)
    imported(engine, "outreach", outreach_file(rng, arrests_of(engine), range(60)))
    assert_stored_values_hold(engine)
    # Re-imported attempts move to other events and change outcome: the events they left are recomputed too.
    imported(engine, "outreach", outreach_file(rng, arrests_of(engine), range(0, 60, 2)))
    assert_stored_values_hold(engine)
    with engine.begin() as connection:
        destruction = destroy_data(connection, (START + timedelta(days=200)).date())
    assert destruction.interventions > 0
    assert_stored_values_hold(engine)


def test_stored_values_follow_the_workers_form(engine):
    now = datetime.now(UTC).replace(microsecond=0)
    lines = ["event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key",
             f"W1,RIPRSL,57040,{_stamp(now - timedelta(hours=5))},oui,{_stamp(now - timedelta(hours=4))},S1"]
    imported(engine, "interventions", ("\n".join(lines) + "\n").encode())

    def entry(outcome: str, hours_ago: int) -> AttemptEntry:
        local = (now - timedelta(hours=hours_ago)).astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M")
        return AttemptEntry(police_service="RIPRSL", event_id="W1", attempted_at=local, subject_role="offender",
                            outcome=outcome)

    first = record_attempt(engine, entry("no_answer", 3), WORKER, now)
    assert_stored_values_hold(engine)
    second = record_attempt(engine, entry("already_in_help", 1), WORKER, now)
    assert_stored_values_hold(engine)
    correct_attempt(engine, first, entry("accepted", 3), WORKER, now)
    assert_stored_values_hold(engine)
    withdraw_attempt(engine, "RIPRSL", first, WORKER, now)
    withdraw_attempt(engine, "RIPRSL", second, WORKER, now)
    assert_stored_values_hold(engine)
    with engine.connect() as connection:
        assert connection.execute(select(intervention.c.offender_first_attempt_us)).scalar() is None


def test_removing_demo_rows_unlinks_real_rows_of_the_same_subject(engine):
    rng = random.Random(7)
    imported(engine, "interventions", intervention_file(rng, range(20)))
    with engine.begin() as connection:
        # A demo row sharing a real subject's pseudonym: removing the demo data must not leave a link to it.
        connection.execute(update(intervention).where(intervention.c.event_id.in_(["E1", "E2", "E3"]))
                           .values(demo=True))
        delete_demo_rows(connection)
    assert_stored_values_hold(engine)


def test_a_full_refresh_mends_values_written_past_the_application(engine):
    rng = random.Random(3)
    imported(engine, "interventions", intervention_file(rng, range(30)))
    imported(engine, "outreach", outreach_file(rng, arrests_of(engine), range(30)))
    with engine.begin() as connection:
        connection.execute(update(intervention).values(previous_us=None, next_us=None, offender_first_attempt_us=1,
                                                       offender_reached=True))
        refresh_all_subject_links(connection)
        refresh_all_outreach(connection)
    assert_stored_values_hold(engine)
