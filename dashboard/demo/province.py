"""Province-scale synthetic data: a thousand municipalities, thirty police services, a million interventions.

Drawn from the demo data's calibration and written straight into the tables, with the columns the importer
computes, so that a benchmark database is ready in minutes rather than hours.
"""

from __future__ import annotations

import csv
import io
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate, chain, islice
from operator import itemgetter

from sqlalchemy import Connection, Engine, Table, func, select

from dashboard.demo.calibration import (
    ARREST_DELAY_HOURS,
    ARREST_SHARE_OTHERWISE,
    ARREST_SHARE_WITH_BAN,
    CONTACT_BAN_SHARE_FIRST,
    CONTACT_BAN_SHARE_REPEAT,
    DEMO_PSEUDONYM_KEYS,
    EMPTY_SUBJECT_KEY_SHARE,
    FIRST_DAY,
    HOUR_OF_DAY,
    LATE_DELAY_HOURS,
    NO_ANSWER_CHANNELS,
    OUTREACH_PROFILES,
    PROGRAM_START,
    QUICK_DELAY_HOURS,
    REPEAT_SUBJECT_SHARE,
    REPEAT_WINDOW,
    RETRY_DELAY_HOURS,
    SAME_MUNICIPALITY_SHARE,
    Weighted,
    local_moment,
    rhythm,
)
from dashboard.demo.data import generate, load_demo_files, yesterday
from dashboard.ingest.importer import KINDS, WRITE_CHUNK, Reference
from dashboard.ingest.pseudonyms import normalised_subject_key, pseudonym
from queries.localtime import local_date, moment_columns, parse_timestamp
from queries.precomputed import refresh_all_outreach, refresh_all_subject_links
from queries.reference import REFERENCE_DIR
from queries.schema import intervention, membership, municipality, outreach_attempt, police_service
from queries.weekly import refresh_all_weeks
from queries.writes import service_memberships, upsert

PROVINCE_MUNICIPALITIES, PROVINCE_SERVICES, PROVINCE_INTERVENTIONS = 1_100, 30, 1_000_000
SYNTHETIC_SERVICE_PREFIX = "SYN"
PROVINCE_EVENT_PREFIX = "PROV-"
# Quebec's municipalities are mostly villages and a few cities: a median near 1,600 residents, a long tail.
POPULATION_LOG_MEDIAN, POPULATION_LOG_SIGMA, SMALLEST_POPULATION = 7.4, 1.5, 50
# Boxes drawn inside Quebec's borders where its municipalities are, weighted by roughly how many each holds.
QUEBEC_REGIONS = Weighted.of(
    {
        ((45.1, 46.0), (-74.2, -71.6)): 0.35,  # Montréal, Montérégie, Estrie
        ((46.0, 47.0), (-75.5, -70.5)): 0.30,  # Laurentides to Beauce
        ((47.6, 48.8), (-72.5, -68.6)): 0.20,  # Saguenay–Lac-Saint-Jean, Bas-Saint-Laurent
        ((47.8, 48.8), (-79.3, -77.0)): 0.08,  # Abitibi-Témiscamingue
        ((48.3, 49.0), (-66.5, -64.6)): 0.07,  # Gaspésie
    }
)
# The demo's first-call delays without its model of the worker's hours: some within hours, most a day or two later.
FIRST_CALL_DELAY_HOURS = Weighted.of({QUICK_DELAY_HOURS: 0.35, (24.0, 48.0): 0.57, LATE_DELAY_HOURS: 0.08})
DEMO_SEED = 42


LOCAL_FORMAT, OFFSET_FORMAT = "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S-05:00"
COLUMNS = KINDS["interventions"].columns


def _served_municipalities() -> list[tuple[str, str]]:
    with (REFERENCE_DIR / "municipalities.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["police_service"], row["code"]) for row in csv.DictReader(handle)]


def spreadsheet_interventions_file(rows: int, seed: int = DEMO_SEED) -> bytes:
    """A valid interventions file as a French spreadsheet writes it: `;`, oui/non, local times, some offsets."""
    generator = random.Random(seed)
    places = _served_municipalities()
    start = datetime(2019, 1, 1)
    output = io.StringIO()
    writer = csv.writer(output, delimiter=";")
    writer.writerow(COLUMNS)
    for index in range(rows):
        service, code = generator.choice(places)
        occurred = start + timedelta(minutes=generator.randrange(6 * 365 * 24 * 60))
        arrest = generator.random() < 0.4
        stamp = LOCAL_FORMAT if index % 5 else OFFSET_FORMAT
        occurred_text = occurred.strftime(stamp)
        arrested_text = (occurred + timedelta(minutes=generator.randrange(12 * 60))).strftime(stamp) if arrest else ""
        if arrested_text and parse_timestamp(arrested_text) < parse_timestamp(occurred_text):
            # Only across a daylight-saving change, where fold=0 can put the later local time first.
            arrested_text = occurred_text
        writer.writerow(
            (
                f"{service}-{index:07d}",
                service,
                code,
                occurred_text,
                "oui" if arrest else "non",
                arrested_text,
                f"S{generator.randrange(rows // 3 + 1):06d}" if generator.random() < 0.8 else "",
                "oui" if generator.random() < 0.1 else "non",
            )
        )
    return ("\ufeff" + output.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class DataLoad:
    """What one data set put into a scratch database, and how long writing and analysing it took."""

    scale: str
    municipalities: int
    police_services: int
    interventions: int
    attempts: int
    load_seconds: float
    analyze_seconds: float = 0.0


class _RecentSubjects:
    """The last subjects a police service met, as (key, municipality), for repeat interventions."""

    def __init__(self, capacity: int) -> None:
        self._slots: list[tuple[str, str]] = []
        self._capacity = capacity
        self._oldest = 0

    def pick(self, rng: random.Random) -> tuple[str, str] | None:
        """One recent subject, or None before the first."""
        return rng.choice(self._slots) if self._slots else None

    def add(self, subject: tuple[str, str]) -> None:
        """Remember a subject, forgetting the oldest when full."""
        if len(self._slots) < self._capacity:
            self._slots.append(subject)
        else:
            self._slots[self._oldest] = subject
            self._oldest = (self._oldest + 1) % self._capacity


def _synthetic_reference(
    rng: random.Random, municipalities: int, services: int, taken: set[str]
) -> tuple[list[dict], list[dict], list[dict]]:
    """Police services, municipalities with skewed populations and centroids in Quebec, and who serves whom."""
    service_rows = [
        {
            "code": f"{SYNTHETIC_SERVICE_PREFIX}{serial:02d}",
            "name_fr": f"Service de police synthétique {serial:02d}",
            "name_en": f"Synthetic police service {serial:02d}",
        }
        for serial in range(1, services + 1)
    ]
    # Service sizes are skewed as well: a provincial force serves hundreds of places, most forces a handful.
    served_by = Weighted.of({row["code"]: 1 / rank for rank, row in enumerate(service_rows, start=1)})
    free_codes = [code for code in map("{:05d}".format, range(1000, 100_000)) if code not in taken]
    codes = sorted(rng.sample(free_codes, municipalities))
    municipality_rows, membership_rows = [], []
    for serial, code in enumerate(codes, start=1):
        (south, north), (west, east) = QUEBEC_REGIONS.pick(rng)
        population = round(rng.lognormvariate(POPULATION_LOG_MEDIAN, POPULATION_LOG_SIGMA))
        municipality_rows.append(
            {
                "code": code,
                "census_code": "24" + code,
                "name": f"Municipalité synthétique {serial:04d}",
                "population_2021": max(SMALLEST_POPULATION, population),
                "latitude": round(rng.uniform(south, north), 4),
                "longitude": round(rng.uniform(west, east), 4),
            }
        )
        service = served_by.pick(rng)
        membership_rows.append({"municipality_code": code, "police_service": service, "member_from": None,
                                "member_until": None})
    return service_rows, municipality_rows, membership_rows


def _add_synthetic_reference(connection: Connection, rng: random.Random, municipalities: int, services: int) -> None:
    taken = set(connection.scalars(select(municipality.c.code)))
    service_rows, municipality_rows, membership_rows = _synthetic_reference(rng, municipalities, services, taken)
    upsert(connection, police_service, ("code",), service_rows)
    upsert(connection, municipality, ("code",), municipality_rows)
    connection.execute(membership.insert(), membership_rows)


def _occurrences(rng: random.Random, count: int, end: date) -> Iterator[datetime]:
    """Count instants from FIRST_DAY to the end date, in time order, busier on weekends, in summer and on holidays."""
    days = [FIRST_DAY + timedelta(days=offset) for offset in range((end - FIRST_DAY).days + 1)]
    per_day = Counter(rng.choices(days, cum_weights=list(accumulate(map(rhythm, days))), k=count))
    for day in days:
        yield from sorted(
            local_moment(day, HOUR_OF_DAY.pick(rng), rng.randrange(60), rng.randrange(60))
            for _ in range(per_day[day])
        )


def _intervention_rows(rng: random.Random, connection: Connection, count: int, end: date) -> Iterator[dict]:
    """Intervention rows as the importer builds them, spread over every served municipality by population."""
    places = connection.execute(
        select(membership.c.police_service, municipality.c.code, municipality.c.population_2021)
        .join(municipality)
        .order_by(membership.c.id)
    ).all()
    reference = Reference({}, memberships=service_memberships(connection))
    by_population = Weighted.of({(service, code): population for service, code, population in places})
    residents = Counter()
    for service, _code, population in places:
        residents[service] += population
    interventions_a_year = count * REPEAT_WINDOW.days / ((end - FIRST_DAY).days + 1)
    # A year of each service's identified subjects: a repeat then comes within the 12 months the metrics look at.
    recent = {
        service: _RecentSubjects(max(1, round(interventions_a_year * population / by_population.cumulative[-1])))
        for service, population in residents.items()
    }
    cutoff = local_moment(end + timedelta(days=1), 0)
    for index, occurred_at in enumerate(_occurrences(rng, count, end)):
        day = local_date(occurred_at)
        service, code = by_population.pick(rng)
        while not reference.serves(service, code, day):
            service, code = by_population.pick(rng)
        subject_key, repeat = None, False
        if rng.random() >= EMPTY_SUBJECT_KEY_SHARE:
            known = recent[service].pick(rng) if rng.random() < REPEAT_SUBJECT_SHARE else None
            if known:
                subject_key, home = known
                repeat = True
                if rng.random() < SAME_MUNICIPALITY_SHARE and reference.serves(service, home, day):
                    code = home
            else:
                subject_key = f"S-{index:07d}"
            recent[service].add((subject_key, code))
        contact_ban = rng.random() < (CONTACT_BAN_SHARE_REPEAT if repeat else CONTACT_BAN_SHARE_FIRST)
        arrested_at = None
        if rng.random() < (ARREST_SHARE_WITH_BAN if contact_ban else ARREST_SHARE_OTHERWISE):
            arrested_at = occurred_at + timedelta(hours=rng.uniform(*ARREST_DELAY_HOURS.pick(rng)))
            if arrested_at >= cutoff:  # not in the police records yet, as in the demo's export
                arrested_at = None
        yield {
            "police_service": service,
            "event_id": f"{PROVINCE_EVENT_PREFIX}{index:07d}",
            "municipality_code": code,
            **moment_columns("occurred", occurred_at),
            "arrest": arrested_at is not None,
            **moment_columns("arrested", arrested_at),
            "subject_key": subject_key and pseudonym(normalised_subject_key(subject_key), DEMO_PSEUDONYM_KEYS),
            "contact_ban": contact_ban,
        }


def _attempt_rows(rng: random.Random, connection: Connection, end: date) -> Iterator[dict]:
    """The worker's calls to each man arrested since the program started, as the importer builds attempt rows."""
    arrests = connection.execute(
        select(intervention.c.id, intervention.c.police_service, intervention.c.event_id, intervention.c.arrested_at)
        .where(intervention.c.arrested_date >= PROGRAM_START)
        .order_by(intervention.c.id)
    ).all()
    cutoff = local_moment(end + timedelta(days=1), 0)
    for intervention_id, service, event_id, arrested_at in arrests:
        profile = OUTREACH_PROFILES.get(service, OUTREACH_PROFILES["RIPRSL"])
        if rng.random() < profile.never_attempted_share:
            continue
        mix = profile.offender
        attempted_at = arrested_at + timedelta(hours=rng.uniform(*FIRST_CALL_DELAY_HOURS.pick(rng)))
        for sequence in range(1, rng.choice(mix.max_attempts) + 1):
            if attempted_at >= cutoff:
                break
            reached = rng.random() >= mix.no_answer_chance
            outcome = mix.outcomes.pick(rng) if reached else "no_answer"
            yield {
                "attempt_id": f"{event_id}-O{sequence}",
                "intervention_id": intervention_id,
                "police_service": service,
                "event_id": event_id,
                **moment_columns("attempted", attempted_at, with_week=False),
                "subject_role": "offender",
                "outcome": outcome,
                "channel": (profile.channels if reached else NO_ANSWER_CHANNELS).pick(rng),
                "referral": mix.referrals.pick(rng) if outcome == "accepted" else None,
            }
            if reached:
                break
            attempted_at += timedelta(hours=rng.uniform(*RETRY_DELAY_HOURS))


def _copy_rows(connection: Connection, table: Table, rows: Iterator[dict]) -> int:
    """COPY rows into a PostgreSQL table, each value bound by its column's type as an INSERT binds it."""
    first = next(rows, None)
    if first is None:
        return 0
    names = list(first)
    values = itemgetter(*names)
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in names]
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(map(quote, names))}) FROM STDIN"
    written = 0
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in chain([first], rows):
            copy.write_row([process(value) if process else value for process, value in zip(processors, values(row))])
            written += 1
    return written


def bulk_insert(connection: Connection, table: Table, rows: Iterable[dict]) -> int:
    """Insert many rows fast: COPY on PostgreSQL, executemany in chunks on SQLite; how many were written."""
    rows = iter(rows)
    if connection.dialect.name == "postgresql":
        return _copy_rows(connection, table, rows)
    written = 0
    while chunk := list(islice(rows, WRITE_CHUNK)):
        connection.execute(table.insert(), chunk)
        written += len(chunk)
    return written


def analyze(engine: Engine) -> float:
    """Refresh the planners' statistics; the seconds it took."""
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        # VACUUM too, as autovacuum would have by now on a database in use: index-only scans need the visibility
        # map, and an autovacuum starting during the timings would disturb them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def generate_province(
    engine: Engine,
    interventions: int = PROVINCE_INTERVENTIONS,
    municipalities: int = PROVINCE_MUNICIPALITIES,
    services: int = PROVINCE_SERVICES,
    *,
    seed: int = DEMO_SEED,
    end: date | None = None,
) -> DataLoad:
    """Fill a scratch database with synthetic services, municipalities, interventions and outreach, province-sized."""
    rng = random.Random(seed)
    end = end or yesterday()
    started = time.perf_counter()
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # A scratch database: losing it to a crash costs nothing, waiting for each fsync costs minutes.
            connection.exec_driver_sql("PRAGMA synchronous = OFF")
        _add_synthetic_reference(connection, rng, municipalities, services)
        written = bulk_insert(connection, intervention, _intervention_rows(rng, connection, interventions, end))
        attempts = bulk_insert(connection, outreach_attempt, _attempt_rows(rng, connection, end))
        # Written past the importer: what it stores on write is computed here, for every row at once.
        refresh_all_subject_links(connection)
        refresh_all_outreach(connection)
        refresh_all_weeks(connection)
        connection.commit()
        places = connection.scalar(select(func.count()).select_from(municipality))
        forces = connection.scalar(select(func.count()).select_from(police_service))
    return DataLoad("province", places, forces, written, attempts, time.perf_counter() - started)


def load_demo(engine: Engine) -> DataLoad:
    """The demo data, loaded through the importer as `demo-data` loads it."""
    started = time.perf_counter()
    interventions, attempts = load_demo_files(engine, generate(DEMO_SEED, yesterday()))
    with engine.connect() as connection:
        places = connection.scalar(select(func.count()).select_from(municipality))
        forces = connection.scalar(select(func.count()).select_from(police_service))
    return DataLoad("demo", places, forces, interventions.accepted, attempts.accepted, time.perf_counter() - started)
