"""The expected range of a week, worked out by hand on small series."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from queries.surveillance import (
    WEEKS_PER_YEAR,
    ears_c2,
    expectation,
    expectations,
    farrington,
    farrington_many,
)
from tests import reference_farrington as reference

SIX_YEARS = 6 * WEEKS_PER_YEAR


def test_a_constant_history_expects_its_level_and_a_poisson_range():
    """Four cases every week for six years: the fit is the level itself, without overdispersion or trend, so the
    range ends at the 99th percentile of a Poisson of mean 4, which is 9 (P(X <= 8) = 0.979, P(X <= 9) = 0.992)."""
    counts = np.full(SIX_YEARS, 4)
    week = SIX_YEARS - 1
    usual = farrington(counts, week)
    assert usual.method == "farrington" and usual.expected == pytest.approx(4.0)
    assert usual.upper == 9 == stats.poisson.ppf(0.99, 4)
    assert not usual.alarm
    counts[week] = 10
    assert farrington(counts, week).alarm and farrington(counts, week).excess == 1
    counts[week] = 9
    assert not farrington(counts, week).alarm


def test_the_expected_count_is_the_mean_of_the_same_calendar_weeks_of_earlier_years():
    """Ten cases in the seven weeks around week 20 of every year, two elsewhere: without a trend, a Poisson fit with
    a factor per seasonal period gives each period its mean, so week 20 of the last year expects 10."""
    weeks = np.arange(SIX_YEARS)
    counts = np.where(np.abs((weeks % WEEKS_PER_YEAR) - 20) <= 3, 10, 2)
    week = 5 * WEEKS_PER_YEAR + 20
    result = farrington(counts, week)
    assert result.expected == pytest.approx(10.0, rel=1e-6)
    quiet = farrington(counts, 5 * WEEKS_PER_YEAR + 40)
    assert quiet.expected == pytest.approx(2.0, rel=1e-6)


def test_no_alarm_with_fewer_than_five_cases_in_four_weeks():
    """A quiet municipality (one case a year) with three cases this week: above its range, but 3 < 5 in 4 weeks."""
    counts = np.zeros(SIX_YEARS, dtype=int)
    counts[::WEEKS_PER_YEAR] = 1
    week = SIX_YEARS - 1
    counts[week] = 3
    result = farrington(counts, week)
    assert result.observed > result.upper and not result.alarm
    counts[week - 1] = 2
    assert farrington(counts, week).alarm


def test_a_past_outbreak_is_down_weighted():
    """One week of 40 in a history of 4s, a year before: reweighting keeps it from widening this year's range."""
    counts = np.full(SIX_YEARS, 4)
    week = SIX_YEARS - 1
    counts[week - WEEKS_PER_YEAR] = 40
    result = farrington(counts, week)
    assert result.expected < 4.2 and result.upper <= 10


def test_a_rising_trend_is_followed():
    """From 2 to about 12 cases a week over six years: the expectation follows the trend, not the mean (about 7)."""
    weeks = np.arange(SIX_YEARS)
    counts = np.round(2 + 10 * weeks / SIX_YEARS).astype(int)
    result = farrington(counts, SIX_YEARS - 1)
    assert result.expected > 10


def test_ears_c2_by_hand():
    """Baseline weeks t-9 to t-3: 2, 4, 3, 5, 1, 3, 3; mean 3, sample sd sqrt(10/6) = 1.291; range up to 6.873."""
    counts = np.array([2, 4, 3, 5, 1, 3, 3, 9, 9, 7])
    result = ears_c2(counts, 9)
    assert result.method == "ears_c2" and result.expected == pytest.approx(3.0)
    assert result.upper == pytest.approx(3 + 3 * np.sqrt(10 / 6))
    assert result.alarm  # 7 > 6.873, and 9 + 9 + 7 (+3) >= 5 in the last four weeks
    counts[9] = 6
    assert not ears_c2(counts, 9).alarm


def test_the_method_depends_on_the_history():
    counts = np.full(3 * WEEKS_PER_YEAR, 3)
    assert expectation(counts, 2 * WEEKS_PER_YEAR + 3).method == "farrington"
    assert expectation(counts, 2 * WEEKS_PER_YEAR + 2).method == "ears_c2"
    assert expectation(counts, 5).method == "none"


def test_a_history_without_a_case_expects_none():
    counts = np.zeros(SIX_YEARS, dtype=int)
    counts[-3:] = [1, 2, 3]
    result = farrington(counts, SIX_YEARS - 1)
    assert (result.expected, result.upper, result.alarm) == (0.0, 0.0, True)


def _random_series(generator: np.random.Generator, kind: int, length: int) -> np.ndarray:
    weeks = np.arange(length)
    if kind == 0:
        level = np.full(length, generator.uniform(0.2, 20))
    elif kind == 1:
        level = generator.uniform(1, 10) * (1 + 0.5 * np.sin(2 * np.pi * weeks / WEEKS_PER_YEAR))
    elif kind == 2:
        level = generator.uniform(1, 5) * np.exp(generator.uniform(-0.004, 0.004) * weeks)
    else:
        level = np.full(length, generator.uniform(0.02, 8))
    counts = generator.poisson(level)
    if kind == 3:
        counts[generator.integers(0, length - 30, 3)] += generator.integers(10, 30, 3)
    return counts


def test_many_series_at_once_give_the_textbook_fits_ranges():
    """The fast fit (levels in closed form, Newton on the trend, every series at once) against the full design
    matrix fitted one series at a time: level, seasonal, trending, outbreak-ridden and sparse series."""
    generator = np.random.default_rng(5)
    counts = np.array([_random_series(generator, index % 4, SIX_YEARS + 10) for index in range(400)])
    week = SIX_YEARS + 9
    counts[::10, week] += 25  # an outbreak this week in one series of ten
    expected, upper, alarm = farrington_many(counts, week)
    textbook = [reference.farrington(series, week) for series in counts]
    assert expected == pytest.approx([result.expected for result in textbook], rel=1e-6, abs=1e-6)
    assert upper.tolist() == [result.upper for result in textbook]
    assert alarm.tolist() == [result.alarm for result in textbook]
    assert alarm[::10].all() and 40 <= alarm.sum() < 60


def test_each_series_begins_at_its_first_case():
    """A series that starts late is fitted on its own history only, as if the earlier weeks did not exist."""
    generator = np.random.default_rng(8)
    counts = np.array([_random_series(generator, 1, SIX_YEARS + 10) for _ in range(3)])
    counts[1, :60] = 0
    counts[2, :250] = 0
    week = SIX_YEARS + 9
    found = expectations(counts, week)
    first_case = [0, int(np.flatnonzero(counts[1])[0]), int(np.flatnonzero(counts[2])[0])]
    own = [reference.farrington(series[start:], week - start) for series, start in zip(counts[:2], first_case)]
    assert [result.expected for result in found[:2]] == pytest.approx([result.expected for result in own], rel=1e-6)
    # Less than two years of its own history: EARS C2 on its own weeks.
    assert found[2] == ears_c2(counts[2, first_case[2]:], week - first_case[2])
    assert found[2].method == "ears_c2"


def test_a_history_with_a_single_case_still_fits():
    # One case in six years leaves nine of the ten seasonal levels without a case: their coefficients head to
    # -inf. The fit once diverged there and raised "SVD did not converge" on a province-scale Overview.
    counts = np.zeros(6 * WEEKS_PER_YEAR + 10, dtype=int)
    counts[100] = 1
    found = farrington(counts, len(counts) - 1)
    assert found.method == "farrington"
    assert 0 <= found.expected < 0.1
    assert found.upper <= 1
    assert not found.alarm


def test_sparse_histories_of_small_towns_all_fit():
    # A town with about one intervention a year: every series must give a finite range, never an error.
    generator = np.random.default_rng(1)
    for _ in range(300):
        counts = (generator.random(6 * WEEKS_PER_YEAR + 10) < 0.02).astype(int)
        found = farrington(counts, len(counts) - 1)
        assert np.isfinite(found.expected) and np.isfinite(found.upper)
