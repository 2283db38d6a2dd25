"""The overview's queries on the hand-made trend data set (tests/hand_made_pages.py), every figure worked out below."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import delete, insert, select, update

from queries.filters import MetricFilter, Period, Scope
from queries.interventions import intervention_totals, interventions_by_municipality, interventions_by_week
from queries.schema import intervention, membership, municipality
from queries.trends import (
    headline,
    heat_unit,
    municipality_months,
    municipality_table,
    municipality_weeks,
    previous_period,
    same_period_last_year,
    scope_population,
    weekly_trend,
)
from tests.hand_made_pages import load_trends

# 2025-W06 .. W09. By hand, every service:
# - in the period: T6 (first minute), T7, T8 (Sunday 23:30, W06 locally, W07 in UTC), S1, T9, T10,
#   T11 (last minute) = 7; out: T5 (the minute before), T12 (the minute after).
# - arrests: T6, T7, T10, S1 = 4; contact bans: T6, T8 = 2.
# - repeats: T6 (K2, T1 in January), T7 and T9 (K1, T0 and T2) = 3; not S1 (K1 but Saguenay's, none earlier
#   there), T8 (K3) and T10 (K4) first seen, T11 no key.
# - population: the 17 municipalities of the Régie, 24104 + 509 + 11740 + 31444 + 9480 + 5936 + 18859 + 8479
#   + 5742 + 13322 + 17053 + 3179 + 4544 + 2952 + 30045 + 21198 + 5759 = 214345, plus Saguenay 144723 = 359068.
PERIOD = Period(date(2025, 2, 3), date(2025, 3, 2))
WEEKS = ["2025-W06", "2025-W07", "2025-W08", "2025-W09"]
MONDAYS = [date(2025, 2, 3), date(2025, 2, 10), date(2025, 2, 17), date(2025, 2, 24)]
EVERY_RESIDENT = 359068
SAGUENAY_RESIDENTS = 144723
EMPTY = Period(date(2030, 1, 7), date(2030, 1, 13))


@pytest.fixture
def loaded(engine):
    return load_trends(engine)


@pytest.fixture
def uninhabited(loaded):
    """An extra Régie municipality with no residents (code 99001), removed again after the test."""
    with loaded.begin() as connection:
        connection.execute(
            insert(municipality).values(
                code="99001", name="Territoire", population_2021=0, latitude=45.6, longitude=-73.3
            )
        )
        connection.execute(insert(membership).values(municipality_code="99001", police_service="RIPRSL"))
    yield loaded
    with loaded.begin() as connection:
        connection.execute(delete(membership).where(membership.c.municipality_code == "99001"))
        connection.execute(delete(municipality).where(municipality.c.code == "99001"))


@pytest.mark.parametrize(
    ("period", "previous", "last_year"),
    [
        # 28 days: the 28 days before; 2025-02-03 a year earlier is 2024-02-03 (and the leap day falls inside).
        (PERIOD, Period(date(2025, 1, 6), date(2025, 2, 2)), Period(date(2024, 2, 3), date(2024, 3, 2))),
        # One day.
        (Period(date(2025, 3, 1), date(2025, 3, 1)), Period(date(2025, 2, 28), date(2025, 2, 28)),
         Period(date(2024, 3, 1), date(2024, 3, 1))),
        # 32 days (29 February and March): the 32 days before start on 28 January; the leap day becomes the 28th.
        (Period(date(2024, 2, 29), date(2024, 3, 31)), Period(date(2024, 1, 28), date(2024, 2, 28)),
         Period(date(2023, 2, 28), date(2023, 3, 31))),
        # A whole calendar year is compared with the year before, whatever their lengths.
        (Period(date(2024, 1, 1), date(2024, 12, 31)), Period(date(2023, 1, 1), date(2023, 12, 31)),
         Period(date(2023, 1, 1), date(2023, 12, 31))),
        # A whole quarter with the quarter before (92 days against 91), across a year too.
        (Period(date(2026, 7, 1), date(2026, 9, 30)), Period(date(2026, 4, 1), date(2026, 6, 30)),
         Period(date(2025, 7, 1), date(2025, 9, 30))),
        (Period(date(2026, 1, 1), date(2026, 3, 31)), Period(date(2025, 10, 1), date(2025, 12, 31)),
         Period(date(2025, 1, 1), date(2025, 3, 31))),
        # A quarter to date and half a year are ordinary periods: the same length just before.
        (Period(date(2026, 10, 1), date(2026, 11, 22)), Period(date(2026, 8, 9), date(2026, 9, 30)),
         Period(date(2025, 10, 1), date(2025, 11, 22))),
        (Period(date(2026, 4, 1), date(2026, 9, 30)), Period(date(2025, 9, 30), date(2026, 3, 31)),
         Period(date(2025, 4, 1), date(2025, 9, 30))),
        # Twelve months that are not a calendar year: the same length just before.
        (Period(date(2025, 4, 1), date(2026, 3, 31)), Period(date(2024, 4, 1), date(2025, 3, 31)),
         Period(date(2024, 4, 1), date(2025, 3, 31))),
    ],
)
def test_compared_periods(period, previous, last_year):
    assert previous_period(period) == previous
    assert same_period_last_year(period) == last_year


def test_headline_against_the_previous_period_and_last_year(loaded):
    figures = headline(loaded, MetricFilter(PERIOD), Scope.everything())
    current = figures.current
    assert (current.period, current.interventions, current.arrests, current.repeat, current.contact_bans) == (
        PERIOD, 7, 4, 3, 2,
    )
    assert current.population == EVERY_RESIDENT
    assert current.rate_per_1000 == pytest.approx(7 / 359068 * 1000)
    # 2025-01-06 .. 02-02: T0, T1, T2, T3, T4, T5, S2 = 7; arrest T1; repeats T1 (K2: L2 344 days before)
    # and T2 (K1: T0) = 2; no contact ban.
    previous = figures.previous
    assert (previous.interventions, previous.arrests, previous.repeat, previous.contact_bans) == (7, 1, 2, 0)
    assert (previous.population, previous.period.start) == (EVERY_RESIDENT, date(2025, 1, 6))
    # 2024-02-03 .. 03-02: L1, L2, S3, L3 = 4 (L4 on 03-03 is out); arrest L2; ban L3; no repeat.
    last_year = figures.last_year
    assert (last_year.interventions, last_year.arrests, last_year.repeat, last_year.contact_bans) == (4, 1, 0, 1)
    assert last_year.rate_per_1000 == pytest.approx(4 / 359068 * 1000)


def test_headline_is_the_contract_totals(loaded):
    flt = MetricFilter(PERIOD, services=("RIPRSL",), municipalities=("57005", "57040"))
    totals = intervention_totals(loaded, flt, Scope.everything())
    current = headline(loaded, flt, Scope.everything()).current
    assert (current.interventions, current.arrests, current.repeat, current.contact_bans) == (
        totals.total, totals.arrests, totals.repeat, totals.contact_bans,
    )
    # T6, T7, T8, T9, T11 in Beloeil and Chambly; 24104 + 31444 residents.
    assert (current.interventions, current.population) == (5, 55548)


def test_scope_population_follows_membership(loaded):
    flt = MetricFilter(PERIOD)
    assert scope_population(loaded, flt, Scope.everything()) == EVERY_RESIDENT
    assert scope_population(loaded, flt, Scope.of("SPS")) == SAGUENAY_RESIDENTS
    assert scope_population(loaded, MetricFilter(PERIOD, municipalities=("57040", "59030")), Scope.of("RIPRSL")) == (
        24104 + 509
    )
    assert scope_population(loaded, flt, Scope.of()) == 0
    # Verchères (5759 residents, no intervention) joins the Régie on 2025-03-01: in the period, not before it.
    with loaded.begin() as connection:
        connection.execute(
            update(membership).where(membership.c.municipality_code == "59025").values(member_from=date(2025, 3, 1))
        )
    figures = headline(loaded, flt, Scope.everything())
    assert (figures.current.population, figures.previous.population) == (EVERY_RESIDENT, EVERY_RESIDENT - 5759)
    assert figures.previous.population == sum(
        interventions_by_municipality(loaded, MetricFilter(previous_period(PERIOD)), Scope.everything())["population"]
    )


def test_headline_of_a_place_without_residents_has_no_rate(uninhabited):
    figures = headline(uninhabited, MetricFilter(PERIOD, municipalities=("99001",)), Scope.of("RIPRSL"))
    assert (figures.current.interventions, figures.current.population, figures.current.rate_per_1000) == (0, 0, None)


def test_headline_of_an_empty_period_or_scope(loaded):
    for flt, scope in ((MetricFilter(EMPTY), Scope.everything()), (MetricFilter(PERIOD), Scope.of())):
        figures = headline(loaded, flt, scope)
        for part in (figures.current, figures.previous, figures.last_year):
            assert (part.interventions, part.arrests, part.repeat, part.contact_bans) == (0, 0, 0, 0)
    assert headline(loaded, MetricFilter(PERIOD), Scope.of()).current.rate_per_1000 is None
    assert headline(loaded, MetricFilter(EMPTY), Scope.everything()).current.rate_per_1000 == 0.0


def test_headline_of_one_service(loaded):
    figures = headline(loaded, MetricFilter(PERIOD), Scope.of("SPS"))
    # Saguenay: S1 now (arrested, K1 first seen there), S2 the period before, S3 last year.
    assert (figures.current.interventions, figures.current.arrests, figures.current.repeat) == (1, 1, 0)
    assert (figures.previous.interventions, figures.last_year.interventions) == (1, 1)
    assert figures.current.population == SAGUENAY_RESIDENTS
    asked = headline(loaded, MetricFilter(PERIOD, services=("RIPRSL",)), Scope.of("SPS"))
    assert asked == headline(loaded, MetricFilter(PERIOD), Scope.of())


# Interventions per local ISO week, every service:
#   W03 (the rolling average's lead): T1, T2 (Sunday 23:30), S2 = 3; W04: T3 = 1; W05: T4, T5 = 2;
#   W06: T6, T7, T8, S1 = 4; W07: 0; W08: T9, T10 = 2; W09: T11 = 1.
# Rolling mean of the week and the 3 before: W06 (3+1+2+4)/4 = 2.5, W07 (1+2+4+0)/4 = 1.75,
#   W08 (2+4+0+2)/4 = 2.0, W09 (4+0+2+1)/4 = 1.75.
# The same weeks 52 weeks earlier, 2024-02-05 .. 2024-03-03: 2024-W06 L2, S3 = 2; W07 L3 = 1; W08 0;
#   W09 L4 (Sunday 3 March, outside "the same dates last year") = 1; L1 (2024-02-03, 2024-W05) is not shown.
def test_weekly_trend(loaded):
    frame = weekly_trend(loaded, MetricFilter(PERIOD), Scope.everything())
    assert list(frame.columns) == ["week", "week_start", "interventions", "rolling_average", "last_year"]
    assert list(frame["week"]) == WEEKS and list(frame["week_start"]) == MONDAYS
    assert list(frame["interventions"]) == [4, 0, 2, 1]
    assert list(frame["rolling_average"]) == pytest.approx([2.5, 1.75, 2.0, 1.75])
    assert list(frame["last_year"]) == [2, 1, 0, 1]
    assert list(frame["interventions"]) == list(
        interventions_by_week(loaded, MetricFilter(PERIOD), Scope.everything())["interventions"]
    )


def test_weekly_trend_of_a_period_starting_midweek(loaded):
    # 2025-02-05 (Wednesday) .. 02-18 (Tuesday): W06 counts 5 .. 9 Feb (S1, T8 = 2; T6 and T7 are before the
    # period), W07 0, W08 17 .. 18 Feb (T9 = 1). Lead W03 .. W05: 3, 1, 2. Rolling: (3+1+2+2)/4 = 2.0,
    # (1+2+2+0)/4 = 1.25, (2+2+0+1)/4 = 1.25. Last year 2024-02-07 .. 02-20: L3 only, W07.
    frame = weekly_trend(loaded, MetricFilter(Period(date(2025, 2, 5), date(2025, 2, 18))), Scope.everything())
    assert list(frame["week"]) == WEEKS[:3]
    assert list(frame["interventions"]) == [2, 0, 1]
    assert list(frame["rolling_average"]) == pytest.approx([2.0, 1.25, 1.25])
    assert list(frame["last_year"]) == [0, 1, 0]


def test_weekly_trend_of_one_service(loaded):
    # Saguenay: S1 in W06, S2 in the lead week W03, S3 in 2024-W06. Rolling: W03 .. W06 (1+0+0+1)/4 = 0.5,
    # then S1 alone in each window up to W06 .. W09: 1/4.
    frame = weekly_trend(loaded, MetricFilter(PERIOD), Scope.of("SPS"))
    assert list(frame["interventions"]) == [1, 0, 0, 0]
    assert list(frame["rolling_average"]) == pytest.approx([0.5, 0.25, 0.25, 0.25])
    assert list(frame["last_year"]) == [1, 0, 0, 0]
    asked = weekly_trend(loaded, MetricFilter(PERIOD, services=("RIPRSL",)), Scope.of("SPS"))
    assert asked.equals(weekly_trend(loaded, MetricFilter(PERIOD), Scope.of()))


def test_weekly_trend_of_an_empty_period(loaded):
    frame = weekly_trend(loaded, MetricFilter(EMPTY), Scope.everything())
    assert frame.to_dict("records") == [
        {"week": "2030-W02", "week_start": date(2030, 1, 7), "interventions": 0, "rolling_average": 0.0,
         "last_year": 0}
    ]
    assert list(weekly_trend(loaded, MetricFilter(PERIOD), Scope.of())["rolling_average"]) == [0.0] * 4


def test_municipality_weeks_fills_the_heat_map(loaded):
    flt = MetricFilter(PERIOD, municipalities=("57005", "57040", "59030"))
    frame = municipality_weeks(loaded, flt, Scope.of("RIPRSL"))
    assert list(frame.columns) == ["code", "name", "week", "week_start", "interventions"]
    assert list(frame["code"]) == ["57005"] * 4 + ["57040"] * 4 + ["59030"] * 4
    assert list(frame["week"]) == WEEKS * 3 and list(frame["week_start"]) == MONDAYS * 3
    assert list(frame["name"].unique()) == ["Chambly", "Beloeil", "Calixa-Lavallée"]
    # Chambly: T7 (W06), T9 (W08); Beloeil: T6 and T8 (Sunday 23:30) in W06, T11 (last minute) in W09;
    # Calixa-Lavallée: T10 (W08).
    assert list(frame["interventions"]) == [1, 0, 1, 0] + [2, 0, 0, 1] + [0, 0, 1, 0]


def test_municipality_weeks_covers_every_place_in_scope(loaded):
    everything = municipality_weeks(loaded, MetricFilter(PERIOD), Scope.everything())
    assert len(everything) == 18 * 4 and everything["interventions"].sum() == 7
    saguenay = municipality_weeks(loaded, MetricFilter(PERIOD), Scope.of("SPS"))
    assert list(saguenay["code"]) == ["94068"] * 4 and list(saguenay["interventions"]) == [1, 0, 0, 0]
    asked = municipality_weeks(loaded, MetricFilter(PERIOD, services=("RIPRSL",)), Scope.of("SPS"))
    assert asked.empty and list(asked.columns) == list(everything.columns)
    assert municipality_weeks(loaded, MetricFilter(PERIOD), Scope.of()).empty
    quiet = municipality_weeks(loaded, MetricFilter(EMPTY), Scope.everything())
    assert len(quiet) == 18 and set(quiet["week"]) == {"2030-W02"} and set(quiet["interventions"]) == {0}


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2025, 2, 5), date(2025, 3, 1)), (date(2025, 2, 4), date(2025, 2, 8)), (date(2025, 2, 9), date(2025, 2, 10)),
     (date(2025, 2, 3), date(2025, 3, 1)), (date(2025, 2, 5), date(2025, 3, 2)), (date(2025, 2, 9), date(2025, 2, 24))],
    ids=["both ends cut", "inside one week", "Sunday to Monday", "end cut", "start cut", "one whole week between"],
)
def test_heat_map_cells_of_cut_weeks_count_the_period_s_days_only(loaded, start, end):
    # Whole weeks come from the stored weekly counts, the cut ones from rows: counted here from rows alone.
    with loaded.connect() as connection:
        rows = connection.execute(select(intervention.c.municipality_code, intervention.c.occurred_week,
                                         intervention.c.occurred_date)).all()
    expected = Counter((code, week) for code, week, day in rows if start <= day <= end)
    frame = municipality_weeks(loaded, MetricFilter(Period(start, end)), Scope.everything())
    counted = frame[frame["interventions"] > 0]
    assert dict(zip(zip(counted["code"], counted["week"]), counted["interventions"])) == expected
    assert sum(expected.values()) > 0 or (start, end) == (date(2025, 2, 4), date(2025, 2, 8))


def test_the_heat_map_can_ask_for_the_busiest_municipalities_only(loaded):
    # Beloeil 3, Chambly 2, then Calixa-Lavallée and Saguenay 1 each: the tie goes to the lower code.
    busiest = municipality_weeks(loaded, MetricFilter(PERIOD), Scope.everything(), busiest=3)
    assert list(busiest["code"]) == ["57005"] * 4 + ["57040"] * 4 + ["59030"] * 4
    assert list(busiest["interventions"]) == [1, 0, 1, 0] + [2, 0, 0, 1] + [0, 0, 1, 0]
    # Past the municipalities with interventions come those without, lowest code first, as the full grid lists them.
    everything = municipality_weeks(loaded, MetricFilter(PERIOD), Scope.everything())
    totals = everything.groupby("code")["interventions"].sum().sort_values(ascending=False, kind="stable")
    five = municipality_weeks(loaded, MetricFilter(PERIOD), Scope.everything(), busiest=5)
    assert set(five["code"]) == set(totals.index[:5]) and "94068" in set(five["code"])
    assert five.reset_index(drop=True).equals(
        everything[everything["code"].isin(totals.index[:5])].reset_index(drop=True))
    assert municipality_weeks(loaded, MetricFilter(PERIOD), Scope.of(), busiest=3).empty


def test_the_monthly_heat_map_can_ask_for_the_busiest_municipalities_only(contract_data):
    flt = MetricFilter(Period(date(2023, 1, 15), date(2024, 12, 31)))
    everything = municipality_months(contract_data, flt, Scope.of("RIPRSL"))
    busiest = municipality_months(contract_data, flt, Scope.of("RIPRSL"), busiest=2)
    # Beloeil (57040) has 6 in March 2024, Chambly (57005) 3: the two busiest.
    assert list(busiest["code"].unique()) == ["57005", "57040"] and len(busiest) == 2 * 24
    assert busiest.reset_index(drop=True).equals(
        everything[everything["code"].isin(["57005", "57040"])].reset_index(drop=True))


def test_municipality_table(loaded):
    frame = municipality_table(loaded, MetricFilter(PERIOD), Scope.everything()).set_index("code")
    assert list(frame.reset_index().columns) == [
        "code", "name", "population", "latitude", "longitude", "interventions", "arrests", "rate_per_1000",
        "previous", "change", "change_share",
    ]
    assert len(frame) == 18
    # Chambly: T7, T9 now (arrest T7), T0, T2, T5 before: change -1, -1/3.
    chambly = frame.loc["57005"]
    assert (chambly["population"], chambly["interventions"], chambly["arrests"], chambly["previous"]) == (
        31444, 2, 1, 3,
    )
    assert (chambly["change"], chambly["change_share"]) == (-1, pytest.approx(-1 / 3))
    assert chambly["rate_per_1000"] == pytest.approx(2 / 31444 * 1000)
    # Beloeil: T6, T8, T11 now (arrest T6), T1, T3, T4 before: no change, a share of 0.
    beloeil = frame.loc["57040"]
    assert (beloeil["interventions"], beloeil["arrests"], beloeil["previous"], beloeil["change"]) == (3, 1, 3, 0)
    assert beloeil["change_share"] == 0.0
    # Calixa-Lavallée: T10 now, nothing before: the share of a change from 0 is undefined.
    calixa = frame.loc["59030"]
    assert (calixa["interventions"], calixa["previous"], calixa["change"]) == (1, 0, 1)
    assert math.isnan(calixa["change_share"]) and calixa["rate_per_1000"] == pytest.approx(1000 / 509)
    assert (frame.loc["94068", "interventions"], frame.loc["94068", "previous"]) == (1, 1)
    quiet = frame.drop(index=["57005", "57040", "59030", "94068"])
    assert set(quiet["interventions"]) == {0} and set(quiet["change"]) == {0}
    assert quiet["change_share"].isna().all()
    contract = interventions_by_municipality(loaded, MetricFilter(PERIOD), Scope.everything())
    assert list(contract["interventions"]) == list(frame["interventions"])
    assert list(contract["arrests"]) == list(frame["arrests"])


def test_text_columns_are_python_objects(loaded):
    """A page's frames keep their text in Python objects: Arrow-backed strings cost 10 % of an Overview cache miss."""
    frame = municipality_table(loaded, MetricFilter(PERIOD), Scope.everything())
    assert frame["code"].dtype == "str" and frame["code"].dtype.storage == "python"
    assert frame.set_index("code").loc["94068", "name"] == "Saguenay"


def test_municipality_table_of_one_service(loaded):
    frame = municipality_table(loaded, MetricFilter(PERIOD), Scope.of("SPS"))
    assert frame[["code", "interventions", "arrests", "previous", "change"]].to_dict("records") == [
        {"code": "94068", "interventions": 1, "arrests": 1, "previous": 1, "change": 0}
    ]
    assert municipality_table(loaded, MetricFilter(PERIOD, services=("RIPRSL",)), Scope.of("SPS")).empty


def test_municipality_table_of_an_empty_period(loaded):
    frame = municipality_table(loaded, MetricFilter(EMPTY), Scope.everything())
    assert len(frame) == 18 and set(frame["interventions"]) == {0} and frame["change_share"].isna().all()
    assert municipality_table(loaded, MetricFilter(PERIOD), Scope.of()).empty


def test_municipality_table_without_residents(uninhabited):
    frame = municipality_table(uninhabited, MetricFilter(PERIOD, municipalities=("99001",)), Scope.of("RIPRSL"))
    assert list(frame["code"]) == ["99001"] and math.isnan(frame.loc[0, "rate_per_1000"])


@pytest.fixture
def contract_data(engine):
    from tests.hand_made import load_hand_made

    return load_hand_made(engine)


@pytest.mark.parametrize(
    ("period", "unit"),
    [
        (Period(date(2024, 1, 1), date(2024, 12, 31)), "week"),  # 53 ISO weeks overlap 2024 (2024-W01 to 2025-W01)
        (Period(date(2024, 1, 1), date(2025, 1, 6)), "month"),
        (Period(date(2022, 1, 1), date(2024, 12, 31)), "month"),  # 36 months
        (Period(date(2022, 1, 1), date(2025, 1, 1)), "quarter"),
        (Period(date(2019, 1, 1), date(2024, 12, 31)), "quarter"),
    ],
)
def test_heat_unit(period, unit):
    assert heat_unit(period) == unit


def test_municipality_months_count_each_month_of_a_long_period(contract_data):
    """tests/hand_made.py by hand: Beloeil (57040) has E0 (3 March, local), E1, E2, E13, E14, E15 in March 2024;
    Chambly (57005) E3, E4 and E5 (18 March); Mont-Saint-Hilaire (59010) E8 in March 2023 and E7 in March 2024."""
    flt = MetricFilter(Period(date(2023, 1, 15), date(2024, 12, 31)), municipalities=("57005", "57040", "59010"))
    frame = municipality_months(contract_data, flt, Scope.of("RIPRSL"))
    assert list(frame.columns) == ["code", "name", "unit", "start", "interventions"]
    months = [date(2023 + (index // 12), index % 12 + 1, 1) for index in range(24)]
    assert list(frame["start"]) == months * 3 and set(frame["unit"]) == {"month"}
    counts = frame.set_index(["code", "start"])["interventions"]
    assert counts[("57040", date(2024, 3, 1))] == 6 and counts[("57005", date(2024, 3, 1))] == 3
    assert counts[("59010", date(2023, 3, 1))] == 1 and counts[("59010", date(2024, 3, 1))] == 1
    assert frame["interventions"].sum() == 11


def test_municipality_months_roll_up_into_quarters_beyond_three_years(contract_data):
    flt = MetricFilter(Period(date(2019, 1, 1), date(2024, 12, 31)))
    frame = municipality_months(contract_data, flt, Scope.of("RIPRSL"))
    assert set(frame["unit"]) == {"quarter"} and len(frame) == 17 * 24
    counts = frame.set_index(["code", "start"])["interventions"]
    # Q1 2023: E8 (59010), E9 (59020), E11 (57035); Q1 2024: every other RIPRSL intervention, 12 of them.
    assert counts.xs(date(2023, 1, 1), level="start").sum() == 3
    assert counts.xs(date(2024, 1, 1), level="start").sum() == 12
    assert frame["interventions"].sum() == 15
    saguenay = municipality_months(contract_data, flt, Scope.of("SPS"))
    assert saguenay["interventions"].sum() == 1 and set(saguenay["code"]) == {"94068"}
