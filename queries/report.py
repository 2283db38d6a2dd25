"""The funder report: a period's figures against two earlier periods, every count suppressed before it leaves."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy import Connection, Engine

from queries.cohort import DELAY_BUCKETS, FINAL_STATUSES, NEVER, cohort_figures, stage_counts
from queries.filters import MetricFilter, Period, Scope
from queries.interventions import interventions_by_municipality, interventions_by_week
from queries.localtime import week_monday
from queries.places import municipalities_in_scope
from queries.suppression import DEFAULT_THRESHOLD, MASKED, SMALL, Total, Unprotectable, suppress
from queries.timeliness import Percentiles, delay_buckets, percentiles_of
from queries.trends import PeriodFigures, headline

logger = logging.getLogger(__name__)

PERIODS = ("current", "previous", "last_year")
VOLUME = ("interventions", "arrests", "repeat", "contact_bans")
# The cohort's outcomes and delays, each a partition of the cohort, with the stages that add them up.
OUTREACH_TOTALS = (
    Total("cohort", ("attempted", "not_attempted")),
    Total("attempted", ("reached", "no_answer")),
    Total("reached", ("accepted", "already_in_help", "declined")),
    Total("within_24h", ("delay.0-6", "delay.6-12", "delay.12-24")),
    Total("within_48h", ("within_24h", "delay.24-48")),
    Total("attempted", ("within_48h", "delay.48-72", "delay.72-168", "delay.168+")),
)
# A percentile this close to a bucket's edge (in hours, a millisecond) may be on either side of it.
_BOUNDARY_HOURS = 1e-3 / 3600
# Counts a reader takes as nearly equal though no total ties them: the arrests of the period counted by the
# intervention's date and by the arrest's (the outreach cohort).
LINKED = (("arrests", "cohort"),)
# Rates: numerator, denominator. Each is shown only when both counts are, and the denominator is not small.
RATES = {
    "reach_rate": ("reached", "cohort"),
    "acceptance_rate": ("accepted", "reached"),
    "within_24h_share": ("within_24h", "cohort"),
    "within_48h_share": ("within_48h", "cohort"),
}
# The report's funnel: the cohort, the stages it goes through, and how the reached who did not accept split.
FUNNEL = ("cohort", "attempted", "reached", "accepted", "declined", "already_in_help")
FIGURES = (*VOLUME, "rate_per_1000", "cohort", "attempted", "reached", "accepted", "declined", "already_in_help",
           *RATES, "median_hours", "p90_hours")


@dataclass(frozen=True)
class Figure:
    """One published figure: its value, or None with the reason it is hidden (suppression marker) or undefined."""

    value: float | None
    hidden: str | None = None


@dataclass(frozen=True)
class Report:
    """Everything the report shows, already suppressed: no hidden count is left in it."""

    periods: dict[str, Period]
    threshold: int
    figures: dict[str, dict[str, Figure]]
    weekly: pd.DataFrame
    municipalities: pd.DataFrame
    outcomes: pd.DataFrame
    delays: pd.DataFrame

    @property
    def exact(self) -> bool:
        """Whether nothing is hidden (threshold 1): an internal report only, never one for funders."""
        return self.threshold <= 1


def _released(scope: Scope) -> Scope:
    """The scope the report's own queries run with: exact figures, which never leave this module unsuppressed."""
    return replace(scope, for_release=True)


def _outreach_counts(cohort: pd.DataFrame) -> dict[str, int]:
    """The cohort's partitions by status and by delay, and the stages that add them up."""
    figures = stage_counts(cohort)
    if int(cohort.loc[cohort["bucket"] == NEVER, "members"].sum()) != figures["not_attempted"]:
        raise AssertionError("members never attempted differ between the outcome and delay breakdowns")
    return figures


def _volume_counts(figures) -> dict[str, int]:
    """Headline counts and their complements, each complement a count a reader can work out."""
    counts = {name: getattr(figures, name) for name in VOLUME}
    for name in VOLUME[1:]:
        counts[f"not.{name}"] = figures.interventions - counts[name]
    return counts


def _volume_totals() -> list[Total]:
    return [Total("interventions", (name, f"not.{name}")) for name in VOLUME[1:]]


@dataclass(frozen=True)
class _PeriodCells:
    """One period's exact counts, the totals that tie them, its delay percentiles, weeks and municipalities."""

    counts: dict[str, int]
    totals: list[Total]
    percentiles: Percentiles
    weekly: pd.DataFrame
    places: pd.DataFrame


def _period_cells(bind: Engine | Connection, flt: MetricFilter, scope: Scope, volume: PeriodFigures) -> _PeriodCells:
    """Everything a report of this period publishes about it, as counts and the totals a reader can add up."""
    cohort = cohort_figures(bind, flt, scope)
    counts = {**_volume_counts(volume), **_outreach_counts(cohort)}
    totals = [*_volume_totals(), *OUTREACH_TOTALS]
    weekly = interventions_by_week(bind, flt, scope)
    places = interventions_by_municipality(bind, flt, scope)
    for kind, keys, values in (("week", weekly["week"], weekly["interventions"]),
                               ("place", places["code"], places["interventions"])):
        names = [f"{kind}:{key}" for key in keys]
        counts.update(zip(names, (int(value) for value in values)))
        totals.append(Total("interventions", tuple(names)))
    return _PeriodCells(counts, totals, percentiles_of(cohort), weekly, places)


def _suppressed(cells: _PeriodCells, threshold: int) -> dict[str, str]:
    """A period's hidden counts; all of them when no pattern of hiding can protect a small one."""
    counts, totals, unpublished = dict(cells.counts), list(cells.totals), {}
    for first, second in LINKED:
        # A reader who takes them as equal up to their true difference: first + gap = second + other gap = common.
        common, difference = max(counts[first], counts[second]), abs(counts[first] - counts[second])
        names = {name: f"link.{first}.{second}.{name}" for name in ("common", first, second)}
        counts.update({names["common"]: common, names[first]: common - counts[first],
                       names[second]: common - counts[second]})
        unpublished.update({names["common"]: (0.0, math.inf), names[first]: (0.0, float(difference)),
                            names[second]: (0.0, float(difference))})
        totals += [Total(names["common"], (first, names[first])), Total(names["common"], (second, names[second]))]
    try:
        return suppress(counts, totals, threshold, unpublished)
    except Unprotectable:
        logger.warning("a report period had to be withheld whole: no pattern of hiding protects its small counts")
        return {name: SMALL if 0 < value < threshold else MASKED for name, value in cells.counts.items()}


def funder_report(bind: Engine | Connection, flt: MetricFilter, scope: Scope,
                  threshold: int = DEFAULT_THRESHOLD) -> Report:
    """The report of the filter's period in the viewer's scope, with every count from 1 to threshold − 1 hidden."""
    exact = _released(scope)
    volumes = headline(bind, flt, exact)
    periods = {name: getattr(volumes, name).period for name in PERIODS}
    counts: dict[str, int] = {}
    hidden: dict[str, str] = {}
    cells: dict[str, _PeriodCells] = {}
    for name, period in periods.items():
        # Each period is suppressed on its own, with all that its own report shows: the previous quarter's
        # figures are then hidden alike in this report and in that quarter's, and the two cannot be combined.
        same = next((cells[other] for other in cells if periods[other] == period), None)
        cells[name] = same or _period_cells(bind, replace(flt, period=period), exact, getattr(volumes, name))
        counts.update({f"{name}:{key}": value for key, value in cells[name].counts.items()})
        hidden.update({f"{name}:{key}": marker for key, marker in _suppressed(cells[name], threshold).items()})
    percentiles = {name: cells[name].percentiles for name in PERIODS}
    weekly, places = cells["current"].weekly, cells["current"].places

    def figure(name: str) -> Figure:
        return Figure(None, hidden[name]) if name in hidden else Figure(counts[name])

    def rate(numerator: str, denominator: str) -> Figure:
        # A hidden denominator hides the rate even when it is zero: "undefined" would tell that it is.
        if numerator in hidden or denominator in hidden:
            return Figure(None, MASKED)
        if counts[denominator] == 0:
            return Figure(None)
        if counts[denominator] < threshold:
            return Figure(None, MASKED)
        return Figure(counts[numerator] / counts[denominator])

    figures: dict[str, dict[str, Figure]] = {name: {} for name in FIGURES}
    for name in PERIODS:
        for key in (*VOLUME, *("cohort", "attempted", "reached", "accepted", "declined", "already_in_help")):
            figures[key][name] = figure(f"{name}:{key}")
        population = getattr(volumes, name).population
        figures["rate_per_1000"][name] = (
            Figure(None) if not population else
            Figure(None, MASKED) if f"{name}:interventions" in hidden else
            Figure(counts[f"{name}:interventions"] / population * 1000)
        )
        for key, (numerator, denominator) in RATES.items():
            figures[key][name] = rate(f"{name}:{numerator}", f"{name}:{denominator}")
        attempted = percentiles[name].attempted
        for key, value in (("median_hours", percentiles[name].median_hours),
                           ("p90_hours", percentiles[name].p90_hours)):
            figures[key][name] = (
                Figure(None, MASKED) if f"{name}:attempted" in hidden or 0 < attempted < threshold
                or (value is not None and not _percentile_tells_nothing_hidden(value, name, hidden))
                else Figure(None) if attempted == 0 else Figure(value))

    return Report(
        periods=periods,
        threshold=threshold,
        figures=figures,
        weekly=_suppressed_frame(
            pd.DataFrame({"week": weekly["week"], "week_start": [week_monday(week) for week in weekly["week"]]}),
            {"interventions": [f"current:week:{week}" for week in weekly["week"]]}, counts, hidden),
        municipalities=_municipalities(places, municipalities_in_scope(bind, exact), counts, hidden),
        outcomes=_suppressed_frame(pd.DataFrame({"status": list(FINAL_STATUSES)}),
                                   {"members": [f"current:{status}" for status in FINAL_STATUSES]}, counts, hidden),
        delays=_suppressed_frame(
            delay_buckets(),
            {"members": [f"current:delay.{key}" for key, _lower, _upper in DELAY_BUCKETS] + ["current:not_attempted"]},
            counts, hidden),
    )


# Published cumulative counts of the delay buckets: through which bucket each one counts.
_CUMULATIVE = {"within_24h": "12-24", "within_48h": "24-48", "attempted": DELAY_BUCKETS[-1][0]}


def _percentile_tells_nothing_hidden(hours: float, period: str, hidden: dict[str, str]) -> bool:
    """Whether a delay percentile gives nothing away: the counts up to its bucket and through it are published.

    A percentile in a bucket says how many delays fall before that bucket and through it (fewer than its rank, at
    least its rank): with both counts already worked out from what is shown, it says nothing more.
    """
    keys = [key for key, _lower, _upper in DELAY_BUCKETS]
    # known[i]: the number of delays through bucket i − 1 can be worked out (known[0]: none, zero delays).
    known = [True] + [False] * len(keys)
    for figure, through in _CUMULATIVE.items():
        known[keys.index(through) + 1] = f"{period}:{figure}" not in hidden
    shown = [f"{period}:delay.{key}" not in hidden for key in keys]
    while True:
        before = list(known)
        for index, bucket_shown in enumerate(shown):
            if bucket_shown and (known[index] or known[index + 1]):
                known[index] = known[index + 1] = True
        if known == before:
            break
    # A value on a boundary may be in either bucket beside it.
    buckets = {index for index, (_key, lower, upper) in enumerate(DELAY_BUCKETS)
               if (upper is None or hours <= upper + _BOUNDARY_HOURS) and hours >= lower - _BOUNDARY_HOURS}
    return bool(buckets) and all(known[index] and known[index + 1] for index in buckets)


def _suppressed_frame(frame: pd.DataFrame, columns: dict[str, list[str]], counts: dict[str, int],
                      hidden: dict[str, str]) -> pd.DataFrame:
    """The frame with each count column filled from `counts`, empty where hidden, and a `<column>_hidden` marker."""
    frame = frame.copy()
    for column, names in columns.items():
        frame[column] = pd.array([None if name in hidden else counts[name] for name in names], dtype="Int64")
        frame[f"{column}_hidden"] = pd.Series([hidden.get(name) for name in names], dtype=object, index=frame.index)
    return frame


def _municipalities(places: pd.DataFrame, served: pd.DataFrame, counts: dict[str, int],
                    hidden: dict[str, str]) -> pd.DataFrame:
    """Municipalities of the scope: service, population, centroid, interventions and rate per 1,000 residents."""
    service = served.drop_duplicates("code", keep="last").set_index("code")["police_service"]
    frame = places[["code", "name", "population", "latitude", "longitude"]].reset_index(drop=True)
    frame.insert(2, "police_service", [service.get(code, "") for code in frame["code"]])
    frame = _suppressed_frame(
        frame,
        {"interventions": [f"current:place:{code}" for code in places["code"]]}, counts, hidden,
    )
    shown = frame["interventions"].astype("Float64")
    frame.insert(frame.columns.get_loc("interventions_hidden") + 1, "rate_per_1000",
                 (shown / frame["population"].where(frame["population"] > 0).astype("Float64") * 1000))
    return frame
