"""The sidebar filters as data: presets, and the URL query parameters that let a link reproduce a view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from queries.filters import MetricFilter, Period

PRESETS = ("last_12_weeks", "this_year", "last_year", "last_12_months", "custom")
DEFAULT_PRESET = "last_12_weeks"
ALL = ""


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
    if preset not in PRESETS or (preset == "custom" and not (start and end and start <= end)):
        preset, start, end = DEFAULT_PRESET, None, None
    codes = tuple(code for code in params.get("m", "").split(",") if code.isdigit() and len(code) == 5)
    return FilterChoice(preset, start, end, params.get("service", ALL).upper(), codes)


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


def metric_filter(choice: FilterChoice, today: date, services: Mapping[str, str], places: Mapping[str, str]) -> MetricFilter:
    """The filter for a choice, keeping only the services and municipalities offered to this viewer."""
    if choice.preset == "custom" and choice.start and choice.end:
        period = Period(choice.start, choice.end)
    else:
        period = preset_period(choice.preset, today)
    service = (choice.service,) if choice.service in services else ()
    municipalities = tuple(code for code in choice.municipalities if code in places)
    return MetricFilter(period, service, municipalities)
