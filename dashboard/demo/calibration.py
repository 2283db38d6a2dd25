"""The demo data's calibration on the two programs: volumes, rhythm, arrests, and how each worker follows up.

Public so that the province-scale generator draws from the same figures as the two programs' demo data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from queries.localtime import LOCAL_TIMEZONE

FIRST_DAY = date(2019, 1, 1)
PROGRAM_START = date(2022, 5, 1)


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
# Planted outbreaks, for the unusual-week alarms to find: (service, municipality, day, extra interventions that
# day). They come on top of the usual ones, drawn apart, so the rest of the demo data stays as it was.
PLANTED_SPIKES = (
    ("RIPRSL", "57040", date(2023, 5, 10), 9),  # Beloeil, about 1 a week
    ("RIPRSL", "57005", date(2024, 8, 14), 10),  # Chambly, about 1.5 a week
    ("SPS", "94068", date(2025, 2, 12), 18),  # Saguenay, about 8 a week
    ("RIPRSL", "57035", date(2025, 10, 8), 8),  # Mont-Saint-Hilaire, about 1 a week
)
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


def local_moment(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """The UTC instant of a local wall-clock time as the importer reads it (fold=0); a skipped time moves on an hour."""
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LOCAL_TIMEZONE)
    return local.astimezone(UTC)


def rhythm(day: date) -> float:
    """How busy a day is compared with others: weekday, season and holidays."""
    factor = WEEKDAY_FACTOR[day.weekday()] * MONTH_FACTOR[day.month - 1]
    return factor * HOLIDAY_FACTOR if (day.month, day.day) in HOLIDAYS else factor

# The demo's subject keys are synthetic, and so is the secret that pseudonymises them: it is public on purpose, and
# the demo's rows are never mixed with real ones (the importer refuses either beside the other).
DEMO_PSEUDONYM_KEYS = ("relais-demo-pseudonyms: synthetic data only (never a real key)",)
