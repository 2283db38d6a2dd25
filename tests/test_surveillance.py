"""The expected range of a week, worked out by hand on small series."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from queries.surveillance import WEEKS_PER_YEAR, FarringtonSettings, ears_c2, expectation, farrington

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


def test_the_population_offset_scales_the_expectation_not_the_alarm():
    counts = np.full(SIX_YEARS, 4)
    assert farrington(counts, SIX_YEARS - 1, population=1000).expected == pytest.approx(4.0)
    assert FarringtonSettings().alpha == 0.01


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
