"""Timestamps read as the contract says, and the local calendar they fall in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from queries.localtime import (
    EARLIEST_LOCAL_DATE,
    LATEST_LOCAL_DATE,
    TimestampError,
    epoch_microseconds,
    local_date,
    parse_timestamp,
    week_label,
    week_monday,
    weeks_overlapping,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-15 10:00", utc(2024, 1, 15, 15)),  # EST, UTC-5
        ("2024-07-15T10:00:00", utc(2024, 7, 15, 14)),  # EDT, UTC-4
        ("2024-07-15 10:00:00.25", utc(2024, 7, 15, 14, 0, 0, 250000)),
        ("2024-07-15 10:00:00.123456", utc(2024, 7, 15, 14, 0, 0, 123456)),
        ("2024-03-10T01:30:00-05:00", utc(2024, 3, 10, 6, 30)),
        ("2024-03-10T06:30:00Z", utc(2024, 3, 10, 6, 30)),
        ("2024-03-10 12:00+05:30", utc(2024, 3, 10, 6, 30)),
        # 02:30 on 10 March 2024 never happened in Quebec: fold=0 reads it with the offset before the jump (EST).
        ("2024-03-10 02:30", utc(2024, 3, 10, 7, 30)),
        # 01:30 on 3 November 2024 happened twice: fold=0 takes the first (EDT).
        ("2024-11-03 01:30", utc(2024, 11, 3, 5, 30)),
    ],
)
def test_timestamps_become_utc(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-10",
        "10/03/2024 12:00",
        "2024-02-30 10:00",
        "2024-13-01 10:00",
        "2024-01-01 24:00",
        "2024-01-01 10:60",
        "2024-01-01 10:00:00.1234567",
        "2024-01-01T10:00:00+5",
        "2024-01-01T10:00:00+24:00",
        "2024-1-1 10:00",
        "",
        "demain",
    ],
)
def test_anything_else_is_invalid(text):
    with pytest.raises(TimestampError):
        parse_timestamp(text)


def test_local_date_of_a_sunday_night_that_is_monday_in_utc():
    moment = parse_timestamp("2024-03-10 23:30")
    assert moment.date() == date(2024, 3, 11)
    assert local_date(moment) == date(2024, 3, 10)
    assert week_label(local_date(moment)) == "2024-W10"


def test_epoch_microseconds_are_exact():
    assert epoch_microseconds(utc(1970, 1, 1, 0, 0, 1, 1)) == 1_000_001
    assert epoch_microseconds(parse_timestamp("2024-03-11T00:00:00Z")) - epoch_microseconds(
        parse_timestamp("2024-03-10 00:00")
    ) == 19 * 3_600_000_000


@pytest.mark.parametrize(
    ("day", "label"),
    [(date(2024, 12, 30), "2025-W01"), (date(2021, 1, 3), "2020-W53"), (date(2026, 11, 22), "2026-W47")],
)
def test_iso_week_labels(day, label):
    assert week_label(day) == label
    assert week_monday(label) <= day


def test_weeks_overlapping_a_period():
    assert weeks_overlapping(date(2024, 12, 31), date(2025, 1, 13)) == ["2025-W01", "2025-W02", "2025-W03"]
    assert weeks_overlapping(date(2024, 3, 10), date(2024, 3, 10)) == ["2024-W10"]


def test_digits_are_ascii_only():
    with pytest.raises(TimestampError):
        parse_timestamp("２０２４-03-10 01:30")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1900-01-01 00:00", utc(1900, 1, 1, 5)),
        ("2100-12-31 23:59:59.999999", utc(2101, 1, 1, 4, 59, 59, 999999)),
        # Written on the last day of 1899, but already 1 January 1900 in Quebec (EST, UTC-5).
        ("1899-12-31T23:30-06:00", utc(1900, 1, 1, 5, 30)),
        # Written in 2101, still 31 December 2100 in Quebec.
        ("2101-01-01T00:30+01:00", utc(2100, 12, 31, 23, 30)),
    ],
)
def test_the_first_and_last_local_days_are_accepted(text, expected):
    assert parse_timestamp(text) == expected
    assert EARLIEST_LOCAL_DATE <= local_date(expected) <= LATEST_LOCAL_DATE


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01 00:00",
        "0001-01-01T00:00-05:00",
        "0001-01-01T00:00+14:00",
        "1899-12-31 23:59:59.999999",
        # 1 January 1900 in UTC, still 1899 in Quebec.
        "1900-01-01T04:59Z",
        "2101-01-01 00:00",
        # 31 December 2100 where it was written, 2101 in Quebec.
        "2100-12-31T23:30-06:00",
        "3000-01-01 00:00",
        "9999-12-31T23:59+00:00",
    ],
)
def test_local_dates_before_1900_or_after_2100_are_out_of_range(text):
    with pytest.raises(TimestampError, match="range"):
        parse_timestamp(text)
