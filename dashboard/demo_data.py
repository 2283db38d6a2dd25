"""Realistic synthetic data for demonstrations, loaded through the same importer as real files."""

from __future__ import annotations

import csv
import io
import math
import random
import sys
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache
from itertools import accumulate
from pathlib import Path

from sqlalchemy import Engine, case, delete, extract, func, inspect, select

from dashboard.cli import EXIT_INVALID, EXIT_OK
from dashboard.i18n import day as format_day
from dashboard.i18n import number, t
from dashboard.importer import import_file, problem_table
from queries.localtime import LOCAL_TIMEZONE, local_date
from queries.reference import REFERENCE_DIR, optional_date, read_csv, known_services
from queries.schema import import_batch, intervention, outreach_attempt

FIRST_DAY = date(2019, 1, 1)
PROGRAM_START = date(2022, 5, 1)
DEMO_PREFIX = "DEMO-"
DEMO_PATTERN = DEMO_PREFIX + "%"
IMPORTED_BY = "demo-data"
FILE_NAMES = {"interventions": "interventions.csv", "outreach": "outreach.csv"}
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


@dataclass(frozen=True)
class Weighted:
    """A discrete distribution: values and their cumulative weights, ready for random.choices."""

    values: tuple
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weights: dict) -> Weighted:
        """The distribution giving each key a chance proportional to its weight."""
        return cls(tuple(weights), tuple(accumulate(weights.values())))

    def pick(self, rng: random.Random):
        """One value drawn at random."""
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


# --- Volume and rhythm of interventions -------------------------------------------------------------

# Interventions a year. RIPRSL: 670 in 2021 (press), a few percent either way in other years.
# SPS: about 3 per 1,000 residents a year, RIPRSL's own rate (670 / 214,345 = 3.1) and Quebec's
# police-reported rate of conjugal violence, times Saguenay's 144,723 residents, i.e. about 435.
ANNUAL_INTERVENTIONS = {
    "RIPRSL": {2019: 620, 2020: 650, 2021: 670, 2022: 685, 2023: 675, 2024: 695, 2025: 690, 2026: 700},
    "SPS": {2019: 405, 2020: 420, 2021: 435, 2022: 440, 2023: 430, 2024: 445, 2025: 440, 2026: 450},
}
# Monday to Sunday: calls to police for conjugal violence peak on weekends.
WEEKDAY_FACTOR = (0.92, 0.88, 0.88, 0.92, 1.05, 1.22, 1.13)
# January to December: more in summer, fewest in February.
MONTH_FACTOR = (0.98, 0.84, 0.93, 0.97, 1.02, 1.08, 1.14, 1.12, 1.00, 0.97, 0.94, 1.00)
# The holidays, Fête nationale and 1 July (Canada Day, Quebec's moving day) bring more calls.
HOLIDAYS = {(12, day) for day in range(24, 32)} | {(1, 1), (1, 2), (6, 24), (7, 1)}
HOLIDAY_FACTOR = 1.35
# A few unexplained busy days a year per service, as captains see in real series.
SPIKE_PROBABILITY = 0.008
SPIKE_FACTOR = 3.0
# Local hour of the call, 0 to 23: mostly evenings and nights.
HOUR_OF_DAY = Weighted.of(
    dict(enumerate((6, 5, 4, 3, 2, 1.5, 1.5, 2, 2.5, 3, 3, 3.5, 3.5, 4, 4, 4.5, 5, 6, 7, 8, 8.5, 8.5, 8, 7)))
)

# --- Each intervention ------------------------------------------------------------------------------

# No key when the suspect was not identified (left before police arrived, or a third-party call).
EMPTY_SUBJECT_KEY_SHARE = 0.07
# Share of identified suspects who are men this service already met in the past year.
REPEAT_SUBJECT_SHARE = 0.25
# A day short of a year, so that every repeat also counts as one under the 365 × 24 h definition.
REPEAT_WINDOW = timedelta(days=364)
# A repeat usually happens at the same home.
SAME_MUNICIPALITY_SHARE = 0.85
# A no-contact condition is more often in force for a man already known to police.
CONTACT_BAN_SHARE_FIRST = 0.22
CONTACT_BAN_SHARE_REPEAT = 0.60
# Breaching a no-contact condition is itself an offence, so it ends more often in arrest; overall about half.
ARREST_SHARE_WITH_BAN = 0.70
ARREST_SHARE_OTHERWISE = 0.42
# Most arrests are on the scene within hours; some suspects are found later that day; a few on a warrant.
ARREST_DELAY_HOURS = Weighted.of({(0.05, 3.0): 0.85, (3.0, 24.0): 0.10, (48.0, 21 * 24.0): 0.05})

# --- Outreach -------------------------------------------------------------------------------------

# The worker's day, local hours [opening, closing): calls outside it wait for the next morning.
WORKING_HOURS = (8, 20)
# A first call "within hours" of the arrest.
QUICK_DELAY_HOURS = (1.0, 5.0)
# The tail: report read late, a man with no phone number, a worker away.
LATE_DELAY_HOURS = (72.0, 240.0)
# After no answer, the next try comes a day or two later.
RETRY_DELAY_HOURS = (20.0, 52.0)
# A missed call is mostly a phone call, sometimes a text.
NO_ANSWER_CHANNELS = Weighted.of({"phone": 0.85, "sms": 0.15})


@dataclass(frozen=True)
class ContactMix:
    """How one kind of person (alleged offender or victim) answers a worker."""

    no_answer_chance: float
    max_attempts: tuple[int, ...]
    outcomes: Weighted
    referrals: Weighted


@dataclass(frozen=True)
class OutreachProfile:
    """How one program's worker follows up: whom, how fast, and with what answers."""

    offender: ContactMix
    victim: ContactMix
    channels: Weighted  # of the attempts that reach someone
    never_attempted_share: float  # arrested men never called: no number, moved away, in custody
    quick_share_on_shift: float  # first call within hours, for an arrest made while the worker is on shift
    quick_share_off_shift: float  # the same for an arrest at night or on a weekend
    late_share: float  # first call after LATE_DELAY_HOURS
    usual_delay_hours: tuple[float, float]  # first call otherwise
    victim_follow_up_share: float  # interventions whose victim the worker calls
    victim_delay_hours: tuple[float, float]
    potential_aggressor_share: float  # identified men not arrested whom the worker calls all the same
    weekend_work_share: float  # chance that a call falling on a weekend is made then, not on Monday


OUTREACH_PROFILES = {
    # Entraide pour hommes: calls each arrested man 24 to 48 hours after arrest (press); more than half accept,
    # many who decline say they already sought help.
    "RIPRSL": OutreachProfile(
        offender=ContactMix(
            no_answer_chance=0.45,
            max_attempts=(2, 3, 4),
            outcomes=Weighted.of({"accepted": 0.58, "declined": 0.21, "already_in_help": 0.21}),
            referrals=Weighted.of(
                {"men_program": 0.70, "therapy": 0.12, "addiction": 0.10, "legal": 0.05, "other": 0.03}
            ),
        ),
        victim=ContactMix(
            no_answer_chance=0.35,
            max_attempts=(2, 3),
            outcomes=Weighted.of({"accepted": 0.65, "declined": 0.25, "already_in_help": 0.10}),
            referrals=Weighted.of({"victim_assistance": 0.60, "shelter": 0.22, "legal": 0.13, "other": 0.05}),
        ),
        channels=Weighted.of({"phone": 0.86, "sms": 0.06, "in_person": 0.06, "other": 0.02}),
        never_attempted_share=0.06,
        quick_share_on_shift=0.60,
        quick_share_off_shift=0.15,
        late_share=0.08,
        usual_delay_hours=(24.0, 48.0),
        victim_follow_up_share=0.40,
        victim_delay_hours=(12.0, 120.0),
        potential_aggressor_share=0.0,
        weekend_work_share=0.35,
    ),
    # Saguenay's embedded social worker sits with the officers: she reads reports sooner, meets more people in
    # person, follows more victims (shelters above all) and some men who were not arrested; without a
    # dedicated men's organisation behind the call, slightly fewer men accept.
    "SPS": OutreachProfile(
        offender=ContactMix(
            no_answer_chance=0.45,
            max_attempts=(2, 3, 4),
            outcomes=Weighted.of({"accepted": 0.53, "declined": 0.25, "already_in_help": 0.22}),
            referrals=Weighted.of(
                {"men_program": 0.55, "therapy": 0.15, "addiction": 0.18, "legal": 0.07, "other": 0.05}
            ),
        ),
        victim=ContactMix(
            no_answer_chance=0.30,
            max_attempts=(2, 3),
            outcomes=Weighted.of({"accepted": 0.68, "declined": 0.22, "already_in_help": 0.10}),
            referrals=Weighted.of({"shelter": 0.38, "victim_assistance": 0.42, "legal": 0.12, "other": 0.08}),
        ),
        channels=Weighted.of({"phone": 0.70, "in_person": 0.22, "sms": 0.06, "other": 0.02}),
        never_attempted_share=0.05,
        quick_share_on_shift=0.65,
        quick_share_off_shift=0.20,
        late_share=0.07,
        usual_delay_hours=(12.0, 36.0),
        victim_follow_up_share=0.55,
        victim_delay_hours=(6.0, 96.0),
        potential_aggressor_share=0.15,
        weekend_work_share=0.45,
    ),
}


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


def _local_moment(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """The UTC instant of a local wall-clock time as the importer reads it (fold=0); a skipped time moves on an hour."""
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LOCAL_TIMEZONE)
    return local.astimezone(timezone.utc)


def _as_written(instant: datetime) -> datetime:
    """The instant its local time without offset is read back as: itself, unless in the repeated fall-back hour."""
    local = instant.astimezone(LOCAL_TIMEZONE)
    if not local.fold:
        return instant
    # The repeated fall-back hour would read back as its first pass, an hour early, and could then come
    # before the event it follows; the next hour on the clock is unambiguous.
    wall = local.replace(tzinfo=None, minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return wall.replace(tzinfo=LOCAL_TIMEZONE).astimezone(timezone.utc)


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


def _rhythm(day: date) -> float:
    """How busy a day is compared with others: weekday, season and holidays."""
    factor = WEEKDAY_FACTOR[day.weekday()] * MONTH_FACTOR[day.month - 1]
    return factor * HOLIDAY_FACTOR if (day.month, day.day) in HOLIDAYS else factor


@cache
def _year_rhythm(year: int) -> float:
    """The rhythm of every day of a year, added up."""
    return sum(_rhythm(day) for day in _days(date(year, 1, 1), date(year, 12, 31)))


def _expected_interventions(service: str, day: date) -> float:
    """The mean number of interventions that day, so that a year adds up to its calibrated total."""
    by_year = ANNUAL_INTERVENTIONS[service]
    annual = by_year.get(day.year, by_year[max(by_year)])
    spikes = 1 + SPIKE_PROBABILITY * (SPIKE_FACTOR - 1)
    return annual * _rhythm(day) / (_year_rhythm(day.year) * spikes)


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
    return _local_moment(day, WORKING_HOURS[0]) + timedelta(seconds=rng.randrange(3 * 3600))


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
    service.subjects.forget_before(_local_moment(day, 0) - REPEAT_WINDOW)
    mean = _expected_interventions(service.code, day)
    if rng.random() < SPIKE_PROBABILITY:
        mean *= SPIKE_FACTOR
    moments = sorted(
        _local_moment(day, HOUR_OF_DAY.pick(rng), rng.randrange(60), rng.randrange(60))
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


def generate(seed: int, end: date) -> DemoFiles:
    """The demo files from 2019-01-01 through the end date (local), the same for the same seed and end."""
    if end < FIRST_DAY:
        raise ValueError(f"the demo data starts on {FIRST_DAY}; end {end} is earlier")
    rng = random.Random(seed)
    services = _services()
    events: list[_Intervention] = []
    attempts: list[_Attempt] = []
    # Day by day, drawing everything about an intervention when it happens, so that the days up to any date
    # come out the same whatever the end date.
    for day in _days(FIRST_DAY, end):
        for service in services:
            for event in _interventions_of_day(rng, service, day):
                events.append(event)
                attempts += _outreach(rng, service.profile, event)
    cutoff = _local_moment(end + timedelta(days=1), 0)
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


def real_intervention_count(connection) -> int:
    """Interventions that are not demo data."""
    statement = select(func.count()).select_from(intervention).where(intervention.c.event_id.not_like(DEMO_PATTERN))
    return connection.scalar(statement)


def delete_demo_rows(connection) -> None:
    """Remove earlier demo data: its attempts, its interventions, then the import batches that wrote them."""
    connection.execute(delete(outreach_attempt).where(outreach_attempt.c.event_id.like(DEMO_PATTERN)))
    connection.execute(delete(intervention).where(intervention.c.event_id.like(DEMO_PATTERN)))
    connection.execute(delete(import_batch).where(import_batch.c.imported_by == IMPORTED_BY))


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
        .where(intervention.c.event_id.like(DEMO_PATTERN))
        .group_by(intervention.c.police_service, occurred_year)
    ).all()
    attempted_year = extract("year", outreach_attempt.c.attempted_date)
    attempts = {
        (service, int(year)): count
        for service, year, count in connection.execute(
            select(outreach_attempt.c.police_service, attempted_year, func.count())
            .where(outreach_attempt.c.event_id.like(DEMO_PATTERN))
            .group_by(outreach_attempt.c.police_service, attempted_year)
        )
    }
    return sorted(
        YearCounts(service, int(year), count, int(arrests), attempts.get((service, int(year)), 0))
        for service, year, count, arrests in interventions
    )


def _counts_table(counts: list[YearCounts]) -> str:
    """The counts as a plain-text table, with a total line per police service."""
    header = [t("demo.column.service"), t("demo.column.year")] + [t(f"demo.column.{name}") for name in COUNT_FIELDS]
    lines = [header]
    for service in dict.fromkeys(row.police_service for row in counts):
        rows = [row for row in counts if row.police_service == service]
        for row in rows:
            lines.append([service, str(row.year)] + [number(getattr(row, name)) for name in COUNT_FIELDS])
        totals = [number(sum(getattr(row, name) for row in rows)) for name in COUNT_FIELDS]
        lines.append([service, t("demo.total")] + totals)
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        "  ".join([line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])])
        for line in lines
    )


def yesterday() -> date:
    """The last whole local day: the demo data stops there so that nothing lies in the future."""
    return datetime.now(LOCAL_TIMEZONE).date() - timedelta(days=1)


class _DemoImportFailed(Exception):
    """A generated file the importer refused: the whole replacement is rolled back."""

    def __init__(self, kind: str, report) -> None:
        super().__init__(kind)
        self.kind, self.report = kind, report


def run_demo_data_command(engine: Engine, seed: int, write_csv_dir: Path | None, *, end: date | None = None) -> int:
    """Replace the demo data with freshly generated files, through the importer, and print what was loaded."""
    url = engine.url.render_as_string(hide_password=True)
    if not schema_ready(engine):
        print(t("cli.error", message=t("demo.error.no_schema", url=url)), file=sys.stderr)
        return EXIT_INVALID
    with engine.connect() as connection:
        real = real_intervention_count(connection)
    if real:
        print(t("cli.error", message=t("demo.error.real_data", count=number(real))), file=sys.stderr)
        return EXIT_INVALID
    files = generate(seed, end or yesterday())
    if write_csv_dir is not None:
        interventions_path, outreach_path = write_files(files, write_csv_dir)
        print(t("demo.csv_written", interventions=interventions_path, outreach=outreach_path))
    try:
        with engine.begin() as connection:
            delete_demo_rows(connection)
            for kind, data in files.by_kind().items():
                report = import_file(connection, kind, data, FILE_NAMES[kind], imported_by=IMPORTED_BY)
                if not report.written or report.problems:
                    raise _DemoImportFailed(kind, report)
    except _DemoImportFailed as failure:
        print(problem_table(failure.report.problems), file=sys.stderr)
        print(t("cli.error", message=t("demo.error.import_failed", kind=failure.kind)), file=sys.stderr)
        return EXIT_INVALID
    print(t("demo.done", seed=seed, start=format_day(files.first_day), end=format_day(files.last_day), url=url))
    with engine.connect() as connection:
        print(_counts_table(demo_counts(connection)))
    return EXIT_OK
