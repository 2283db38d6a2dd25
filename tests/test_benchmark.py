"""The pages benchmark on small data: the province-scale generator's rows, and a timing for every page."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, select

from dashboard.commands import benchmark
from dashboard.commands.benchmark import PageFailed, page_scripts, page_timings
from dashboard.demo.province import QUEBEC_REGIONS, SYNTHETIC_SERVICE_PREFIX, generate_province
from queries.localtime import epoch_microseconds, local_date, week_label
from queries.reference import REFERENCE_DIR, read_csv
from queries.schema import intervention, membership, municipality, outreach_attempt, police_service, weekly_count

INTERVENTIONS, MUNICIPALITIES, SERVICES = 2_000, 50, 5
END = date(2025, 12, 31)
PROGRAM_START = date(2022, 5, 1)


@pytest.fixture
def province(engine):
    """A small province-scale data set; the synthetic reference data goes after, since PostgreSQL's is shared."""
    load = generate_province(engine, INTERVENTIONS, MUNICIPALITIES, SERVICES, end=END)
    yield load
    synthetic = membership.c.police_service.like(SYNTHETIC_SERVICE_PREFIX + "%")
    with engine.begin() as connection:
        connection.execute(delete(outreach_attempt))
        connection.execute(delete(weekly_count))
        connection.execute(delete(intervention))
        places = list(connection.scalars(select(membership.c.municipality_code).where(synthetic)))
        connection.execute(delete(membership).where(synthetic))
        connection.execute(delete(municipality).where(municipality.c.code.in_(places)))
        connection.execute(delete(police_service).where(police_service.c.code.like(SYNTHETIC_SERVICE_PREFIX + "%")))


def test_generator_adds_synthetic_places_inside_quebec_with_codes_of_their_own(engine, province):
    reference_codes = {row["code"] for row in read_csv(REFERENCE_DIR / "municipalities.csv")}
    south = min(south for (south, _north), _ in QUEBEC_REGIONS.values)
    north = max(north for (_south, north), _ in QUEBEC_REGIONS.values)
    with engine.connect() as connection:
        synthetic = membership.c.police_service.like(SYNTHETIC_SERVICE_PREFIX + "%")
        places = connection.execute(select(municipality).join(membership).where(synthetic)).all()
    assert len(places) == MUNICIPALITIES and len({place.code for place in places}) == MUNICIPALITIES
    assert not {place.code for place in places} & reference_codes
    assert all(len(place.code) == 5 and place.code.isdigit() for place in places)
    assert all(south <= place.latitude <= north and -79.5 < place.longitude < -64 for place in places)
    populations = sorted(place.population_2021 for place in places)
    assert populations[-1] > 10 * populations[len(populations) // 2]  # skewed: a few towns dwarf the median
    assert (province.municipalities, province.police_services) == (MUNICIPALITIES + 18, SERVICES + 2)


def test_generator_writes_exactly_n_interventions_with_local_columns_as_the_importer_computes(engine, province):
    with engine.connect() as connection:
        rows = connection.execute(select(intervention)).all()
        served = connection.scalar(
            select(func.count())
            .select_from(intervention)
            .join(
                membership,
                (membership.c.municipality_code == intervention.c.municipality_code)
                & (membership.c.police_service == intervention.c.police_service),
            )
        )
    assert province.interventions == len(rows) == served == INTERVENTIONS
    for row in rows:
        assert row.occurred_us == epoch_microseconds(row.occurred_at)
        assert row.occurred_date == local_date(row.occurred_at) and row.occurred_week == week_label(row.occurred_date)
        assert date(2019, 1, 1) <= row.occurred_date <= END
        if row.arrest:
            assert row.arrested_us == epoch_microseconds(row.arrested_at) >= row.occurred_us
            assert row.arrested_date == local_date(row.arrested_at)
            assert row.arrested_week == week_label(row.arrested_date)
        else:
            assert row.arrested_at is row.arrested_us is row.arrested_date is row.arrested_week is None
    arrests = sum(row.arrest for row in rows) / len(rows)
    bans = sum(row.contact_ban for row in rows) / len(rows)
    keys = [row.subject_key for row in rows if row.subject_key]
    assert 0.45 < arrests < 0.55 and 0.25 < bans < 0.35
    assert 0.1 < 1 - len(set(keys)) / len(keys) < 0.3  # repeat subjects


def test_generator_calls_men_arrested_since_the_program_started(engine, province):
    with engine.connect() as connection:
        attempts = connection.execute(
            select(outreach_attempt, intervention.c.arrested_us, intervention.c.arrested_date).join(intervention)
        ).all()
        arrests = connection.scalar(
            select(func.count()).select_from(intervention).where(intervention.c.arrested_date >= PROGRAM_START)
        )
    assert province.attempts == len(attempts)
    assert 1.0 < len(attempts) / arrests < 3.0
    for attempt in attempts:
        assert attempt.arrested_date >= PROGRAM_START and attempt.attempted_us >= attempt.arrested_us
        assert attempt.attempted_us == epoch_microseconds(attempt.attempted_at)
        assert attempt.attempted_date == local_date(attempt.attempted_at) <= END


def test_generator_stores_what_the_importer_would(engine, province):
    from tests.test_precomputed import assert_stored_values_hold

    assert_stored_values_hold(engine)
    with engine.connect() as connection:
        stored = connection.scalar(select(func.sum(weekly_count.c.interventions)))
    assert stored == INTERVENTIONS


@pytest.mark.parametrize(("cold", "warm", "met"), [(999, 149, (True, True)), (1000, 100, (False, True)),
                                                    (500, 150, (True, False))])
def test_the_pages_benchmark_judges_each_page_against_the_targets(cold, warm, met):
    timing = benchmark.PageTiming("overview", "captain", cold, (warm,), benchmark.Payload())
    assert benchmark.targets_met(timing) == met
    row = benchmark._table_row("sqlite", "province", timing)
    assert (row[5], row[8]) == tuple("✓" if ok else "✗" for ok in met)


def test_every_page_gets_a_timing_and_a_payload(engine, province):
    timings, unopened = page_timings(engine.url.render_as_string(hide_password=False), reruns=1)
    assert [timing.page for timing in timings] == [script.stem for script in page_scripts()] and not unopened
    for timing in timings:
        assert timing.cold_ms > 0 and len(timing.warm_ms) == 1 and timing.warm_max_ms == timing.warm_median_ms
        assert timing.payload.rows >= 0 and timing.payload.size >= 0


def test_a_page_that_raises_stops_the_benchmark(tmp_path, monkeypatch):
    broken = tmp_path / "app.py"
    broken.write_text("raise RuntimeError('broken page')\n")
    monkeypatch.setattr(benchmark, "APP", broken)
    with pytest.raises(PageFailed, match="broken page"):
        page_timings("sqlite://", reruns=1)
