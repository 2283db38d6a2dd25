"""Realistic synthetic data for demonstrations, loaded through the same importer as real files."""

from __future__ import annotations

import csv
import io
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, case, extract, func, inspect, select

from dashboard.demo.calibration import (
    ANNUAL_INTERVENTIONS,
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
    PLANTED_SPIKES,
    PROGRAM_START,
    QUICK_DELAY_HOURS,
    REPEAT_SUBJECT_SHARE,
    REPEAT_WINDOW,
    RETRY_DELAY_HOURS,
    SAME_MUNICIPALITY_SHARE,
    SPIKE_FACTOR,
    SPIKE_PROBABILITY,
    WORKING_HOURS,
    OutreachProfile,
    Weighted,
    local_moment,
    rhythm,
)
from dashboard.ingest.importer import ImportReport, import_file
from queries.localtime import LOCAL_TIMEZONE, local_date
from queries.reference import REFERENCE_DIR, known_services, optional_date, read_csv
from queries.schema import intervention, outreach_attempt
from queries.writes import delete_demo_rows

DEMO_PREFIX = "DEMO-"
IMPORTED_BY = "demo-data"
FILE_NAMES = {"interventions": "interventions.csv", "outreach": "outreach.csv"}
# A few arrests of the last hours, written beside the demo files but not loaded: dropped into the demo's drop folder
# (incoming/RIPRSL/interventions/), they reach the RIPRSL worker's queue.
NEW_ARRESTS_SERVICE = "RIPRSL"
NEW_ARRESTS_FILE = f"new_arrests_{NEW_ARRESTS_SERVICE}.csv"
NEW_ARRESTS = 3
INTERVENTION_COLUMNS = (
    "event_id",
    "police_service",
    "municipality_code",
    "occurred_at",
    "arrest",
    "arrested_at",
    "subject_key",
    "contact_ban",
)
OUTREACH_COLUMNS = (
    "attempt_id",
    "police_service",
    "event_id",
    "attempted_at",
    "subject_role",
    "outcome",
    "channel",
    "referral",
)


# --- Generation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFiles:
    """The two generated CSV files, in the data contract's columns, and the days they cover."""

    first_day: date
    last_day: date
    interventions: bytes
    outreach: bytes

    def by_kind(self) -> dict[str, bytes]:
        """Each file under the importer's kind, interventions first since attempts refer to them."""
        return {"interventions": self.interventions, "outreach": self.outreach}


@dataclass(frozen=True)
class _Intervention:
    """One intervention as it happened, arrest included even if it comes after the export."""

    event_id: str
    police_service: str
    municipality_code: str
    occurred_at: datetime
    arrested_at: datetime | None
    subject_key: str | None
    contact_ban: bool


@dataclass(frozen=True)
class _Attempt:
    """One contact attempt by a worker."""

    attempt_id: str
    police_service: str
    event_id: str
    attempted_at: datetime
    subject_role: str
    outcome: str
    channel: str
    referral: str | None


@dataclass(frozen=True)
class _Municipality:
    """A municipality a service serves, with its population and membership dates."""

    code: str
    population: int
    member_from: date | None
    member_until: date | None

    def serves_on(self, day: date) -> bool:
        """Whether the municipality belongs to the service that day."""
        return (self.member_from is None or self.member_from <= day) and (
            self.member_until is None or day <= self.member_until
        )


class _SubjectPool:
    """The alleged offenders one police service met in the past year, for repeat interventions."""

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._position: dict[str, int] = {}
        self._last_seen: dict[str, datetime] = {}
        self._home: dict[str, str] = {}
        self._sightings: deque[tuple[datetime, str]] = deque()

    def forget_before(self, moment: datetime) -> None:
        """Drop the men last seen before that moment."""
        while self._sightings and self._sightings[0][0] < moment:
            seen, key = self._sightings.popleft()
            if self._last_seen.get(key) == seen:
                self._remove(key)

    def pick(self, rng: random.Random) -> str | None:
        """A man seen recently, or None when there is none."""
        return rng.choice(self._keys) if self._keys else None

    def home(self, key: str) -> str:
        """The municipality of the man's last intervention."""
        return self._home[key]

    def saw(self, key: str, moment: datetime, municipality_code: str) -> None:
        """Remember an intervention with that man."""
        if key not in self._position:
            self._position[key] = len(self._keys)
            self._keys.append(key)
        self._last_seen[key] = moment
        self._home[key] = municipality_code
        self._sightings.append((moment, key))

    def _remove(self, key: str) -> None:
        position = self._position.pop(key)
        last = self._keys.pop()
        if last != key:
            self._keys[position] = last
            self._position[last] = position
        del self._last_seen[key], self._home[key]


@dataclass
class _Service:
    """One police service during generation: its places, its worker, the men it has met, its event numbers."""

    code: str
    municipalities: tuple[_Municipality, ...]
    profile: OutreachProfile
    subjects: _SubjectPool = field(default_factory=_SubjectPool)
    last_number: dict[int, int] = field(default_factory=dict)
    _weights: dict[tuple[str, ...], Weighted] = field(default_factory=dict, repr=False)

    def municipalities_on(self, day: date) -> Weighted:
        """The municipalities served that day, weighted by population."""
        members = tuple(place for place in self.municipalities if place.serves_on(day))
        codes = tuple(place.code for place in members)
        if codes not in self._weights:
            self._weights[codes] = Weighted.of({place.code: place.population for place in members})
        return self._weights[codes]

    def next_event_id(self, year: int) -> str:
        """The next demo event number of that year, DEMO-RIPRSL-2021-000123."""
        self.last_number[year] = self.last_number.get(year, 0) + 1
        return f"{DEMO_PREFIX}{self.code}-{year}-{self.last_number[year]:06d}"


def _services() -> list[_Service]:
    """The services with a calibration, with the municipalities the reference data says they serve."""
    rows = read_csv(REFERENCE_DIR / "municipalities.csv")
    return [
        _Service(
            code=code,
            municipalities=tuple(
                _Municipality(
                    row["code"],
                    int(row["population_2021"]),
                    optional_date(row["member_from"]),
                    optional_date(row["member_until"]),
                )
                for row in rows
                if row["police_service"] == code
            ),
            profile=OUTREACH_PROFILES[code],
        )
        for code in ANNUAL_INTERVENTIONS
    ]


def _as_written(instant: datetime) -> datetime:
    """The instant its local time without offset is read back as: itself, unless in the repeated fall-back hour."""
    local = instant.astimezone(LOCAL_TIMEZONE)
    if not local.fold:
        return instant
    # The repeated fall-back hour would read back as its first pass, an hour early, and could then come
    # before the event it follows; the next hour on the clock is unambiguous.
    wall = local.replace(tzinfo=None, minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return wall.replace(tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def _local_text(instant: datetime) -> str:
    """Local time without offset, as a police records system exports it."""
    return instant.astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def _days(first: date, last: date):
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth's method, fine for the small daily means here)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@cache
def _year_rhythm(year: int) -> float:
    """The rhythm of every day of a year, added up."""
    return sum(rhythm(day) for day in _days(date(year, 1, 1), date(year, 12, 31)))


def _expected_interventions(service: str, day: date) -> float:
    """The mean number of interventions that day, so that a year adds up to its calibrated total."""
    by_year = ANNUAL_INTERVENTIONS[service]
    annual = by_year.get(day.year, by_year[max(by_year)])
    spikes = 1 + SPIKE_PROBABILITY * (SPIKE_FACTOR - 1)
    return annual * rhythm(day) / (_year_rhythm(day.year) * spikes)


def _working_moment(rng: random.Random, instant: datetime, profile: OutreachProfile) -> datetime:
    """The first moment, at or after the instant, when the worker would make the call."""
    opening, closing = WORKING_HOURS
    local = instant.astimezone(LOCAL_TIMEZONE)
    if local.hour < opening:
        instant = _morning(rng, local.date())
    elif local.hour >= closing:
        instant = _morning(rng, local.date() + timedelta(days=1))
    weekday = local_date(instant).weekday()
    if weekday >= 5 and rng.random() >= profile.weekend_work_share:
        instant = _morning(rng, local_date(instant) + timedelta(days=7 - weekday))
    return _as_written(instant)


def _morning(rng: random.Random, day: date) -> datetime:
    """A moment in the first three hours of the worker's day."""
    return local_moment(day, WORKING_HOURS[0]) + timedelta(seconds=rng.randrange(3 * 3600))


def _first_call(rng: random.Random, profile: OutreachProfile, since: datetime) -> datetime:
    """When the worker first calls a man: within hours if she is on shift, usually the next day or two."""
    local = since.astimezone(LOCAL_TIMEZONE)
    on_shift = local.weekday() < 5 and WORKING_HOURS[0] <= local.hour < WORKING_HOURS[1]
    quick = profile.quick_share_on_shift if on_shift else profile.quick_share_off_shift
    draw = rng.random()
    if draw < quick:
        hours = QUICK_DELAY_HOURS
    elif draw < quick + profile.late_share:
        hours = LATE_DELAY_HOURS
    else:
        hours = profile.usual_delay_hours
    return _working_moment(rng, since + timedelta(hours=rng.uniform(*hours)), profile)


def _contact_series(
    rng: random.Random, profile: OutreachProfile, event: _Intervention, role: str, first: datetime
) -> list[_Attempt]:
    """The worker's attempts to reach one person, until reached or given up."""
    mix = profile.offender if role == "offender" else profile.victim
    attempts = []
    moment = first
    for sequence in range(1, rng.choice(mix.max_attempts) + 1):
        if rng.random() < mix.no_answer_chance:
            outcome, channel = "no_answer", NO_ANSWER_CHANNELS.pick(rng)
        else:
            outcome, channel = mix.outcomes.pick(rng), profile.channels.pick(rng)
        attempts.append(
            _Attempt(
                attempt_id=f"{DEMO_PREFIX}A-{event.event_id.removeprefix(DEMO_PREFIX)}-{role[0].upper()}{sequence}",
                police_service=event.police_service,
                event_id=event.event_id,
                attempted_at=moment,
                subject_role=role,
                outcome=outcome,
                channel=channel,
                referral=mix.referrals.pick(rng) if outcome == "accepted" else None,
            )
        )
        if outcome != "no_answer":
            break
        moment = _working_moment(rng, moment + timedelta(hours=rng.uniform(*RETRY_DELAY_HOURS)), profile)
    return attempts


def _outreach(rng: random.Random, profile: OutreachProfile, event: _Intervention) -> list[_Attempt]:
    """Every attempt the program's worker makes after one intervention, whatever their date."""
    attempts = []
    since = event.arrested_at or event.occurred_at
    if local_date(since) < PROGRAM_START:
        return attempts
    if event.arrested_at is not None:
        if rng.random() >= profile.never_attempted_share:
            attempts += _contact_series(rng, profile, event, "offender", _first_call(rng, profile, since))
    elif event.subject_key and rng.random() < profile.potential_aggressor_share:
        attempts += _contact_series(rng, profile, event, "offender", _first_call(rng, profile, since))
    if rng.random() < profile.victim_follow_up_share:
        delay = timedelta(hours=rng.uniform(*profile.victim_delay_hours))
        attempts += _contact_series(rng, profile, event, "victim", _working_moment(rng, since + delay, profile))
    return attempts


def _interventions_of_day(rng: random.Random, service: _Service, day: date) -> list[_Intervention]:
    """One service's interventions of one day, in time order."""
    service.subjects.forget_before(local_moment(day, 0) - REPEAT_WINDOW)
    mean = _expected_interventions(service.code, day)
    if rng.random() < SPIKE_PROBABILITY:
        mean *= SPIKE_FACTOR
    moments = sorted(
        local_moment(day, HOUR_OF_DAY.pick(rng), rng.randrange(60), rng.randrange(60))
        for _ in range(_poisson(rng, mean))
    )
    places = service.municipalities_on(day)
    events = []
    for occurred_at in moments:
        subject_key, repeat = None, False
        if rng.random() >= EMPTY_SUBJECT_KEY_SHARE:
            known = service.subjects.pick(rng) if rng.random() < REPEAT_SUBJECT_SHARE else None
            subject_key, repeat = (known, True) if known else (f"S-{rng.getrandbits(40):010x}", False)
        municipality_code = places.pick(rng)
        if repeat and rng.random() < SAME_MUNICIPALITY_SHARE and service.subjects.home(subject_key) in places.values:
            municipality_code = service.subjects.home(subject_key)
        contact_ban = rng.random() < (CONTACT_BAN_SHARE_REPEAT if repeat else CONTACT_BAN_SHARE_FIRST)
        arrested_at = None
        if rng.random() < (ARREST_SHARE_WITH_BAN if contact_ban else ARREST_SHARE_OTHERWISE):
            arrested_at = _as_written(occurred_at + timedelta(hours=rng.uniform(*ARREST_DELAY_HOURS.pick(rng))))
        if subject_key:
            service.subjects.saw(subject_key, occurred_at, municipality_code)
        events.append(
            _Intervention(
                event_id=service.next_event_id(day.year),
                police_service=service.code,
                municipality_code=municipality_code,
                occurred_at=occurred_at,
                arrested_at=arrested_at,
                subject_key=subject_key,
                contact_ban=contact_ban,
            )
        )
    return events


def _planted_spike(rng: random.Random, service: _Service, day: date, code: str, count: int) -> list[_Intervention]:
    """A planted outbreak: interventions in one municipality on one day, without arrest, drawn with their own rng."""
    moments = sorted(local_moment(day, HOUR_OF_DAY.pick(rng), rng.randrange(60)) for _ in range(count))
    return [_Intervention(service.next_event_id(day.year), service.code, code, moment, None,
                          f"S-{rng.getrandbits(40):010x}", False) for moment in moments]


def _csv_bytes(columns: tuple[str, ...], rows: list[tuple]) -> bytes:
    """A CSV file in UTF-8 with a header line."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _interventions_file(events: list[_Intervention], cutoff: datetime) -> bytes:
    """The police export as of the cutoff: an arrest made after it is not in the records yet."""
    rows = []
    for event in events:
        if event.occurred_at >= cutoff:
            continue  # not happened yet
        arrested_at = event.arrested_at if event.arrested_at and event.arrested_at < cutoff else None
        rows.append(
            (
                event.event_id,
                event.police_service,
                event.municipality_code,
                _local_text(event.occurred_at),
                _boolean(arrested_at is not None),
                _local_text(arrested_at) if arrested_at else "",
                event.subject_key or "",
                _boolean(event.contact_ban),
            )
        )
    return _csv_bytes(INTERVENTION_COLUMNS, rows)


def _outreach_file(attempts: list[_Attempt], cutoff: datetime) -> bytes:
    """The worker's log as of the cutoff, in time order."""
    made = sorted(
        (attempt for attempt in attempts if attempt.attempted_at < cutoff),
        key=lambda attempt: (attempt.attempted_at, attempt.attempt_id),
    )
    rows = [
        (
            attempt.attempt_id,
            attempt.police_service,
            attempt.event_id,
            _local_text(attempt.attempted_at),
            attempt.subject_role,
            attempt.outcome,
            attempt.channel,
            attempt.referral or "",
        )
        for attempt in made
    ]
    return _csv_bytes(OUTREACH_COLUMNS, rows)


def generate(seed: int, end: date, cutoff: datetime | None = None) -> DemoFiles:
    """The demo files from 2019-01-01 through the end date (local), as the records stood at the cutoff (the end
    of that day by default): the same for the same seed, end and cutoff."""
    if end < FIRST_DAY:
        raise ValueError(f"the demo data starts on {FIRST_DAY}; end {end} is earlier")
    rng = random.Random(seed)
    services = _services()
    events: list[_Intervention] = []
    attempts: list[_Attempt] = []
    # Day by day, drawing everything about an intervention when it happens, so that the days up to any date
    # come out the same whatever the end date.
    planted = {(service, day): (code, count) for service, code, day, count in PLANTED_SPIKES}
    for day in _days(FIRST_DAY, end):
        for service in services:
            for event in _interventions_of_day(rng, service, day):
                events.append(event)
                attempts += _outreach(rng, service.profile, event)
            if (service.code, day) in planted:
                events += _planted_spike(random.Random(seed * 100_003 + day.toordinal()), service, day,
                                         *planted[service.code, day])
    cutoff = min(cutoff or local_moment(end + timedelta(days=1), 0), local_moment(end + timedelta(days=1), 0))
    return DemoFiles(FIRST_DAY, end, _interventions_file(events, cutoff), _outreach_file(attempts, cutoff))


def write_files(files: DemoFiles, directory: Path) -> list[Path]:
    """Write the two CSV files into a directory, created if needed, and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, data in files.by_kind().items():
        path = directory / FILE_NAMES[kind]
        path.write_bytes(data)
        paths.append(path)
    return paths


def new_arrests_file(now: datetime, count: int = NEW_ARRESTS) -> bytes:
    """`count` arrests of the RIPRSL made in the hours before `now`, under event numbers no demo file uses
    (they carry the minute they were written), in municipalities the service serves today."""
    rng = random.Random(int(now.timestamp()))
    (service,) = [service for service in _services() if service.code == NEW_ARRESTS_SERVICE]
    places = service.municipalities_on(now.astimezone(LOCAL_TIMEZONE).date())
    written = now.astimezone(LOCAL_TIMEZONE).strftime("%Y%m%d%H%M")
    rows = []
    for number in range(1, count + 1):
        arrested = now - timedelta(hours=number, minutes=rng.randrange(0, 50))
        occurred = arrested - timedelta(minutes=rng.randrange(10, 90))
        rows.append((f"{DEMO_PREFIX}{NEW_ARRESTS_SERVICE}-NEW-{written}-{number}", NEW_ARRESTS_SERVICE,
                     places.pick(rng), _local_text(occurred), _boolean(True), _local_text(arrested),
                     f"S-{rng.getrandbits(40):010x}", _boolean(False)))
    return _csv_bytes(INTERVENTION_COLUMNS, rows)


# --- The database ----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class YearCounts:
    """The demo rows of one police service and one year."""

    police_service: str
    year: int
    interventions: int
    arrests: int
    attempts: int


COUNT_FIELDS = ("interventions", "arrests", "attempts")


def schema_ready(engine: Engine) -> bool:
    """Whether the schema exists and the demo's police services are loaded."""
    if not inspect(engine).has_table(intervention.name):
        return False
    with engine.connect() as connection:
        return set(ANNUAL_INTERVENTIONS) <= known_services(connection)


def demo_counts(connection) -> list[YearCounts]:
    """Demo interventions, arrests and contact attempts per police service and local year."""
    occurred_year = extract("year", intervention.c.occurred_date)
    interventions = connection.execute(
        select(
            intervention.c.police_service,
            occurred_year,
            func.count(),
            func.sum(case((intervention.c.arrest, 1), else_=0)),
        )
        .where(intervention.c.demo)
        .group_by(intervention.c.police_service, occurred_year)
    ).all()
    attempted_year = extract("year", outreach_attempt.c.attempted_date)
    attempts = {
        (service, int(year)): count
        for service, year, count in connection.execute(
            select(outreach_attempt.c.police_service, attempted_year, func.count())
            .where(outreach_attempt.c.demo)
            .group_by(outreach_attempt.c.police_service, attempted_year)
        )
    }
    return sorted(
        YearCounts(service, int(year), count, int(arrests), attempts.get((service, int(year)), 0))
        for service, year, count, arrests in interventions
    )


def yesterday() -> date:
    """The last whole local day: the demo data stops there so that nothing lies in the future."""
    return datetime.now(LOCAL_TIMEZONE).date() - timedelta(days=1)


def until_now() -> tuple[date, datetime]:
    """Today (local) and this minute: the demo's records as they stand now, today's arrests waiting in the queue."""
    now = datetime.now(LOCAL_TIMEZONE).replace(second=0, microsecond=0)
    return now.date(), now


class DemoImportFailed(Exception):
    """A generated file the importer refused: the whole replacement is rolled back."""

    def __init__(self, kind: str, report: ImportReport) -> None:
        super().__init__(kind)
        self.kind, self.report = kind, report


def load_demo_files(engine: Engine, files: DemoFiles) -> list[ImportReport]:
    """Replace the earlier demo data with these files, through the importer, in one transaction."""
    reports = []
    with engine.begin() as connection:
        delete_demo_rows(connection)
        for kind, data in files.by_kind().items():
            report = import_file(connection, kind, data, FILE_NAMES[kind], imported_by=IMPORTED_BY, demo=True,
                                 pseudonym_keys=DEMO_PSEUDONYM_KEYS)
            if not report.written or report.problems:
                raise DemoImportFailed(kind, report)
            reports.append(report)
    return reports
