"""Sidebar filter presets and the URL query parameters that reproduce a view."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.filters import FilterChoice, choice_from_params, metric_filter, params_from_choice, preset_period
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
