"""The sidebar filters as data: presets, and the URL query parameters that let a link reproduce a view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from queries.filters import MetricFilter, Period
from queries.periods import quarter_period, quarter_start, year_period

PRESETS = ("last_12_weeks", "this_year", "last_year", "last_12_months", "custom")
DEFAULT_PRESET = "last_12_weeks"
ALL = ""
# The earliest date the pickers offer: before it there is no police record to read, only typing mistakes.
FIRST_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class FilterChoice:
    """What the viewer chose in the sidebar, before it becomes a MetricFilter."""

    preset: str = DEFAULT_PRESET
    start: date | None = None
    end: date | None = None
    service: str = ALL
    municipalities: tuple[str, ...] = ()


def preset_period(preset: str, today: date) -> Period:
    """The dates a preset covers, seen from a local date."""
    if preset == "this_year":
        return Period(date(today.year, 1, 1), today)
    if preset == "last_year":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    if preset == "last_12_months":
        try:
            start = today.replace(year=today.year - 1) + timedelta(days=1)
        except ValueError:  # 29 February
            start = date(today.year - 1, 3, 1)
        return Period(start, today)
    # The last 12 complete ISO weeks: a captain on Monday morning sees last week against the weeks before.
    last_sunday = today - timedelta(days=today.weekday() + 1)
    return Period(last_sunday - timedelta(weeks=12) + timedelta(days=1), last_sunday)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def choice_from_params(params: Mapping[str, str]) -> FilterChoice:
    """The choice a URL describes; anything unreadable falls back to the default, never an error."""
    preset = params.get("period", DEFAULT_PRESET)
    start, end = _date(params.get("from")), _date(params.get("to"))
    if preset == "custom" and ("from" in params) != ("to" in params):
        # One end given: the other is as far as it can go, and the pickers' range brings it back (with a message).
        start, end = (start, date.max) if "from" in params else (date.min, end)
    if preset not in PRESETS or (preset == "custom" and not (start and end and start <= end)):
        preset, start, end = DEFAULT_PRESET, None, None
    # dict.fromkeys: a code given twice is chosen once, in the order first given.
    codes = tuple(dict.fromkeys(code for code in params.get("m", "").split(",")
                                if code.isascii() and code.isdigit() and len(code) == 5))
    return FilterChoice(preset, start, end, params.get("service", ALL).upper(), codes)


def within_offered_dates(choice: FilterChoice, today: date) -> FilterChoice:
    """A choice whose dates lie in the range the date pickers offer (FIRST_DAY to today), moved there if not."""
    if choice.start is None or choice.end is None:
        return choice
    start, end = min(max(choice.start, FIRST_DAY), today), min(max(choice.end, FIRST_DAY), today)
    return replace(choice, start=start, end=max(start, end))


def params_from_choice(choice: FilterChoice) -> dict[str, str]:
    """The URL query parameters of a choice; defaults are left out to keep links short."""
    params: dict[str, str] = {}
    if choice.preset != DEFAULT_PRESET:
        params["period"] = choice.preset
    if choice.preset == "custom" and choice.start and choice.end:
        params["from"], params["to"] = choice.start.isoformat(), choice.end.isoformat()
    if choice.service:
        params["service"] = choice.service
    if choice.municipalities:
        params["m"] = ",".join(choice.municipalities)
    return params


def metric_filter(
    choice: FilterChoice, today: date, services: Mapping[str, str], places: Mapping[str, str]
) -> MetricFilter:
    """The filter for a choice, keeping only the services and municipalities offered to this viewer."""
    if choice.preset in ("custom", "quarter", "year") and choice.start and choice.end:
        period = Period(choice.start, choice.end)
    else:
        period = preset_period(choice.preset, today)
    service = (choice.service,) if choice.service in services else ()
    municipalities = tuple(code for code in choice.municipalities if code in places)
    return MetricFilter(period, service, municipalities)


# The report's periods: a calendar quarter or year (to date when it is the current one), or dates of the
# director's choosing. Funders get complete periods of one kind only (the deployment's choice): a year minus
# three of its quarters, or one custom range against another, would reveal a small count.
REPORT_KINDS = ("quarter", "year", "custom")
QUARTERS_OFFERED = 12
YEARS_OFFERED = 6


def quarters_offered(today: date, complete_only: bool = False) -> list[date]:
    """First days of the current quarter (unless complete ones only) and the ones before it, most recent first."""
    start = quarter_start(today)
    starts, start = [], quarter_start(start - timedelta(days=1)) if complete_only else start
    for _ in range(QUARTERS_OFFERED):
        starts.append(start)
        start = quarter_start(start - timedelta(days=1))
    return starts


def years_offered(today: date, complete_only: bool = False) -> list[int]:
    """The current year (unless complete ones only) and the ones before it, most recent first."""
    latest = today.year - 1 if complete_only else today.year
    return [latest - offset for offset in range(YEARS_OFFERED)]


def default_report_choice(today: date, kinds: tuple[str, ...] = REPORT_KINDS) -> FilterChoice:
    """The last complete quarter, or the last complete year when quarters are not offered."""
    if "quarter" not in kinds:
        return FilterChoice("year", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    start = quarter_start(quarter_start(today) - timedelta(days=1))
    return FilterChoice("quarter", start, quarter_period(start, today).end)


def report_choice_from_params(params: Mapping[str, str], today: date, kinds: tuple[str, ...]) -> FilterChoice:
    """The report period a URL describes, among the kinds offered; anything else is the default choice."""
    kind, start, end = params.get("period"), _date(params.get("from")), _date(params.get("to"))
    places = choice_from_params(params)
    complete_only = "custom" not in kinds
    chosen = None
    if kind == "quarter" and kind in kinds and start in quarters_offered(today, complete_only):
        chosen = quarter_period(start, today)
    elif kind == "year" and kind in kinds and start and start == date(start.year, 1, 1) \
            and start.year in years_offered(today, complete_only):
        chosen = year_period(start.year, today)
    elif kind == "custom" and kind in kinds and start and start <= (end or today) <= today:
        # A report of dates to come is not one: the default instead. A missing end is today; a start before the
        # pickers' first day moves (both with a message).
        chosen = Period(max(start, FIRST_DAY), max(end or today, FIRST_DAY))
    if chosen is None:
        default = default_report_choice(today, kinds)
        return FilterChoice(default.preset, default.start, default.end, places.service, places.municipalities)
    return FilterChoice(kind, chosen.start, chosen.end, places.service, places.municipalities)


def report_params(choice: FilterChoice) -> dict[str, str]:
    """The URL query parameters of a report choice: always explicit, so a link is the same report next month."""
    params = {"period": choice.preset, "from": choice.start.isoformat()}
    if choice.preset == "custom":
        params["to"] = choice.end.isoformat()
    if choice.service:
        params["service"] = choice.service
    if choice.municipalities:
        params["m"] = ",".join(choice.municipalities)
    return params
