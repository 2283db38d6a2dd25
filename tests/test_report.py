"""The funder report's figures: worked out by hand on a quarter built for it, suppressed, on both databases."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from dashboard.ingest.importer import import_file
from queries.filters import MetricFilter, Period, Scope
from queries.periods import quarter_period
from queries.report import FIGURES, funder_report
from queries.suppression import MASKED, SMALL
from queries.trends import scope_population
from tests.hand_made import load_hand_made

Q3_2025 = Period(date(2025, 7, 1), date(2025, 9, 30))
FUNDER_RIPRSL = Scope(services=frozenset({"RIPRSL"}), roles=frozenset({"funder"}))
HEADER = "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban\n"


def _quarter_rows() -> tuple[str, str]:
    """Q3 2025 in the régie: 31 interventions in four weeks, 12 arrests all reached, and a few earlier ones."""
    rows, attempts = [], []
    # Week 2025-W28 (7–13 July), Beloeil: 12 arrests. 7 accept help 3 h after arrest, 5 decline 30 h after.
    for number in range(12):
        rows.append(f"B{number},RIPRSL,57040,2025-07-08 10:00,oui,2025-07-08 11:00,SB{number},non")
        delay, outcome = ("14:00", "accepted") if number < 7 else ("2025-07-09 17:00", "declined")
        when = f"2025-07-08 {delay}" if number < 7 else delay
        attempts.append(f"T{number};RIPRSL;B{number};{when};offender;{outcome};phone;")
    # Week 2025-W29 (14–20 July), Chambly: 3, a count the report must hide.
    rows += [f"C{number},RIPRSL,57005,2025-07-15 12:00,non,,SC{number},non" for number in range(3)]
    # Week 2025-W30 (21–27 July), Chambly: 9, six of them about the same person: 5 repeats.
    rows += [f"D{number},RIPRSL,57005,2025-07-2{number % 7 + 1} 12:00,non,,{'R1' if number < 6 else f'SD{number}'},non"
             for number in range(9)]
    # Week 2025-W32 (4–10 August), Sainte-Julie: 7.
    rows += [f"J{number},RIPRSL,59010,2025-08-05 12:00,non,,SJ{number},non" for number in range(7)]
    # The previous quarter: 6 in Chambly; the same quarter a year before: 2 in Beloeil.
    rows += [f"P{number},RIPRSL,57005,2025-04-10 12:00,non,,SP{number},non" for number in range(6)]
    rows += [f"L{number},RIPRSL,57040,2024-08-01 12:00,non,,SL{number},non" for number in range(2)]
    outreach = "attempt_id;police_service;event_id;attempted_at;subject_role;outcome;channel;referral\n"
    return HEADER + "\n".join(rows) + "\n", outreach + "\n".join(attempts) + "\n"


@pytest.fixture
def quarter(engine):
    interventions, outreach = _quarter_rows()
    for kind, text in (("interventions", interventions), ("outreach", outreach)):
        result = import_file(engine, kind, text.encode(), f"{kind}.csv", imported_by="test")
        assert result.problems == [] and result.written
    return engine


def _values(report, figure: str) -> tuple:
    return tuple((report.figures[figure][name].value, report.figures[figure][name].hidden)
                 for name in ("current", "previous", "last_year"))


def test_the_quarters_figures_by_hand(quarter):
    report = funder_report(quarter, MetricFilter(Q3_2025), FUNDER_RIPRSL)
    assert report.periods == {"current": Q3_2025, "previous": Period(date(2025, 4, 1), date(2025, 6, 30)),
                              "last_year": Period(date(2024, 7, 1), date(2024, 9, 30))}
    # A year before: 2 interventions, hidden, and so is every part of them, even the zero arrests.
    assert _values(report, "interventions") == ((31, None), (6, None), (None, SMALL))
    assert _values(report, "arrests") == ((12, None), (0, None), (None, SMALL))
    assert _values(report, "repeat") == ((5, None), (0, None), (None, SMALL))
    assert _values(report, "contact_bans") == ((0, None), (0, None), (None, SMALL))
    population = scope_population(quarter, MetricFilter(Q3_2025), Scope.of("RIPRSL"))
    assert report.figures["rate_per_1000"]["current"].value == pytest.approx(31 / population * 1000)
    assert report.figures["rate_per_1000"]["last_year"].hidden == MASKED
    for figure, expected in (("cohort", 12), ("attempted", 12), ("reached", 12), ("accepted", 7), ("declined", 5),
                             ("already_in_help", 0)):
        assert _values(report, figure)[0] == (expected, None)
    assert report.figures["reach_rate"]["current"].value == 1.0
    assert report.figures["acceptance_rate"]["current"].value == pytest.approx(7 / 12)
    assert report.figures["within_24h_share"]["current"].value == pytest.approx(7 / 12)
    assert report.figures["within_48h_share"]["current"].value == 1.0
    # Seven delays of 3 h and five of 30 h: the middle two are 3 h; the 11th of 12 (nearest rank) is 30 h.
    assert report.figures["median_hours"]["current"].value == pytest.approx(3.0)
    assert report.figures["p90_hours"]["current"].value == pytest.approx(30.0)
    # Nobody arrested the quarter before: rates and median are undefined, not hidden.
    assert report.figures["reach_rate"]["previous"] == report.figures["median_hours"]["previous"]
    previous_reach = report.figures["reach_rate"]["previous"]
    assert previous_reach.value is None and not previous_reach.hidden


def test_the_weekly_trend_hides_the_small_week_and_the_next_smallest(quarter):
    weekly = funder_report(quarter, MetricFilter(Q3_2025), FUNDER_RIPRSL).weekly.set_index("week")
    # 3 in W29 beside a total of 31: W29 could be worked out, so the next smallest week (W32, 7) goes too.
    assert weekly.loc["2025-W29", "interventions_hidden"] == SMALL
    assert weekly.loc["2025-W32", "interventions_hidden"] == MASKED
    shown = weekly[weekly["interventions_hidden"].isna()]["interventions"]
    assert shown.loc["2025-W28"] == 12 and shown.loc["2025-W30"] == 9
    assert set(shown.drop(["2025-W28", "2025-W30"])) == {0}
    assert len(weekly) == 14  # 2025-W27 (from Tuesday 1 July) to 2025-W40 (to Tuesday 30 September)
    hidden = weekly[weekly["interventions_hidden"].notna()]["interventions"]
    assert hidden.isna().all()


def test_the_municipalities_and_outcomes(quarter):
    report = funder_report(quarter, MetricFilter(Q3_2025), FUNDER_RIPRSL)
    places = report.municipalities.set_index("code")
    assert len(places) == 17 and "94068" not in places.index  # the régie's own, Saguenay never
    assert places.loc["57040", "interventions"] == 12 and places.loc["57005", "interventions"] == 12
    assert places.loc["59010", "interventions"] == 7
    assert places["interventions_hidden"].isna().all()
    assert places.loc["57040", "rate_per_1000"] == pytest.approx(12 / places.loc["57040", "population"] * 1000)
    outcomes = report.outcomes.set_index("status")["members"].to_dict()
    assert outcomes == {"accepted": 7, "already_in_help": 0, "declined": 5, "no_answer": 0, "not_attempted": 0}
    delays = report.delays.set_index("bucket")["members"].to_dict()
    assert delays == {"0-6": 7, "6-12": 0, "12-24": 0, "24-48": 5, "48-72": 0, "72-168": 0, "168+": 0, "never": 0}


def test_a_higher_threshold_hides_more(quarter):
    report = funder_report(quarter, MetricFilter(Q3_2025), FUNDER_RIPRSL, threshold=10)
    weekly = report.weekly.set_index("week")
    assert weekly.loc["2025-W30", "interventions_hidden"] == SMALL  # 9 < 10
    assert weekly.loc["2025-W32", "interventions_hidden"] == SMALL  # 7 < 10
    assert report.figures["accepted"]["current"].hidden == SMALL and report.figures["repeat"]["current"].hidden == SMALL


def _shown_counts(report) -> list[int]:
    """Every count the report shows: figures, weekly, municipalities, outcomes, delays."""
    counts = [figure.value for name in FIGURES if name not in ("rate_per_1000", "median_hours", "p90_hours")
              and "rate" not in name and "share" not in name for figure in report.figures[name].values()
              if figure.value is not None]
    for frame, column in ((report.weekly, "interventions"), (report.municipalities, "interventions"),
                          (report.outcomes, "members"), (report.delays, "members")):
        counts += [int(value) for value in frame[column].dropna()]
    return counts


def test_on_small_data_no_count_from_1_to_4_is_left(engine):
    load_hand_made(engine)
    for scope in (FUNDER_RIPRSL, Scope(all_services=True, roles=frozenset({"funder"}))):
        report = funder_report(engine, MetricFilter(Period(date(2024, 1, 1), date(2024, 3, 31))), scope)
        counts = _shown_counts(report)
        assert counts and not [count for count in counts if 1 <= count <= 4]
        # The régie's 12 interventions of the quarter are shown; its weeks of 1 (W09) and 4 (W10) are not.
        if scope is FUNDER_RIPRSL:
            assert report.figures["interventions"]["current"].value == 12
            weekly = report.weekly.set_index("week")["interventions_hidden"]
            assert weekly["2024-W09"] == SMALL and weekly["2024-W10"] == SMALL


def test_the_report_stays_within_the_viewers_services(quarter):
    sps = funder_report(quarter, MetricFilter(Q3_2025), Scope(services=frozenset({"SPS"}), roles=frozenset({"funder"})))
    assert list(sps.municipalities["code"]) == ["94068"]
    assert sps.figures["interventions"]["current"].value == 0
    # Asking for the régie through the filter does not widen an SPS scope.
    asked = funder_report(quarter, MetricFilter(Q3_2025, services=("RIPRSL",)),
                          Scope(services=frozenset({"SPS"}), roles=frozenset({"funder"})))
    assert asked.figures["interventions"]["current"].value == 0


def test_a_hidden_zero_denominator_hides_the_rate_rather_than_calling_it_undefined(engine):
    # The régie: 3 arrests, each tried once without an answer. Saguenay: 2 arrests, never tried.
    rows = [f"N{number},RIPRSL,57040,2025-02-04 10:00,oui,2025-02-04 11:00,,non" for number in range(3)]
    rows += [f"S{number},SPS,94068,2025-02-04 10:00,oui,2025-02-04 11:00,,non" for number in range(2)]
    attempts = [f"A{number},RIPRSL,N{number},2025-02-04 12:00,offender,no_answer,phone," for number in range(3)]
    for kind, text in (("interventions", HEADER + "\n".join(rows) + "\n"),
                       ("outreach", "attempt_id,police_service,event_id,attempted_at,subject_role,outcome,channel,"
                                    "referral\n" + "\n".join(attempts) + "\n")):
        assert import_file(engine, kind, text.encode(), f"{kind}.csv", imported_by="test").written
    winter = MetricFilter(Period(date(2025, 1, 1), date(2025, 3, 31)))
    riprsl = funder_report(engine, winter, FUNDER_RIPRSL).figures
    # Reached is 0 inside an attempted count of 3: "undefined" for the acceptance rate would tell it.
    assert riprsl["reached"]["current"].hidden == SMALL
    assert riprsl["acceptance_rate"]["current"] == riprsl["reach_rate"]["current"]
    assert riprsl["acceptance_rate"]["current"].hidden == MASKED
    sps = funder_report(engine, winter, Scope(services=frozenset({"SPS"}), roles=frozenset({"funder"}))).figures
    # Nobody of 2 was attempted: an undefined median would tell that attempted is 0.
    assert sps["attempted"]["current"].hidden == SMALL
    assert sps["median_hours"]["current"].hidden == MASKED and sps["p90_hours"]["current"].hidden == MASKED


def test_a_quarter_is_hidden_alike_in_its_own_report_and_as_the_previous_or_last_years(engine):
    load_hand_made(engine)
    quarters = [quarter_period(date(year, month, 1), date.max) for year in (2023, 2024) for month in (1, 4, 7, 10)]
    for scope in (FUNDER_RIPRSL, Scope(all_services=True, roles=frozenset({"funder"}))):
        reports = {period: funder_report(engine, MetricFilter(period), scope) for period in quarters}
        for period, report in reports.items():
            for name in ("previous", "last_year"):
                earlier = reports.get(report.periods[name])
                if earlier is None:
                    continue
                for figure in FIGURES:
                    assert report.figures[figure][name] == earlier.figures[figure]["current"], (period, name, figure)


def _import(engine, interventions: list[str], attempts: list[str] = ()) -> None:
    outreach = "attempt_id,police_service,event_id,attempted_at,subject_role,outcome,channel,referral\n"
    for kind, text in (("interventions", HEADER + "\n".join(interventions) + "\n"),
                       ("outreach", outreach + "\n".join(attempts) + "\n")):
        result = import_file(engine, kind, text.encode(), f"{kind}.csv", imported_by="test")
        assert result.problems == []


def test_a_quarter_hidden_by_its_own_weeks_is_hidden_as_the_next_quarters_previous_one(engine):
    # Spring 2025: 4 interventions one week and 4 the next, in Chambly. Its own report shows both weeks as "< 5";
    # with 8 beside them they would be 4 and 4, so the 8 is hidden there, and must be in the summer's report too.
    spring = [f"S{number},RIPRSL,57005,2025-04-{'08' if number < 4 else '15'} 12:00,non,,,non" for number in range(8)]
    summer = [f"U{number},RIPRSL,57040,2025-07-08 12:00,non,,,non" for number in range(10)]
    _import(engine, spring + summer)
    own = funder_report(engine, MetricFilter(quarter_period(date(2025, 4, 1), date.max)), FUNDER_RIPRSL)
    weekly = own.weekly.set_index("week")["interventions_hidden"]
    assert weekly["2025-W15"] == SMALL and weekly["2025-W16"] == SMALL
    assert own.figures["interventions"]["current"].hidden == MASKED
    following = funder_report(engine, MetricFilter(Q3_2025), FUNDER_RIPRSL)
    assert following.figures["interventions"]["current"].value == 10
    for figure in FIGURES:
        assert following.figures[figure]["previous"] == own.figures[figure]["current"], figure


def test_arrests_hidden_hide_the_cohort_that_counts_nearly_the_same_men(engine):
    # Autumn 2025: 20 interventions, 17 with an arrest the same day. The 3 without one are "< 5", so the arrests
    # are masked; the cohort (the same 17, by arrest date) would give them back, so it goes too, and so does a
    # part of it, lest attempted + not attempted add up to it.
    rows = [f"A{number},RIPRSL,57040,2025-10-07 10:00,oui,2025-10-07 11:00,,non" for number in range(17)]
    rows += [f"N{number},RIPRSL,57040,2025-10-07 10:00,non,,,non" for number in range(3)]
    attempts = [f"T{number},RIPRSL,A{number},2025-10-07 15:00,offender,accepted,phone," for number in range(10)]
    _import(engine, rows, attempts)
    report = funder_report(engine, MetricFilter(quarter_period(date(2025, 10, 1), date.max)), FUNDER_RIPRSL)
    figures = report.figures
    assert figures["interventions"]["current"].value == 20
    assert figures["arrests"]["current"].hidden == MASKED and figures["cohort"]["current"].hidden == MASKED
    # 10 attempted are shown; the 7 never attempted, the smaller part, are not.
    assert figures["attempted"]["current"].value == 10
    outcomes = report.outcomes.set_index("status")
    assert outcomes.loc["not_attempted", "members_hidden"] == MASKED
    assert report.delays.set_index("bucket").loc["never", "members_hidden"] == MASKED
    assert figures["within_24h_share"]["current"].hidden == MASKED and figures["reach_rate"]["current"].hidden == MASKED


def test_a_percentile_is_hidden_when_it_would_tell_a_hidden_delay_bucket(engine):
    # Summer: ten men reached, six 3 h after arrest, three 100 h after, one 200 h after: "< 5" in 72-168 h and in
    # 168 h+. A 90th percentile (the 9th of 10) of 100 h would say that only one waited longer: hidden. The median
    # (3 h) says that at least 5 were reached within 6 h, which the 6 shown already say: shown.
    rows = [f"A{number},RIPRSL,57040,2025-07-08 10:00,oui,2025-07-08 11:00,,non" for number in range(10)]
    delays = ["2025-07-08 14:00"] * 6 + ["2025-07-12 15:00"] * 3 + ["2025-07-16 19:00"]
    attempts = [f"T{number},RIPRSL,A{number},{when},offender,accepted,phone," for number, when in enumerate(delays)]
    # Autumn: seven, four 3 h after arrest and three 8 h after: a median of 3 h would make the "< 5" within 6 h a 4.
    rows += [f"B{number},RIPRSL,57040,2025-10-07 10:00,oui,2025-10-07 11:00,,non" for number in range(7)]
    attempts += [f"U{number},RIPRSL,B{number},2025-10-07 {'14' if number < 4 else '19'}:00,offender,accepted,phone,"
                 for number in range(7)]
    _import(engine, rows, attempts)
    summer = funder_report(engine, MetricFilter(Q3_2025), FUNDER_RIPRSL)
    delays_shown = summer.delays.set_index("bucket")
    assert delays_shown.loc["0-6", "members"] == 6
    assert delays_shown.loc["72-168", "members_hidden"] == SMALL and delays_shown.loc["168+", "members_hidden"] == SMALL
    assert summer.figures["median_hours"]["current"].value == pytest.approx(3.0)
    assert summer.figures["p90_hours"]["current"].hidden == MASKED
    autumn = funder_report(engine, MetricFilter(quarter_period(date(2025, 10, 1), date.max)), FUNDER_RIPRSL)
    assert autumn.figures["attempted"]["current"].value == 7
    assert autumn.figures["within_24h_share"]["current"].value == 1.0
    assert autumn.figures["median_hours"]["current"].hidden == MASKED
    # The 90th percentile (8 h, the 7th of 7) would tell little, but the rule is blunt: the count before its
    # bucket (the hidden 4 within 6 h) is not published, so it is hidden too.
    assert autumn.figures["p90_hours"]["current"].hidden == MASKED


def test_a_period_no_hiding_can_protect_is_withheld_whole(engine):
    # Eight men reached, four accepted and four declined, with delays spread over six buckets: whatever is hidden,
    # a reader can tell the 4 and 4 apart from the rest, so the quarter's counts are all withheld.
    hours = [3, 3, 8, 15, 15, 30, 60, 200]
    rows = [f"A{number},RIPRSL,57040,2025-07-08 10:00,oui,2025-07-08 11:00,,non" for number in range(8)]
    attempts = [
        f"T{number},RIPRSL,A{number},{(datetime(2025, 7, 8, 11) + timedelta(hours=delay)):%Y-%m-%d %H:%M},offender,"
        f"{'accepted' if number % 2 else 'declined'},phone,"
        for number, delay in enumerate(hours)
    ]
    _import(engine, rows, attempts)
    report = funder_report(engine, MetricFilter(Q3_2025), FUNDER_RIPRSL)
    shown = _shown_counts(report)
    assert not [count for count in shown if 1 <= count <= 4]
    assert report.figures["accepted"]["current"].hidden == SMALL
    assert report.figures["reached"]["current"].hidden is not None
    assert report.figures["interventions"]["current"].hidden == MASKED  # 8, withheld with the rest
