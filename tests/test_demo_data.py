"""Demo data: deterministic, valid under the data contract, calibrated like the two programs, loaded idempotently."""

from __future__ import annotations

import csv
import io
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from dashboard.commands import exits
from dashboard.commands.demo_data import run_demo_data_command
from dashboard.commands.main import main as cli_main
from dashboard.database import build_engine
from dashboard.demo.data import demo_counts, generate, load_demo_files
from dashboard.ingest.importer import import_file
from dashboard.settings import PROJECT_ROOT
from queries.localtime import LOCAL_TIMEZONE, parse_timestamp
from queries.reference import REFERENCE_DIR
from queries.schema import import_batch, intervention, outreach_attempt
from queries.writes import delete_demo_rows

SEED = 42
FULL_END = date(2025, 12, 31)
# Two months of outreach: enough for every kind of row, quick to import on both databases.
SHORT_END = date(2022, 6, 30)
PROGRAM_START = date(2022, 5, 1)
CONTRACT_INTERVENTION_COLUMNS = (
    "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban"
)
CONTRACT_OUTREACH_COLUMNS = "attempt_id,police_service,event_id,attempted_at,subject_role,outcome,channel,referral"
LOCAL_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
REACHED = {"accepted", "declined", "already_in_help"}
CALIXA_LAVALLEE = "59030"


# --- Reading the generated files as a user of the contract would --------------------------------------


@dataclass(frozen=True)
class Intervention:
    """One row of interventions.csv, with its timestamps read as the contract says."""

    row: dict[str, str]
    occurred_at: datetime
    arrested_at: datetime | None

    @property
    def key(self) -> tuple[str, str]:
        return self.row["police_service"], self.row["event_id"]

    @property
    def service(self) -> str:
        return self.row["police_service"]

    @property
    def local(self) -> datetime:
        return self.occurred_at.astimezone(LOCAL_TIMEZONE)

    @property
    def year(self) -> int:
        return self.local.year


@dataclass(frozen=True)
class Attempt:
    """One row of outreach.csv, with its timestamp read as the contract says."""

    row: dict[str, str]
    attempted_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return self.row["police_service"], self.row["event_id"]


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def read_interventions(data: bytes) -> list[Intervention]:
    """The interventions of a generated file."""
    return [
        Intervention(
            row,
            parse_timestamp(row["occurred_at"]),
            parse_timestamp(row["arrested_at"]) if row["arrested_at"] else None,
        )
        for row in _rows(data)
    ]


def read_attempts(data: bytes) -> list[Attempt]:
    """The outreach attempts of a generated file."""
    return [Attempt(row, parse_timestamp(row["attempted_at"])) for row in _rows(data)]


def local_midnight(day: date) -> datetime:
    """The UTC instant a local day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


@dataclass(frozen=True)
class Outreach:
    """The contract's outreach figures of a cohort, computed here from the rows."""

    cohort: int
    attempted: int
    reached: int
    accepted: int
    already_in_help: int
    first_attempt_hours: tuple[float, ...]

    @property
    def reach_rate(self) -> float:
        return self.reached / self.cohort

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.reached

    @property
    def median_hours(self) -> float:
        return statistics.median(self.first_attempt_hours)

    def within_share(self, limit: float) -> float:
        return sum(value <= limit for value in self.first_attempt_hours) / self.cohort


def outreach_figures(interventions: list[Intervention], attempts: list[Attempt], service: str, year: int) -> Outreach:
    """Cohort: arrests of the service whose local arrest date is in the year; offender attempts only."""
    by_event = defaultdict(list)
    for attempt in attempts:
        if attempt.row["subject_role"] == "offender":
            by_event[attempt.key].append(attempt)
    cohort = [
        event
        for event in interventions
        if event.service == service and event.arrested_at and event.arrested_at.astimezone(LOCAL_TIMEZONE).year == year
    ]
    attempted = reached = accepted = already = 0
    first_hours = []
    for event in cohort:
        outcomes = {attempt.row["outcome"] for attempt in by_event[event.key]}
        if not outcomes:
            continue
        attempted += 1
        reached += bool(outcomes & REACHED)
        accepted += "accepted" in outcomes
        already += "accepted" not in outcomes and "already_in_help" in outcomes
        first_hours.append(hours(min(attempt.attempted_at for attempt in by_event[event.key]) - event.arrested_at))
    return Outreach(len(cohort), attempted, reached, accepted, already, tuple(first_hours))


@pytest.fixture(scope="module")
def full():
    """The demo files from 2019 to the end of 2025."""
    return generate(SEED, FULL_END)


@pytest.fixture(scope="module")
def interventions(full) -> list[Intervention]:
    return read_interventions(full.interventions)


@pytest.fixture(scope="module")
def attempts(full) -> list[Attempt]:
    return read_attempts(full.outreach)


@pytest.fixture(scope="module")
def served() -> dict[str, dict[str, int]]:
    """Municipality code → population, per police service, from the reference data."""
    places: dict[str, dict[str, int]] = defaultdict(dict)
    with (REFERENCE_DIR / "municipalities.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            places[row["police_service"]][row["code"]] = int(row["population_2021"])
    return dict(places)


# --- Determinism ----------------------------------------------------------------------------------------


def test_the_same_seed_and_end_give_identical_files():
    assert generate(SEED, SHORT_END) == generate(SEED, SHORT_END)


def test_the_files_do_not_depend_on_the_process(tmp_path):
    script = "import sys; from datetime import date; from dashboard.demo.data import generate; "
    script += "files = generate(42, date(2022, 6, 30)); sys.stdout.buffer.write(files.interventions + files.outreach)"
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            check=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "2")
    ]
    files = generate(SEED, SHORT_END)
    assert outputs[0] == outputs[1] == files.interventions + files.outreach


def test_another_seed_gives_other_files():
    first, second = generate(SEED, SHORT_END), generate(SEED + 1, SHORT_END)
    assert first.interventions != second.interventions
    assert first.outreach != second.outreach


def test_a_later_end_date_leaves_the_earlier_days_unchanged(full):
    end = date(2023, 6, 30)
    cutoff = local_midnight(end + timedelta(days=1))
    earlier = generate(SEED, end)

    def as_exported_then(row: dict[str, str]) -> dict[str, str]:
        """An arrest made after the earlier export was not in the records yet."""
        if row["arrested_at"] and parse_timestamp(row["arrested_at"]) >= cutoff:
            return {**row, "arrest": "false", "arrested_at": ""}
        return row

    expected_interventions = [
        as_exported_then(event.row) for event in read_interventions(full.interventions) if event.occurred_at < cutoff
    ]
    expected_attempts = [attempt.row for attempt in read_attempts(full.outreach) if attempt.attempted_at < cutoff]
    assert _rows(earlier.interventions) == expected_interventions
    assert _rows(earlier.outreach) == expected_attempts


def test_an_end_before_the_first_day_is_refused():
    with pytest.raises(ValueError):
        generate(SEED, date(2018, 12, 31))


# --- Form: exactly the contract --------------------------------------------------------------------------


def test_the_files_have_exactly_the_contract_columns(full):
    assert full.interventions.decode("utf-8").splitlines()[0] == CONTRACT_INTERVENTION_COLUMNS
    assert full.outreach.decode("utf-8").splitlines()[0] == CONTRACT_OUTREACH_COLUMNS
    assert (full.first_day, full.last_day) == (date(2019, 1, 1), FULL_END)


def test_timestamps_are_real_local_clock_times_without_offset(interventions, attempts):
    texts = [event.row["occurred_at"] for event in interventions]
    texts += [event.row["arrested_at"] for event in interventions if event.row["arrested_at"]]
    texts += [attempt.row["attempted_at"] for attempt in attempts]
    assert all(LOCAL_TIMESTAMP.fullmatch(text) for text in texts)
    # Read back and written again, each is unchanged: no time skipped by the spring-forward change.
    assert all(parse_timestamp(text).astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S") == text for text in texts)


def test_identifiers_are_demo_identifiers(interventions, attempts):
    event_ids = Counter(event.key for event in interventions)
    assert max(event_ids.values()) == 1
    for event in interventions:
        match = re.fullmatch(r"DEMO-(RIPRSL|SPS)-(\d{4})-(\d{6})", event.row["event_id"])
        assert match and match[1] == event.service and int(match[2]) == event.year
    attempt_ids = Counter(attempt.row["attempt_id"] for attempt in attempts)
    assert max(attempt_ids.values()) == 1
    assert all(attempt_id.startswith("DEMO-A-") for attempt_id in attempt_ids)


def test_subject_keys_are_pseudonymous(interventions):
    keys = {event.row["subject_key"] for event in interventions} - {""}
    assert keys and all(re.fullmatch(r"S-[0-9a-f]{10}", key) for key in keys)


def test_every_intervention_follows_the_contract(interventions, served):
    for event in interventions:
        assert event.row["municipality_code"] in served[event.service]
        assert event.row["arrest"] in {"true", "false"} and event.row["contact_ban"] in {"true", "false"}
        assert (event.row["arrest"] == "true") == (event.arrested_at is not None)
        assert event.arrested_at is None or event.arrested_at >= event.occurred_at


def test_every_attempt_follows_the_contract(interventions, attempts):
    by_key = {event.key: event for event in interventions}
    for attempt in attempts:
        event = by_key[attempt.key]
        assert attempt.attempted_at >= (event.arrested_at or event.occurred_at)
        assert attempt.row["subject_role"] in {"offender", "victim"}
        assert attempt.row["outcome"] in REACHED | {"no_answer"}
        assert attempt.row["channel"] in {"phone", "in_person", "sms", "other"}
        # A referral is what an accepted offer of help leads to.
        assert bool(attempt.row["referral"]) == (attempt.row["outcome"] == "accepted")


def test_nothing_lies_after_the_end_date(interventions, attempts):
    cutoff = local_midnight(FULL_END + timedelta(days=1))
    assert max(event.arrested_at or event.occurred_at for event in interventions) < cutoff
    assert max(attempt.attempted_at for attempt in attempts) < cutoff


# --- Calibration: volumes and rhythm ---------------------------------------------------------------------


def test_yearly_volumes_are_those_of_the_two_services(interventions):
    per_year = Counter((event.service, event.year) for event in interventions)
    assert 620 <= per_year["RIPRSL", 2021] <= 720
    for year in range(2019, 2026):
        assert 580 <= per_year["RIPRSL", year] <= 760
        # Saguenay: about 3 per 1,000 of its 144,723 residents.
        assert 360 <= per_year["SPS", year] <= 510


def test_municipalities_get_interventions_in_proportion_to_population(interventions, served):
    places = served["RIPRSL"]
    counts = Counter(event.row["municipality_code"] for event in interventions if event.service == "RIPRSL")
    total, population = sum(counts.values()), sum(places.values())
    for code, residents in places.items():
        expected = total * residents / population
        if residents > 10_000:
            assert 0.75 * expected <= counts[code] <= 1.25 * expected, code
    assert 0.5 <= counts[CALIXA_LAVALLEE] / 7 <= 4


def _per_day(interventions: list[Intervention], selected) -> float:
    days = [FULL_END - timedelta(days=offset) for offset in range((FULL_END - date(2019, 1, 1)).days + 1)]
    chosen = {day for day in days if selected(day)}
    return sum(event.local.date() in chosen for event in interventions) / len(chosen)


def test_weekends_summer_and_holidays_are_busier_and_february_quieter(interventions):
    average = _per_day(interventions, lambda day: True)
    assert _per_day(interventions, lambda day: day.weekday() == 5) > 1.15 * _per_day(
        interventions, lambda day: day.weekday() in (1, 2)
    )
    assert _per_day(interventions, lambda day: day.month == 7) > 1.2 * _per_day(
        interventions, lambda day: day.month == 2
    )
    assert _per_day(interventions, lambda day: day.month == 2) < 0.95 * average
    holidays = _per_day(interventions, lambda day: (day.month, day.day) >= (12, 24) or (day.month, day.day) <= (1, 2))
    assert holidays > 1.2 * average


def test_most_calls_come_in_the_evening_and_at_night(interventions):
    evening_and_night = sum(event.local.hour >= 18 or event.local.hour < 4 for event in interventions)
    assert evening_and_night / len(interventions) > 0.5


def test_daily_counts_are_poisson_like_with_a_few_spikes(interventions):
    per_day = Counter(event.local.date() for event in interventions if event.service == "RIPRSL")
    counts = [
        per_day[date(2019, 1, 1) + timedelta(days=offset)] for offset in range((FULL_END - date(2019, 1, 1)).days + 1)
    ]
    mean, variance = statistics.fmean(counts), statistics.pvariance(counts)
    assert 1.6 <= mean <= 2.0
    assert 1.0 <= variance / mean <= 1.6
    assert max(counts) >= 4 * mean


# --- Calibration: each intervention ----------------------------------------------------------------------


@pytest.mark.parametrize("service", ["RIPRSL", "SPS"])
def test_about_half_of_interventions_end_in_arrest(interventions, service):
    for year in range(2019, 2026):
        events = [event for event in interventions if event.service == service and event.year == year]
        assert 0.4 <= sum(event.arrested_at is not None for event in events) / len(events) <= 0.6


def test_arrests_mostly_within_three_hours_a_few_on_a_warrant_days_later(interventions):
    delays = [hours(event.arrested_at - event.occurred_at) for event in interventions if event.arrested_at]
    assert 0.8 <= sum(delay <= 3 for delay in delays) / len(delays) <= 0.9
    assert 0.02 <= sum(delay >= 48 for delay in delays) / len(delays) <= 0.08


def test_a_contact_ban_is_in_force_in_about_30_percent(interventions):
    bans = sum(event.row["contact_ban"] == "true" for event in interventions)
    assert 0.25 <= bans / len(interventions) <= 0.35


def test_subject_keys_are_sometimes_missing_and_often_repeat(interventions):
    assert 0.05 <= sum(not event.row["subject_key"] for event in interventions) / len(interventions) <= 0.10
    last_seen: dict[tuple[str, str], datetime] = {}
    keyed, repeats = Counter(), Counter()
    for event in sorted(interventions, key=lambda event: event.occurred_at):
        if not event.row["subject_key"]:
            continue
        subject = (event.service, event.row["subject_key"])
        keyed[event.year] += 1
        earlier = last_seen.get(subject)
        repeats[event.year] += earlier is not None and event.occurred_at - earlier <= timedelta(hours=365 * 24)
        last_seen[subject] = event.occurred_at
    for year in range(2020, 2026):
        assert 0.2 <= repeats[year] / keyed[year] <= 0.3


# --- Calibration: outreach --------------------------------------------------------------------------------


def test_no_attempt_before_the_program_starts(interventions, attempts):
    start = local_midnight(PROGRAM_START)
    assert min(attempt.attempted_at for attempt in attempts) >= start
    by_key = {event.key: event for event in interventions}
    assert all((by_key[attempt.key].arrested_at or by_key[attempt.key].occurred_at) >= start for attempt in attempts)


@pytest.mark.parametrize(
    ("service", "least_acceptance"),
    [("RIPRSL", 0.5), ("SPS", 0.45)],
)
def test_the_2024_outreach_figures_look_like_the_program(interventions, attempts, service, least_acceptance):
    figures = outreach_figures(interventions, attempts, service, 2024)
    assert 0.9 <= figures.attempted / figures.cohort <= 0.97
    assert 0.75 <= figures.reach_rate <= 0.9
    assert least_acceptance < figures.acceptance_rate < 0.7
    assert 0.15 <= figures.already_in_help / figures.reached <= 0.3
    assert 6 <= figures.median_hours <= 48
    assert 0.1 <= sum(value <= 6 for value in figures.first_attempt_hours) / figures.attempted <= 0.25
    assert figures.within_share(24) < figures.within_share(48)
    assert 0.05 <= sum(value > 72 for value in figures.first_attempt_hours) / figures.attempted <= 0.2


def test_the_embedded_worker_calls_sooner_than_the_partner_organisation(interventions, attempts):
    partner = outreach_figures(interventions, attempts, "RIPRSL", 2024)
    embedded = outreach_figures(interventions, attempts, "SPS", 2024)
    assert embedded.median_hours < partner.median_hours
    assert partner.within_share(48) > 0.6


def test_first_attempts_are_slower_after_a_weekend_arrest(interventions, attempts):
    first: dict[tuple[str, str], datetime] = {}
    for attempt in attempts:
        if attempt.row["subject_role"] == "offender":
            first[attempt.key] = min(first.get(attempt.key, attempt.attempted_at), attempt.attempted_at)
    delays = defaultdict(list)
    for event in interventions:
        if event.arrested_at and event.key in first:
            weekend = event.arrested_at.astimezone(LOCAL_TIMEZONE).weekday() >= 4
            delays[weekend].append(hours(first[event.key] - event.arrested_at))
    assert statistics.median(delays[True]) > statistics.median(delays[False]) + 6


def test_unanswered_men_get_up_to_four_attempts_a_day_or_two_apart(attempts):
    series = defaultdict(list)
    for attempt in attempts:
        if attempt.row["subject_role"] == "offender":
            series[attempt.key].append(attempt.attempted_at)
    lengths = Counter(len(moments) for moments in series.values())
    assert max(lengths) == 4 and lengths[3] > 0
    gaps = [hours(later - earlier) for moments in series.values() for earlier, later in pairwise(moments)]
    assert min(gaps) >= 20 and statistics.median(gaps) <= 60


@pytest.mark.parametrize(("service", "low", "high"), [("RIPRSL", 0.35, 0.45), ("SPS", 0.5, 0.6)])
def test_victims_are_followed_up_too(interventions, attempts, service, low, high):
    start = local_midnight(PROGRAM_START)
    followed = {attempt.key for attempt in attempts if attempt.row["subject_role"] == "victim"}
    since = [
        event
        for event in interventions
        if event.service == service and (event.arrested_at or event.occurred_at) >= start
    ]
    assert low <= sum(event.key in followed for event in since) / len(since) <= high
    referrals = {attempt.row["referral"] for attempt in attempts if attempt.row["subject_role"] == "victim"}
    assert {"shelter", "victim_assistance", "legal"} <= referrals
    assert not referrals & {"men_program", "addiction", "therapy"}


def test_channels_and_referrals_of_accepted_men(attempts):
    offenders = [attempt.row for attempt in attempts if attempt.row["subject_role"] == "offender"]
    channels = Counter(row["channel"] for row in offenders)
    assert channels["phone"] / len(offenders) > 0.7 and channels["sms"] and channels["in_person"]
    referrals = Counter(row["referral"] for row in offenders if row["outcome"] == "accepted")
    assert referrals.most_common(1)[0][0] == "men_program"
    assert {"therapy", "addiction", "legal"} <= set(referrals)


def test_the_last_arrests_are_still_waiting_in_the_queue(interventions, attempts):
    attempted = {attempt.key for attempt in attempts if attempt.row["subject_role"] == "offender"}
    recent = [event for event in interventions if event.arrested_at and event.arrested_at >= local_midnight(FULL_END)]
    assert recent and sum(event.key not in attempted for event in recent) / len(recent) > 0.5


# --- The database --------------------------------------------------------------------------------------


def _import(engine, files) -> None:
    for kind, data in files.by_kind().items():
        report = import_file(engine, kind, data, f"{kind}.csv", imported_by="test")
        assert report.problems == [] and report.written
        assert report.accepted == len(_rows(data))


def test_the_generated_files_import_without_a_problem(engine):
    _import(engine, generate(SEED, SHORT_END))


REAL_INTERVENTION = (
    CONTRACT_INTERVENTION_COLUMNS
    + "\n2024-000123,RIPRSL,57040,2024-03-10 01:30:00,true,2024-03-10 03:30:00,S-1,false\n"
).encode("utf-8")


def test_real_rows_are_refused_beside_demo_rows_unless_they_replace_them(engine):
    load_demo_files(engine, generate(SEED, SHORT_END))
    refused = import_file(engine, "interventions", REAL_INTERVENTION, "real.csv")
    assert (refused.status, refused.file_problem, refused.written) == ("rejected", True, False)
    assert "--replace-demo" in refused.problems[0].reason
    replaced = import_file(engine, "interventions", REAL_INTERVENTION, "real.csv", replace_demo=True)
    assert (replaced.status, replaced.accepted) == ("imported", 1)
    with engine.connect() as connection:
        assert connection.scalars(select(intervention.c.event_id)).all() == ["2024-000123"]
        assert connection.scalar(select(func.count()).select_from(outreach_attempt)) == 0
        assert connection.scalar(select(func.count()).select_from(import_batch).where(import_batch.c.demo)) == 0


def test_demo_rows_are_refused_beside_real_rows_and_recognised_by_their_flag(engine):
    """A real event number that looks like a demo one is still real: the flag decides, not the spelling."""
    looks_like_demo = REAL_INTERVENTION.replace(b"2024-000123", b"demo-2024-000123")
    import_file(engine, "interventions", looks_like_demo, "real.csv")
    refused = import_file(engine, "interventions", REAL_INTERVENTION, "demo.csv", demo=True)
    assert (refused.status, refused.file_problem) == ("rejected", True)
    with engine.begin() as connection:
        delete_demo_rows(connection)
    with engine.connect() as connection:
        assert connection.execute(select(intervention.c.event_id, intervention.c.demo)).all() == [
            ("demo-2024-000123", False)]


def _snapshot(engine) -> tuple[list, list, int]:
    with engine.connect() as connection:
        events = connection.execute(
            select(
                intervention.c.police_service,
                intervention.c.event_id,
                intervention.c.municipality_code,
                intervention.c.occurred_us,
                intervention.c.arrested_us,
                intervention.c.subject_key,
                intervention.c.contact_ban,
            ).order_by(intervention.c.police_service, intervention.c.event_id)
        ).all()
        calls = connection.execute(
            select(
                outreach_attempt.c.attempt_id,
                outreach_attempt.c.event_id,
                outreach_attempt.c.attempted_us,
                outreach_attempt.c.outcome,
                outreach_attempt.c.referral,
            ).order_by(outreach_attempt.c.attempt_id)
        ).all()
        batches = connection.scalar(select(func.count()).select_from(import_batch))
    return events, calls, batches


def test_running_the_command_twice_gives_the_same_database(engine, capsys, interventions, attempts):
    assert run_demo_data_command(engine, SEED, None, end=FULL_END) == exits.EXIT_OK
    first_output, first = capsys.readouterr().out, _snapshot(engine)
    assert run_demo_data_command(engine, SEED, None, end=FULL_END) == exits.EXIT_OK
    assert capsys.readouterr().out == first_output
    assert _snapshot(engine) == first
    assert len(first[0]) == len(interventions) and len(first[1]) == len(attempts) and first[2] == 2

    expected: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in interventions:
        expected[event.service, event.year][0] += 1
        expected[event.service, event.year][1] += event.arrested_at is not None
    for attempt in attempts:
        expected[attempt.row["police_service"], attempt.attempted_at.astimezone(LOCAL_TIMEZONE).year][2] += 1
    with engine.connect() as connection:
        counts = {
            (row.police_service, row.year): [row.interventions, row.arrests, row.attempts]
            for row in demo_counts(connection)
        }
    assert counts == expected
    assert "RIPRSL" in first_output and "2021" in first_output and "Tentatives de contact" in first_output


def test_the_command_writes_the_csv_files_it_imports(engine, tmp_path, capsys):
    directory = tmp_path / "demo"
    assert run_demo_data_command(engine, SEED, directory, end=SHORT_END) == exits.EXIT_OK
    files = generate(SEED, SHORT_END)
    assert (directory / "interventions.csv").read_bytes() == files.interventions
    assert (directory / "outreach.csv").read_bytes() == files.outreach
    assert str(directory / "interventions.csv") in capsys.readouterr().out


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "Rien n'a été modifié"), ("en", "Nothing was changed")],
)
def test_the_command_refuses_a_database_with_real_interventions(engine, capsys, monkeypatch, language, expected):
    monkeypatch.setenv("RELAIS_LANGUAGE", language)
    import_file(engine, "interventions", REAL_INTERVENTION, "real.csv")
    assert run_demo_data_command(engine, SEED, None, end=SHORT_END) == exits.EXIT_INVALID
    error = capsys.readouterr().err
    assert expected in error and "DEMO-" in error
    with engine.connect() as connection:
        assert connection.scalars(select(intervention.c.event_id)).all() == ["2024-000123"]


def test_the_command_asks_for_init_db_on_an_empty_database(tmp_path, capsys):
    engine = build_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert run_demo_data_command(engine, SEED, None, end=SHORT_END) == exits.EXIT_INVALID
    assert "python -m dashboard init-db" in capsys.readouterr().err
    engine.dispose()


def test_the_command_line_loads_demo_data_up_to_now(database_url, monkeypatch, capsys):
    """Up to this minute, nothing after it: the worker's queue holds the last hours' arrests."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli_main(["demo-data", "--seed", "7"]) == exits.EXIT_OK
    now = datetime.now(UTC)
    engine = build_engine(database_url)
    with engine.connect() as connection:
        last = [connection.scalar(select(func.max(column))) for column in (
            intervention.c.occurred_at, intervention.c.arrested_at, outreach_attempt.c.attempted_at)]
    engine.dispose()
    assert all(now - timedelta(days=7) <= moment.replace(tzinfo=UTC) <= now for moment in last)
    assert "graine 7" in capsys.readouterr().out


def demo_audit(engine) -> list[tuple[dict, dict]]:
    """Each `demo-data` audit row: what was asked, and what was done, without who ran it."""
    import json

    from queries.schema import audit_event

    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.filters, audit_event.c.detail)
                                  .where(audit_event.c.action == "demo_data").order_by(audit_event.c.id)).all()
    return [(json.loads(filters), {key: value for key, value in json.loads(detail).items()
                                   if key not in ("os_user", "relais_user")}) for filters, detail in rows]


def test_the_command_audits_what_it_loaded_refused_or_crashed_on(engine, capsys, monkeypatch):
    import hashlib

    from dashboard.commands import demo_data

    assert run_demo_data_command(engine, SEED, None, end=SHORT_END) == exits.EXIT_OK
    files = generate(SEED, SHORT_END)
    with engine.connect() as connection:
        stored = {kind: connection.execute(select(func.count(), func.max(table.c.batch_id))).one()
                  for kind, table in (("interventions", intervention), ("outreach", outreach_attempt))}
    asked = {"seed": SEED, "end": "2022-06-30", "write_csv": False}
    loaded = {"status": "loaded", "from": "2019-01-01", "to": "2022-06-30", "files": {
        kind: {"sha256": hashlib.sha256(data).hexdigest(), "rows": stored[kind][0], "batch_id": stored[kind][1]}
        for kind, data in files.by_kind().items()}}
    assert demo_audit(engine) == [(asked, loaded)]
    assert stored["interventions"][0] > 1000

    def crash(*_arguments):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(demo_data, "load_demo_files", crash)
    with pytest.raises(RuntimeError):
        run_demo_data_command(engine, SEED, None, end=SHORT_END)
    import_file(engine, "interventions", REAL_INTERVENTION, "real.csv", replace_demo=True)
    assert run_demo_data_command(engine, SEED, None, end=SHORT_END) == exits.EXIT_INVALID
    assert demo_audit(engine)[1:] == [(asked, {"status": "failed", "error": "RuntimeError"}),
                                      (asked, {"status": "refused", "reason": "real_data", "real_rows": 1})]
