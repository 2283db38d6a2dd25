"""Timestamps as the data contract reads them, and the local calendar (America/Toronto) they fall in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

LOCAL_TIMEZONE = ZoneInfo("America/Toronto")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECONDS_PER_HOUR = 3_600_000_000
# The local dates a stored moment may fall on: no record is older or that far ahead, and the weekly ranges look
# years back from a week, which year 1 does not have.
EARLIEST_LOCAL_DATE, LATEST_LOCAL_DATE = date(1900, 1, 1), date(2100, 12, 31)

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


class TimestampError(ValueError):
    """A value that is not a timestamp of the data contract."""


def parse_timestamp(text: str) -> datetime:
    """The aware UTC datetime a contract timestamp denotes: local time without an offset (fold=0), dated 1900–2100."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise TimestampError("format")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError as error:
        raise TimestampError("calendar") from error
    if offset is None:
        # fold=0 picks the first of an ambiguous hour and the pre-transition offset for a skipped one.
        local = moment.replace(tzinfo=LOCAL_TIMEZONE, fold=0)
    elif offset == "Z":
        local = moment.replace(tzinfo=UTC)
    else:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise TimestampError("offset")
        sign = -1 if offset[0] == "-" else 1
        local = moment.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    try:
        utc = local.astimezone(UTC)
        stored_day = local_date(utc)
    except (OverflowError, ValueError) as error:
        raise TimestampError("range") from error
    # Judged on the local date stored beside it, after any offset: 1899-12-31T23:00-06:00 is 1900-01-01 in Quebec.
    if not EARLIEST_LOCAL_DATE <= stored_day <= LATEST_LOCAL_DATE:
        raise TimestampError("range")
    return utc


def epoch_microseconds(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC, exact."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def local_date(moment: datetime) -> date:
    """The calendar date in Quebec at that moment."""
    return moment.astimezone(LOCAL_TIMEZONE).date()


def week_label(day: date) -> str:
    """The ISO week of a date, as YYYY-Www with the ISO year."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_monday(label: str) -> date:
    """The Monday that starts an ISO week label."""
    year, week = label.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def weeks_overlapping(start: date, end: date) -> list[str]:
    """Every ISO week label that overlaps [start, end], in order."""
    monday = start - timedelta(days=start.weekday())
    labels = []
    while monday <= end:
        labels.append(week_label(monday))
        monday += timedelta(days=7)
    return labels


def moment_columns(prefix: str, moment: datetime | None, with_week: bool = True) -> dict[str, Any]:
    """The stored columns of a UTC moment: `<prefix>_at`, `_us`, the local `_date` and (with_week) ISO `_week`."""
    day = moment and local_date(moment)
    columns = {f"{prefix}_at": moment, f"{prefix}_us": moment and epoch_microseconds(moment), f"{prefix}_date": day}
    if with_week:
        columns[f"{prefix}_week"] = day and week_label(day)
    return columns
