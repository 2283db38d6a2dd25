"""`python -m dashboard benchmark`: import speed, and each page's server time on demo and province-scale data."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import accumulate, chain, islice
from operator import itemgetter
from pathlib import Path

import pyarrow
import streamlit as st
from sqlalchemy import Connection, Engine, Table, func, select
from streamlit import config as streamlit_config
from streamlit import logger as streamlit_logger
from streamlit.testing.v1 import AppTest

from auth.viewer import PAGES
from dashboard import settings
from dashboard.cli import EXIT_INVALID, EXIT_OK
from dashboard.database import engine_for
from dashboard.demo_data import (
    ARREST_DELAY_HOURS,
    ARREST_SHARE_OTHERWISE,
    ARREST_SHARE_WITH_BAN,
    CONTACT_BAN_SHARE_FIRST,
    CONTACT_BAN_SHARE_REPEAT,
    EMPTY_SUBJECT_KEY_SHARE,
    FILE_NAMES,
    FIRST_DAY,
    HOUR_OF_DAY,
    IMPORTED_BY,
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
    _local_moment,
    _rhythm,
    generate,
    yesterday,
)
from dashboard.i18n import number, t
from dashboard.importer import KINDS, WRITE_CHUNK, ImportReport, Reference, _moment_columns, import_file, problem_table
from dashboard.scratch import BACKENDS, scratch_database
from queries.localtime import local_date, parse_timestamp
from queries.reference import REFERENCE_DIR
from queries.schema import intervention, membership, municipality, outreach_attempt, police_service
from queries.writes import service_memberships, upsert

TARGET_ROWS, TARGET_SECONDS = 100_000, 30.0
LOCAL_FORMAT, OFFSET_FORMAT = "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S-05:00"
COLUMNS = KINDS["interventions"].columns
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _served_municipalities() -> list[tuple[str, str]]:
    with (REFERENCE_DIR / "municipalities.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["police_service"], row["code"]) for row in csv.DictReader(handle)]


def interventions_file(rows: int, seed: int = 42) -> bytes:
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


def _figures(phase: str, rows: int, seconds: float) -> str:
    rate, unit = number(rows / seconds if seconds else 0.0), t("import.benchmark.per_second")
    return f"{phase:<34} {number(rows):>10} {number(seconds, digits=2):>8} s {rate:>10} {unit}"


def _report_lines(label: str, report: ImportReport) -> list[str]:
    total = report.check_seconds + report.write_seconds
    return [
        _figures(t("import.benchmark.check", label=label), report.rows_read, report.check_seconds),
        _figures(t("import.benchmark.write", label=label), report.accepted, report.write_seconds),
        _figures(t("import.benchmark.total", label=label), report.rows_read, total),
    ]


def run_import_benchmark(rows: int, backend: str = "sqlite") -> int:
    """Import a generated file twice into a throwaway database and print the time of each phase."""
    data = interventions_file(rows)
    with scratch_database(backend) as engine:
        first = import_file(engine, "interventions", data, "benchmark.csv", imported_by="benchmark")
        again = import_file(engine, "interventions", data, "benchmark.csv", imported_by="benchmark")
    if first.status != "imported":
        print(problem_table(first.problems[:20]), file=sys.stderr)
        return 1
    print(t("import.benchmark.title", rows=number(rows), megabytes=number(len(data) / 1e6, digits=1), backend=BACKEND_NAMES[backend]))
    lines = _report_lines(t("import.benchmark.first"), first) + _report_lines(t("import.benchmark.again"), again)
    print("\n".join(lines))
    seconds = first.check_seconds + first.write_seconds
    projected = number(seconds * TARGET_ROWS / rows if rows else 0.0, digits=1)
    print(t("import.benchmark.target", rows=number(TARGET_ROWS), limit=number(TARGET_SECONDS), seconds=projected))
    return 0


# --- Province-scale data -----------------------------------------------------------------------------

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
    per_day = Counter(rng.choices(days, cum_weights=list(accumulate(map(_rhythm, days))), k=count))
    for day in days:
        yield from sorted(
            _local_moment(day, HOUR_OF_DAY.pick(rng), rng.randrange(60), rng.randrange(60))
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
    cutoff = _local_moment(end + timedelta(days=1), 0)
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
            **_moment_columns("occurred", occurred_at),
            "arrest": arrested_at is not None,
            **_moment_columns("arrested", arrested_at),
            "subject_key": subject_key,
            "contact_ban": contact_ban,
        }


def _attempt_rows(rng: random.Random, connection: Connection, end: date) -> Iterator[dict]:
    """The worker's calls to each man arrested since the program started, as the importer builds attempt rows."""
    arrests = connection.execute(
        select(intervention.c.id, intervention.c.police_service, intervention.c.event_id, intervention.c.arrested_at)
        .where(intervention.c.arrested_date >= PROGRAM_START)
        .order_by(intervention.c.id)
    ).all()
    cutoff = _local_moment(end + timedelta(days=1), 0)
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
                **_moment_columns("attempted", attempted_at, with_week=False),
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
        connection.commit()
        places = connection.scalar(select(func.count()).select_from(municipality))
        forces = connection.scalar(select(func.count()).select_from(police_service))
    return DataLoad("province", places, forces, written, attempts, time.perf_counter() - started)


def load_demo(engine: Engine) -> DataLoad:
    """The demo data, loaded through the importer as `demo-data` loads it."""
    started = time.perf_counter()
    files = generate(DEMO_SEED, yesterday())
    with engine.begin() as connection:
        reports = [
            import_file(connection, kind, data, FILE_NAMES[kind], imported_by=IMPORTED_BY)
            for kind, data in files.by_kind().items()
        ]
        places = connection.scalar(select(func.count()).select_from(municipality))
        forces = connection.scalar(select(func.count()).select_from(police_service))
    failed = [report for report in reports if not report.written or report.problems]
    if failed:
        raise RuntimeError(problem_table(failed[0].problems[:20]))
    loaded, attempted = (report.accepted for report in reports)
    return DataLoad("demo", places, forces, loaded, attempted, time.perf_counter() - started)


# --- Page timings -----------------------------------------------------------------------------------

APP = settings.PROJECT_ROOT / "dashboard" / "app.py"
PAGES_DIR = settings.PROJECT_ROOT / "pages"
RUN_TIMEOUT_SECONDS = 600
ERROR_DETAILS = "client.showErrorDetails"
TARGET_WARM_MS = 300
DEFAULT_RERUNS = 5
BENCHMARK_AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "benchmark-only",
    "client_id": "relais-benchmark",
    "client_secret": "benchmark-only",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
# Each page is timed for the first of these who may open it; province-wide scopes are the heaviest views.
BENCHMARK_VIEWERS = (
    {"sub": "benchmark-captain", "roles": ["captain"], "police_services": ["*"]},
    {"sub": "benchmark-director", "roles": ["director"], "police_services": ["*"]},
    {"sub": "benchmark-worker", "roles": ["worker"], "police_services": ["RIPRSL"]},
    {"sub": "benchmark-admin", "roles": ["admin"], "police_services": ["*"]},
)


class PageFailed(Exception):
    """A page that raised while being timed."""


@dataclass(frozen=True)
class Payload:
    """The data rows and bytes a page's charts, maps and tables carry to the browser."""

    rows: int = 0
    size: int = 0

    def __add__(self, other: Payload) -> Payload:
        return Payload(self.rows + other.rows, self.size + other.size)


@dataclass(frozen=True)
class PageTiming:
    """One page's server time per rerun, cold and warm, and what it sends to the browser."""

    page: str
    role: str
    cold_ms: float
    warm_ms: tuple[float, ...]
    payload: Payload

    @property
    def warm_median_ms(self) -> float:
        """The typical warm rerun."""
        return statistics.median(self.warm_ms)

    @property
    def warm_max_ms(self) -> float:
        """The slowest warm rerun."""
        return max(self.warm_ms)


def _arrow_payload(data: bytes) -> Payload:
    rows = pyarrow.ipc.open_stream(data).read_all().num_rows if data else 0
    return Payload(rows, len(data))


def _inline_rows(spec: object) -> int:
    """Rows written into a Vega-Lite spec itself (`data.values`, `datasets`), at any depth."""
    if isinstance(spec, list):
        return sum(map(_inline_rows, spec))
    if not isinstance(spec, dict):
        return 0
    inline = spec.get("data", {}).get("values") if isinstance(spec.get("data"), dict) else None
    datasets = spec.get("datasets") if isinstance(spec.get("datasets"), dict) else {}
    own = (len(inline) if isinstance(inline, list) else 0) + sum(map(len, datasets.values()))
    return own + sum(_inline_rows(value) for key, value in spec.items() if key not in ("data", "datasets"))


def _deck_rows(layers: list) -> int:
    """Rows of the data lists (or GeoJSON features) inlined in a pydeck map's layers."""
    rows = 0
    for layer in layers:
        data = layer.get("data")
        rows += len(data) if isinstance(data, list) else len(data.get("features", [])) if isinstance(data, dict) else 0
    return rows


def browser_payload(test: AppTest) -> Payload:
    """The data rows and bytes inlined in the rendered page's tables, Vega-Lite charts and pydeck maps."""
    payload = Payload()
    for table in test.get("table"):
        payload += _arrow_payload(table.proto.arrow_data.data)
    for frame in test.get("dataframe"):
        proto = frame.proto
        if not proto.arrow_data.data and proto.HasField("lazy_data"):
            # Served page by page on demand: every row can reach the browser.
            payload += Payload(proto.lazy_data.row_count, len(proto.lazy_data.initial_chunk.data))
        else:
            payload += _arrow_payload(proto.arrow_data.data)
    for chart in test.get("vega_lite_chart"):
        payload += _arrow_payload(chart.proto.data.data)
        for dataset in chart.proto.datasets:
            payload += _arrow_payload(dataset.data.data)
        payload += Payload(_inline_rows(json.loads(chart.proto.spec or "{}")), len(chart.proto.spec))
    for deck in test.get("deck_gl_json_chart"):
        payload += Payload(_deck_rows(json.loads(deck.proto.json or "{}").get("layers", [])), len(deck.proto.json))
    return payload


def page_scripts() -> list[Path]:
    """The page scripts in pages/, in navigation order, unknown ones last."""
    order = {key: index for index, key in enumerate(PAGES)}
    return sorted(PAGES_DIR.glob("[!_]*.py"), key=lambda path: (order.get(path.stem, len(order)), path.stem))


@contextmanager
def _benchmarked_app(database_url: str) -> Iterator[None]:
    """The app on that database, showing a page's errors in full (users get none of their details)."""
    previous_url, previous_details = os.environ.get("DATABASE_URL"), streamlit_config.get_option(ERROR_DETAILS)
    os.environ["DATABASE_URL"] = database_url
    streamlit_config.set_option(ERROR_DETAILS, "full")
    try:
        yield
    finally:
        streamlit_config.set_option(ERROR_DETAILS, previous_details)
        if previous_url is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = previous_url


def _checked_run(test: AppTest, page: str) -> float:
    """Rerun the app; the milliseconds it took, or PageFailed with the page's exception."""
    started = time.perf_counter()
    test.run()
    elapsed = (time.perf_counter() - started) * 1000
    if test.exception:
        raise PageFailed(f"{page}: {test.exception[0].message}\n" + "\n".join(test.exception[0].stack_trace))
    return elapsed


def _signed_in(claims: dict) -> AppTest:
    test = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_SECONDS)
    test.secrets["auth"] = BENCHMARK_AUTH
    test.user = {"is_logged_in": True, "name": claims["sub"], **claims}
    _checked_run(test, "app")
    return test


def _opens(test: AppTest, script: Path) -> bool:
    try:
        test.switch_page(str(script))
    except ValueError:  # not in this viewer's navigation
        return False
    return True


def _time_page(test: AppTest, page: str, role: str, reruns: int) -> PageTiming:
    # A first run as a live server would have had: modules imported, the page script compiled.
    _checked_run(test, page)
    st.cache_data.clear()
    st.cache_resource.clear()
    cold = _checked_run(test, page)
    warm = tuple(_checked_run(test, page) for _ in range(reruns))
    return PageTiming(page, role, cold, warm, browser_payload(test))


def page_timings(database_url: str, reruns: int = DEFAULT_RERUNS) -> tuple[list[PageTiming], list[str]]:
    """Each page's cold and warm server time per rerun on a database; the pages no benchmark viewer can open."""
    sessions: dict[str, AppTest] = {}
    timings, unopened = [], []
    with _benchmarked_app(database_url):
        for script in page_scripts():
            for claims in BENCHMARK_VIEWERS:
                if claims["sub"] not in sessions:
                    sessions[claims["sub"]] = _signed_in(claims)
                if _opens(sessions[claims["sub"]], script):
                    print(f"  {script.stem} ({claims['roles'][0]})…", file=sys.stderr, flush=True)
                    timings.append(_time_page(sessions[claims["sub"]], script.stem, claims["roles"][0], reruns))
                    break
            else:
                unopened.append(script.stem)
    return timings, unopened


# --- The pages command ------------------------------------------------------------------------------


def _choices(option: str, every: tuple[str, ...]) -> tuple[str, ...]:
    return every if option == "both" else (option,)


def _load(engine: Engine, scale: str, interventions: int) -> DataLoad:
    load = load_demo(engine) if scale == "demo" else generate_province(engine, interventions)
    return replace(load, analyze_seconds=analyze(engine))


def _load_line(backend: str, load: DataLoad) -> str:
    return (
        f"{BACKEND_NAMES[backend]}, {load.scale}: {number(load.police_services)} police services, "
        f"{number(load.municipalities)} municipalities, {number(load.interventions)} interventions, "
        f"{number(load.attempts)} outreach attempts written in {number(load.load_seconds, digits=1)} s, "
        f"ANALYZE {number(load.analyze_seconds, digits=1)} s"
    )


TABLE_HEADER = ("backend", "scale", "page", "role", "cold ms", "warm median ms", "warm max ms",
                f"< {TARGET_WARM_MS} ms warm", "rows to browser", "kB to browser")


def _table_row(backend: str, scale: str, timing: PageTiming) -> tuple[str, ...]:
    met = "" if scale != "province" else "✓" if timing.warm_median_ms < TARGET_WARM_MS else "✗"
    return (
        BACKEND_NAMES[backend], scale, timing.page, timing.role, number(timing.cold_ms), number(timing.warm_median_ms),
        number(timing.warm_max_ms), met, number(timing.payload.rows), number(timing.payload.size / 1000, digits=1),
    )


def timing_table(rows: list[tuple[str, ...]]) -> str:
    """Rows under the header, text columns left-aligned and figures right-aligned."""
    lines = [TABLE_HEADER, *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(TABLE_HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) if column < 4 else cell.rjust(width)
                  for column, (cell, width) in enumerate(zip(line, widths))).rstrip()
        for line in lines
    )


def run_pages_benchmark(backend: str, scale: str, interventions: int, reruns: int) -> int:
    """Time every page, cold and warm, on each backend and scale asked for, and print the table."""
    # AppTest runs the app without a server: Streamlit would warn of the missing runtime at every cache clear.
    streamlit_config.set_option("logger.level", "error")  # parses the configuration first, which resets the level
    streamlit_logger.set_log_level("error")
    rows, notes = [], []
    for database in _choices(backend, BACKENDS):
        for size in _choices(scale, ("demo", "province")):
            with scratch_database(database) as engine:
                print(f"{BACKEND_NAMES[database]}, {size}: loading…", file=sys.stderr, flush=True)
                print(_load_line(database, _load(engine, size, interventions)), flush=True)
                url = engine.url.render_as_string(hide_password=False)
                try:
                    timings, unopened = page_timings(url, reruns)
                except PageFailed as failure:
                    print(t("cli.error", message=failure), file=sys.stderr)
                    return EXIT_INVALID
                finally:
                    engine_for(url).dispose()
                rows += [_table_row(database, size, timing) for timing in timings]
                notes += [f"{BACKEND_NAMES[database]}, {size}: no benchmark viewer may open {page}"
                          for page in unopened]
    print()
    print(timing_table(rows))
    print(f"Warm: median of {reruns} reruns; target at province scale: under {TARGET_WARM_MS} ms warm.")
    for note in notes:
        print(note)
    return EXIT_OK
