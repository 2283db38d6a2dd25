"""Sidebar filter presets and the URL query parameters that reproduce a view."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.web.url_state import (
    REPORT_KINDS,
    FilterChoice,
    choice_from_params,
    metric_filter,
    params_from_choice,
    preset_period,
    quarters_offered,
    report_choice_from_params,
    report_params,
    within_offered_dates,
)
from queries.filters import Period

MONDAY = date(2026, 11, 23)
SERVICES = {"RIPRSL": "Régie", "SPS": "Saguenay"}
PLACES = {"57040": ("Beloeil", "RIPRSL"), "94068": ("Saguenay", "SPS")}


@pytest.mark.parametrize(
    ("preset", "today", "expected"),
    [
        ("last_12_weeks", MONDAY, Period(date(2026, 8, 31), date(2026, 11, 22))),
        ("last_12_weeks", date(2026, 11, 22), Period(date(2026, 8, 24), date(2026, 11, 15))),  # a Sunday
        ("this_year", MONDAY, Period(date(2026, 1, 1), MONDAY)),
        ("last_year", MONDAY, Period(date(2025, 1, 1), date(2025, 12, 31))),
        ("last_12_months", MONDAY, Period(date(2025, 11, 24), MONDAY)),
        ("last_12_months", date(2028, 2, 29), Period(date(2027, 3, 1), date(2028, 2, 29))),
    ],
)
def test_presets(preset, today, expected):
    assert preset_period(preset, today) == expected


def test_twelve_weeks_are_84_days_from_a_monday():
    period = preset_period("last_12_weeks", MONDAY)
    assert (period.end - period.start).days + 1 == 84 and period.start.weekday() == 0


@pytest.mark.parametrize(
    "choice",
    [
        FilterChoice(),
        FilterChoice("this_year"),
        FilterChoice("custom", date(2024, 3, 4), date(2024, 3, 17), "SPS", ("94068",)),
        FilterChoice("last_year", service="RIPRSL", municipalities=("57040", "57005")),
    ],
)
def test_choices_round_trip_through_the_url(choice):
    assert choice_from_params(params_from_choice(choice)) == choice


def test_default_view_has_a_short_url():
    assert params_from_choice(FilterChoice()) == {}


@pytest.mark.parametrize(
    "params",
    [
        {"period": "forever"},
        {"period": "custom", "from": "2024-02-30", "to": "2024-03-01"},
        {"period": "custom", "from": "2024-03-17", "to": "2024-03-04"},
        {"period": "custom"},
        {"period": "custom", "from": "2024-03-17x"},
    ],
)
def test_unreadable_urls_fall_back_to_the_default(params):
    assert choice_from_params(params).preset == "last_12_weeks"


def test_a_url_cannot_widen_what_the_viewer_is_offered():
    choice = choice_from_params({"service": "XYZ", "m": "99999,57040,abc;DROP"})
    flt = metric_filter(choice, MONDAY, {"SPS": "Saguenay"}, {"94068": ("Saguenay", "SPS")})
    assert flt.services == () and flt.municipalities == ()
    flt = metric_filter(choice_from_params({"service": "sps", "m": "94068"}), MONDAY, SERVICES, PLACES)
    assert flt.services == ("SPS",) and flt.municipalities == ("94068",)


TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("params", "kinds", "expected"),
    [
        # The director: the quarter under way (to date), a year, or dates of her choosing.
        ({"period": "quarter", "from": "2026-10-01"}, REPORT_KINDS, ("quarter", date(2026, 10, 1), TODAY)),
        ({"period": "year", "from": "2025-01-01"}, REPORT_KINDS, ("year", date(2025, 1, 1), date(2025, 12, 31))),
        ({"period": "custom", "from": "2026-02-03", "to": "2026-05-06"}, REPORT_KINDS,
         ("custom", date(2026, 2, 3), date(2026, 5, 6))),
        # A quarter that does not start a quarter, dates to come: the last complete quarter instead.
        ({"period": "quarter", "from": "2026-08-01"}, REPORT_KINDS, ("quarter", date(2026, 7, 1), date(2026, 9, 30))),
        ({"period": "custom", "from": "2026-11-01", "to": "2026-12-31"}, REPORT_KINDS,
         ("quarter", date(2026, 7, 1), date(2026, 9, 30))),
        # A link with a start only runs to today.
        ({"period": "custom", "from": "1999-05-01"}, REPORT_KINDS, ("custom", date(2000, 1, 1), TODAY)),
        # Funders on quarters: complete ones only; a year or dates in the link fall back to the last quarter.
        ({"period": "quarter", "from": "2026-07-01"}, ("quarter",), ("quarter", date(2026, 7, 1), date(2026, 9, 30))),
        ({"period": "quarter", "from": "2026-10-01"}, ("quarter",), ("quarter", date(2026, 7, 1), date(2026, 9, 30))),
        ({"period": "year", "from": "2025-01-01"}, ("quarter",), ("quarter", date(2026, 7, 1), date(2026, 9, 30))),
        ({"period": "custom", "from": "2026-02-03", "to": "2026-05-06"}, ("quarter",),
         ("quarter", date(2026, 7, 1), date(2026, 9, 30))),
        # Funders on years: the last complete year, never the one under way nor a quarter.
        ({"period": "year", "from": "2026-01-01"}, ("year",), ("year", date(2025, 1, 1), date(2025, 12, 31))),
        ({"period": "quarter", "from": "2026-07-01"}, ("year",), ("year", date(2025, 1, 1), date(2025, 12, 31))),
        ({"period": "year", "from": "2024-01-01"}, ("year",), ("year", date(2024, 1, 1), date(2024, 12, 31))),
    ],
)
def test_report_periods_from_a_link(params, kinds, expected):
    choice = report_choice_from_params(params, TODAY, kinds)
    assert (choice.preset, choice.start, choice.end) == expected
    assert report_choice_from_params(report_params(choice), TODAY, kinds) == choice


def test_quarters_offered():
    assert quarters_offered(TODAY)[:2] == [date(2026, 10, 1), date(2026, 7, 1)]
    assert quarters_offered(TODAY, complete_only=True)[:2] == [date(2026, 7, 1), date(2026, 4, 1)]
    assert len(quarters_offered(TODAY)) == 12


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(1, 1, 1), date(2024, 3, 1), (date(2000, 1, 1), date(2024, 3, 1))),
        (date(2024, 3, 1), date(9999, 12, 31), (date(2024, 3, 1), TODAY)),
        (date(1999, 1, 1), date(1999, 6, 30), (date(2000, 1, 1), date(2000, 1, 1))),
        (date(2030, 1, 1), date(2030, 2, 1), (TODAY, TODAY)),
        (date(2024, 3, 1), date(2024, 3, 31), (date(2024, 3, 1), date(2024, 3, 31))),
    ],
)
def test_dates_of_a_link_are_brought_into_the_pickers_range(start, end, expected):
    moved = within_offered_dates(FilterChoice("custom", start, end), TODAY)
    assert (moved.start, moved.end) == expected


def test_a_municipality_repeated_in_a_link_is_chosen_once():
    choice = choice_from_params({"m": "57040,94068,57040,5704０,94068"})
    assert choice.municipalities == ("57040", "94068")


@pytest.mark.parametrize(("params", "expected"), [
    ({"period": "custom", "from": "0001-01-01"}, (date(2000, 1, 1), TODAY)),
    ({"period": "custom", "to": "2024-03-01"}, (date(2000, 1, 1), date(2024, 3, 1))),
])
def test_a_link_with_one_end_runs_as_far_as_the_pickers_go(params, expected):
    asked = choice_from_params(params)
    moved = within_offered_dates(asked, TODAY)
    assert (moved.preset, moved.start, moved.end) == ("custom", *expected)
    assert moved != asked  # so the page says the dates were brought into range
