"""Calendar arithmetic on periods: quarters, years, the period before and the same dates a year earlier."""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

from queries.filters import Period

QUARTER_FIRST_MONTHS = (1, 4, 7, 10)


class CalendarPeriod(NamedTuple):
    """The quarter or year a period starts: kind ("quarter" or "year"), year, quarter (0 for a year), last day."""

    kind: str
    year: int
    quarter: int
    last_day: date


def quarter_start(day: date) -> date:
    """The first day of the quarter holding a date."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: date) -> date:
    """The last day of the quarter holding a date."""
    start = quarter_start(day)
    following = date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)
    return following - timedelta(days=1)


def quarter_period(start: date, today: date) -> Period:
    """A quarter from its first day, cut at today when it is not over."""
    return Period(start, min(quarter_end(start), today))


def year_period(year: int, today: date) -> Period:
    """A calendar year, cut at today when it is not over."""
    return Period(date(year, 1, 1), min(date(year, 12, 31), today))


def calendar_period(period: Period) -> CalendarPeriod | None:
    """The quarter, or else the year, that a period starts on its first day and does not outrun; None otherwise."""
    start, end = period.start, period.end
    if start.day != 1 or start.month not in QUARTER_FIRST_MONTHS:
        return None
    if end <= quarter_end(start):
        return CalendarPeriod("quarter", start.year, (start.month - 1) // 3 + 1, quarter_end(start))
    if start.month == 1 and end.year == start.year:
        return CalendarPeriod("year", start.year, 0, date(start.year, 12, 31))
    return None


def previous_period(period: Period) -> Period:
    """The period before: the previous quarter or year for a whole one, else the same length just before."""
    calendar = calendar_period(period)
    day_before = period.start - timedelta(days=1)
    if calendar is not None and period.end == calendar.last_day:
        if calendar.kind == "quarter":
            return Period(quarter_start(day_before), day_before)
        return Period(date(period.start.year - 1, 1, 1), day_before)
    length = period.end - period.start + timedelta(days=1)
    return Period(period.start - length, day_before)


def _a_year_earlier(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def same_period_last_year(period: Period) -> Period:
    """The same calendar dates one year earlier (29 February becomes the 28th)."""
    return Period(_a_year_earlier(period.start), _a_year_earlier(period.end))
