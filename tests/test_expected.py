"""Unusual weeks from the database: one intervention a week in Beloeil for three years, then a week of eight."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from scipy import stats
from sqlalchemy import select

from dashboard.ingest.importer import import_file
from queries.expected import unusual_weeks, weekly_range
from queries.filters import MetricFilter, Period, Scope
from queries.schema import intervention, weekly_count
from queries.trends import municipality_weeks
from queries.weekly import refresh_all_weeks

FIRST_MONDAY = date(2022, 1, 3)  # ISO week 2022-W01
SPIKE_MONDAY = date(2025, 3, 3)  # 2025-W10
PERIOD = MetricFilter(Period(date(2025, 2, 3), date(2025, 3, 16)))  # 2025-W06 to 2025-W11


def _file() -> bytes:
    lines = ["event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban"]
    monday, number = FIRST_MONDAY, 0
    while monday <= date(2025, 3, 16):
        for extra in range(8 if monday == SPIKE_MONDAY else 1):
            number += 1
            lines.append(f"E{number},RIPRSL,57040,{monday + timedelta(days=2)} {10 + extra}:00,non,,,non")
        monday += timedelta(weeks=1)
    # Saguenay: one case, last week: too little history for any method.
    lines.append("S1,SPS,94068,2025-03-12 10:00,non,,,non")
    return "\n".join(lines).encode()


@pytest.fixture
def history(engine):
    report = import_file(engine, "interventions", _file(), "interventions.csv", imported_by="test")
    assert report.problems == []
    return engine


def test_the_spike_is_the_one_unusual_week(history):
    """Expected 1 (every earlier same week held 1), range up to the 99th percentile of a Poisson of mean 1 (4):
    8 is 4 above it, and 8 cases in the last 4 weeks pass the rule of 5."""
    unusual = unusual_weeks(history, PERIOD, Scope.of("RIPRSL", "SPS"))
    assert list(unusual["week"]) == ["2025-W10"]
    (row,) = unusual.to_dict("records")
    assert (row["code"], row["name"], row["interventions"], row["method"]) == ("57040", "Beloeil", 8, "farrington")
    assert row["expected"] == pytest.approx(1.0) and row["upper"] == stats.poisson.ppf(0.99, 1) == 4
    assert row["excess"] == 4


def stored_weeks(engine, code: str, first: str, last: str) -> list[tuple]:
    statement = (select(weekly_count.c.week, weekly_count.c.interventions, weekly_count.c.method, weekly_count.c.alarm)
                 .where(weekly_count.c.municipality_code == code, weekly_count.c.week.between(first, last))
                 .order_by(weekly_count.c.week))
    with engine.connect() as connection:
        return [(week, count, method, bool(alarm)) for week, count, method, alarm in connection.execute(statement)]


def test_only_the_weeks_that_could_be_unusual_are_fitted(history):
    """Weeks 6 to 9 hold 1 case each, 4 in 4 weeks: under the rule of 5 they cannot be unusual and are not fitted.
    Week 10 (8 cases) and week 11 (11 in 4 weeks) are."""
    assert stored_weeks(history, "57040", "2025-W06", "2025-W11") == [
        ("2025-W06", 1, None, False), ("2025-W07", 1, None, False), ("2025-W08", 1, None, False),
        ("2025-W09", 1, None, False), ("2025-W10", 8, "farrington", True), ("2025-W11", 1, "farrington", False)]
    # Saguenay's one case: too few to be unusual.
    assert stored_weeks(history, "94068", "2025-W01", "2025-W52") == [("2025-W11", 1, None, False)]


def test_a_corrected_import_takes_the_week_back_to_usual(history):
    """The records clerk re-exports week 10 with its 7 extra events moved to another municipality."""
    lines = ["event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban"]
    with history.connect() as connection:
        spike = connection.execute(select(intervention.c.event_id).where(
            intervention.c.occurred_week == "2025-W10", intervention.c.municipality_code == "57040")
            .order_by(intervention.c.occurred_us)).scalars().all()
    assert len(spike) == 8
    lines += [f"{event},RIPRSL,57005,2025-03-05 {10 + index}:00,non,,,non" for index, event in enumerate(spike[1:])]
    report = import_file(history, "interventions", "\n".join(lines).encode(), "correction.csv", imported_by="test")
    assert report.problems == []
    assert unusual_weeks(history, PERIOD, Scope.of("RIPRSL")).empty
    assert stored_weeks(history, "57040", "2025-W10", "2025-W10") == [("2025-W10", 1, None, False)]
    assert stored_weeks(history, "57005", "2025-W10", "2025-W10") == [("2025-W10", 7, "none", False)]


def test_the_scope_is_applied(history):
    assert unusual_weeks(history, PERIOD, Scope.of("SPS")).empty
    with pytest.raises(PermissionError):
        unusual_weeks(history, PERIOD, Scope.of("RIPRSL", role="funder"))


def test_the_weekly_chart_gets_the_totals_range(history):
    frame = weekly_range(history, PERIOD, Scope.of("RIPRSL"))
    assert list(frame["interventions"]) == [1, 1, 1, 1, 8, 1]
    assert list(frame["alarm"]) == [False, False, False, False, True, False]
    assert frame["expected"].tolist() == pytest.approx([1.0] * 6)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_overview_lists_the_unusual_week_and_the_definitions_explain_it(history, database_url, monkeypatch,
                                                                             language):
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from tests.test_app import AUTH, PAGES_DIR, signed_in

    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(str(PAGES_DIR / "overview.py"), default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), "sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}
    test.query_params.update({"period": "custom", "from": "2025-02-03", "to": "2025-03-16", "lang": language})
    test.session_state["language"] = language
    test.run()
    assert not test.exception
    assert t("overview.unusual", language) in [header.value for header in test.subheader]
    shown = test.dataframe[0].value
    assert list(shown[t("unusual.column.week", language)]) == ["2025-W10"]
    assert list(shown[t("unusual.column.excess", language)]) == [4]
    definitions = AppTest.from_file(str(PAGES_DIR / "definitions.py"), default_timeout=60)
    definitions.secrets["auth"] = AUTH
    definitions.user = {**signed_in(), "sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}
    definitions.session_state["language"] = language
    definitions.query_params["lang"] = language
    definitions.run()
    assert any("Farrington" in block.value and "EARS C2" in block.value for block in definitions.markdown)


def test_a_scope_without_any_case_has_no_unusual_week(engine):
    unusual = unusual_weeks(engine, PERIOD, Scope.of("SPS"))
    assert unusual.empty and "excess" in unusual.columns


def test_the_demos_planted_spikes_are_flagged_and_few_ordinary_weeks_are(engine):
    """Over 2023–2025 on the demo data: every planted outbreak is an unusual week, and fewer than 1 in 100 of the
    other municipality-weeks is (the rate is printed: it is a measurement, kept in the README)."""
    from dashboard.demo.calibration import PLANTED_SPIKES
    from dashboard.demo.data import generate, load_demo_files
    from queries.localtime import week_label

    load_demo_files(engine, generate(42, date(2025, 12, 31)))
    flt = MetricFilter(Period(date(2023, 1, 2), date(2025, 12, 28)))  # 2023-W01 to 2025-W52
    scope = Scope.of("RIPRSL", "SPS")
    planted = {(code, week_label(day)) for _service, code, day, _count in PLANTED_SPIKES}
    flagged = {(row.code, row.week) for row in unusual_weeks(engine, flt, scope).itertuples()}
    assert planted <= flagged
    ordinary = len(municipality_weeks(engine, flt, scope)) - len(planted)
    false_alarms = len(flagged - planted)
    print(f"planted {len(planted)}/{len(planted)} flagged; false alarms {false_alarms}/{ordinary} "
          f"= {false_alarms / ordinary:.2%} of ordinary municipality-weeks")
    assert false_alarms / ordinary < 0.01
    # What the imports stored week by week is what one pass over every stored week gives.
    with engine.connect() as connection:
        written = connection.execute(select(weekly_count).order_by(*weekly_count.primary_key)).all()
    with engine.begin() as connection:
        refresh_all_weeks(connection)
        assert connection.execute(select(weekly_count).order_by(*weekly_count.primary_key)).all() == written


def test_the_heat_map_outlines_the_unusual_week(history):
    from dashboard.render.charts import heatmap_chart
    from queries.expected import municipality_weeks_marked

    cells = municipality_weeks_marked(history, PERIOD, Scope.of("RIPRSL"))
    assert set(cells.loc[cells["unusual"], "week"]) == {"2025-W10"}
    assert set(cells.loc[cells["unusual"], "code"]) == {"57040"}
    spec = heatmap_chart(cells, "fr").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert sorted((row["code"], row["unusual_text"]) for row in rows if row["unusual"]) == [("57040", "Oui")]
    assert spec["encoding"]["stroke"]["condition"]["test"] == "datum.unusual"


def test_the_weeks_of_one_series_fitted_at_once_are_those_fitted_one_by_one():
    import numpy as np

    from queries.expected import SETTINGS, expectations_at
    from queries.surveillance import expectations

    rng = np.random.default_rng(1)
    for trial in range(40):
        length = int(rng.integers(20, 420))
        seasonal = 1 + 0.3 * np.sin(np.arange(length) / 52 * 2 * np.pi)
        total = rng.poisson(rng.uniform(0.05, 30) * seasonal).astype("int64")
        if trial % 5 == 0:  # a series that starts late, and one without any case
            total[: int(rng.integers(0, length))] = 0
        if trial % 7 == 0:
            total[:] = 0
        weeks = range(max(0, length - int(rng.integers(1, 60))), length)
        alone = [expectations(total[None, :], week, SETTINGS)[0] for week in weeks]
        together = expectations_at(total, weeks)
        assert [(one.observed, one.method, one.alarm) for one in alone] == [
            (one.observed, one.method, one.alarm) for one in together]
        for one, other in zip(alone, together):
            assert one.expected == pytest.approx(other.expected, rel=1e-9, nan_ok=True)
            assert one.upper == pytest.approx(other.upper, rel=1e-9, nan_ok=True)
