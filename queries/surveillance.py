"""Expected weekly counts and unusual weeks: the improved Farrington method (Noufaily et al., Statistics in Medicine
2013; R's surveillance::farringtonFlexible) and, with less than two years of history, EARS C2. Pure functions.

Many series (one per municipality) are fitted at once. The model, log mean = seasonal level + trend × week, has a
closed form for the levels once the trend is known, so each fit is a one-dimensional Newton search on the trend,
in array operations over every series together: a province's 1,118 municipalities take a few milliseconds a week.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

WEEKS_PER_YEAR = 52
NEWTON_STEPS = 60
# A trend of e^0.2 a week (×33,000 a year) is no trend a count could follow: beyond it the series is degenerate.
LARGEST_TREND = 0.2
LARGEST_STEP = 0.05


@dataclass(frozen=True)
class FarringtonSettings:
    """The improved method's settings, as Noufaily et al. recommend them (alpha: one-sided, per week)."""

    years_back: int = 5  # b
    half_window: int = 3  # w: the weeks around the same calendar week of past years
    periods: int = 10  # the rest of the year in 9 seasonal periods, the window being the 10th
    past_weeks_not_included: int = 26  # the last half year is not used: an ongoing rise must not raise its baseline
    weights_threshold: float = 2.58  # past weeks whose Anscombe residual exceeds this are down-weighted
    trend_p_value: float = 0.05  # the trend is kept only when significant
    alpha: float = 0.01
    minimum_cases: int = 5  # no alarm unless the last 4 weeks hold at least this many cases
    minimum_weeks: int = 4
    minimum_years: int = 2  # less history than this: EARS C2


@dataclass(frozen=True)
class Expectation:
    """One week's expected count, the upper end of its usual range, how it was made, and whether it is unusual."""

    observed: int
    expected: float
    upper: float
    method: str  # "farrington", "ears_c2", or "none" (too little history for either)
    alarm: bool

    @property
    def excess(self) -> float:
        """Cases above the usual range (0 when within it)."""
        return max(0.0, self.observed - self.upper)


@dataclass(frozen=True)
class _Fits:
    """Quasi-Poisson fits of many series (rows) over the same reference weeks (columns)."""

    trend: np.ndarray  # per series, per week
    mean: np.ndarray  # per series and week
    expected_now: np.ndarray  # per series: the current week's mean (its seasonal level, at distance 0)
    dispersion: np.ndarray
    hat: np.ndarray
    trend_variance: np.ndarray


def _season(distance: np.ndarray, settings: FarringtonSettings) -> np.ndarray:
    """Each past week's seasonal period: 0 within w weeks of the current calendar week, then 1.. around the year."""
    position = distance % WEEKS_PER_YEAR
    w = settings.half_window
    in_window = (position <= w) | (position >= WEEKS_PER_YEAR - w)
    rest = WEEKS_PER_YEAR - (2 * w + 1)
    length = rest / (settings.periods - 1)
    later = np.minimum(((position - w - 1) / length).astype(int) + 1, settings.periods - 1)
    return np.where(in_window, 0, later)


@dataclass(frozen=True)
class _Levels:
    """The reference weeks, ordered so that each seasonal level's weeks are contiguous."""

    starts: np.ndarray  # index of each level's first week
    sizes: np.ndarray  # weeks per level
    current: int  # position of level 0 (the current week's) among the levels, -1 when it has no week

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per series and level, the sum over the level's weeks."""
        # reduceat rather than a product with a one-hot matrix: BLAS threads crawl on a busy server.
        return np.add.reduceat(values, self.starts, axis=1)

    def spread(self, per_level: np.ndarray) -> np.ndarray:
        """Per series and week, its level's value."""
        return np.repeat(per_level, self.sizes, axis=1)


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return np.divide(part, whole, out=np.zeros_like(part, dtype=float), where=whole > 0)


def _fit(counts: np.ndarray, weights: np.ndarray, levels: _Levels, times: np.ndarray, with_trend: np.ndarray,
         parameters: np.ndarray) -> _Fits:
    """Weighted quasi-Poisson fits of log mean = level + trend × time; the trend stays 0 where with_trend is False.

    For a trend b the levels' maximum-likelihood values are exp(level) = sum(w y) / sum(w e^(b t)) over the level's
    weeks, so the likelihood is maximised over b alone (it is concave in b: Newton steps from 0 converge).
    """
    cases = levels.sums(weights * counts)  # per series and level
    trend = np.zeros(len(counts))
    for _ in range(NEWTON_STEPS):
        growth = weights * np.exp(trend[:, None] * times)
        total = levels.sums(growth)
        first = levels.sums(growth * times)
        second = levels.sums(growth * times**2)
        mean_time = _ratio(first, total)
        score = np.sum(weights * counts * times, axis=1) - np.sum(cases * mean_time, axis=1)
        curvature = np.sum(cases * (_ratio(second, total) - mean_time**2), axis=1)
        step = np.clip(np.where(with_trend & (curvature > 0), _ratio(score, curvature), 0.0), -LARGEST_STEP,
                       LARGEST_STEP)
        moved = np.clip(trend + step, -LARGEST_TREND, LARGEST_TREND)
        if np.all(np.abs(moved - trend) < 1e-12):
            break
        trend = moved
    growth = np.exp(trend[:, None] * times)
    scale = _ratio(cases, levels.sums(weights * growth))  # exp(level), per series and level
    mean = levels.spread(scale) * growth
    # The information of (levels, trend) is a diagonal block per level plus the trend's row; its inverse by the
    # Schur complement gives each week's leverage and the trend's variance without an 11 × 11 solve per series.
    weighted = weights * mean
    level_total = levels.sums(weighted)
    level_time = levels.sums(weighted * times)
    complement = np.sum(weighted * times**2, axis=1) - np.sum(_ratio(level_time**2, level_total), axis=1)
    complement = np.where(with_trend & (complement > 0), complement, np.inf)
    centre = levels.spread(_ratio(level_time, level_total))
    hat = weighted * (levels.spread(_ratio(np.ones_like(level_total), level_total))
                      + (times - centre) ** 2 / complement[:, None])
    observations = np.sum(weights > 0, axis=1)
    freedom = np.maximum(observations - parameters, 1)
    pearson = np.sum(_ratio(weights * (counts - mean) ** 2, mean), axis=1)
    dispersion = np.maximum(1.0, pearson / freedom)
    now = scale[:, levels.current] if levels.current >= 0 else np.zeros(len(counts))
    return _Fits(trend, mean, now, dispersion, hat, dispersion / complement)


def _anscombe(counts: np.ndarray, fits: _Fits) -> np.ndarray:
    """Standardised Anscombe residuals; 0 where the fitted mean is 0 (a level without a case)."""
    leverage = np.clip(1 - fits.hat, 1e-9, None)
    root = np.sqrt(fits.mean)
    sixth = np.divide(1.0, fits.mean ** (1 / 6), out=np.zeros_like(fits.mean), where=fits.mean > 0)
    raw = 1.5 * (counts ** (2 / 3) * sixth - root)
    return raw / np.sqrt(fits.dispersion[:, None] * leverage)


def _down_weighted(residuals: np.ndarray, present: np.ndarray, settings: FarringtonSettings) -> np.ndarray:
    """Weeks whose residual exceeds the threshold weigh residual^-2; the weights are rescaled to sum to n."""
    above = residuals > settings.weights_threshold
    weights = np.where(above, 1.0 / np.where(above, residuals, 1.0) ** 2, 1.0) * present
    return weights * _ratio(present.sum(axis=1), weights.sum(axis=1))[:, None]


def _upper(expected: np.ndarray, dispersion: np.ndarray, alpha: float) -> np.ndarray:
    """The (1 - alpha) quantile of a negative binomial of this mean and dispersion (Poisson when it is 1)."""
    upper = np.zeros(len(expected))
    poisson = (expected > 0) & (dispersion <= 1.0 + 1e-9)
    upper[poisson] = stats.poisson.ppf(1 - alpha, expected[poisson])
    spread = (expected > 0) & ~poisson
    size = expected[spread] / (dispersion[spread] - 1)
    upper[spread] = stats.nbinom.ppf(1 - alpha, size, size / (size + expected[spread]))
    return upper


def _recent_cases(counts: np.ndarray, week: int, settings: FarringtonSettings) -> np.ndarray:
    return counts[:, max(0, week - settings.minimum_weeks + 1): week + 1].sum(axis=1)


def _robust_fit(y: np.ndarray, present: np.ndarray, levels: _Levels, times: np.ndarray, with_trend: bool,
                settings: FarringtonSettings) -> _Fits:
    """A fit, then a refit with the weeks of large residuals (past outbreaks) down-weighted."""
    trend = np.full(len(y), with_trend)
    parameters = settings.periods + int(with_trend)
    first = _fit(y, present, levels, times, trend, parameters)
    return _fit(y, _down_weighted(_anscombe(y, first), present, settings), levels, times, trend, parameters)


def farrington_many(counts: np.ndarray, week: int, starts: np.ndarray | None = None,
                    settings: FarringtonSettings = FarringtonSettings()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected count, upper end of the range and alarm at counts[:, week], each series beginning at its start."""
    counts = np.asarray(counts, dtype=float)
    starts = np.zeros(len(counts), dtype=int) if starts is None else np.asarray(starts)
    times = np.arange(max(week - settings.years_back * WEEKS_PER_YEAR - settings.half_window, 0),
                      week - settings.past_weeks_not_included + 1)
    seasons = _season(week - times, settings)
    order = np.argsort(seasons, kind="stable")
    times, seasons = times[order], seasons[order]
    found, starts_of_levels, sizes = np.unique(seasons, return_index=True, return_counts=True)
    levels = _Levels(starts_of_levels, sizes, int(np.flatnonzero(found == 0)[0]) if 0 in found else -1)
    present = (times[None, :] >= starts[:, None]).astype(float)
    y = counts[:, times] * present
    distance = (times - week).astype(float)
    trended = _robust_fit(y, present, levels, distance, True, settings)
    z = trended.trend / np.sqrt(np.maximum(trended.trend_variance, 1e-300))
    keep = 2 * stats.norm.sf(np.abs(z)) < settings.trend_p_value
    flat = trended if keep.all() else _robust_fit(y, present, levels, distance, False, settings)
    no_history = y.sum(axis=1) == 0
    expected = np.where(keep, trended.expected_now, flat.expected_now)
    expected[no_history] = 0.0
    upper = _upper(expected, np.where(keep, trended.dispersion, flat.dispersion), settings.alpha)
    alarm = (counts[:, week] > upper) & (_recent_cases(counts, week, settings) >= settings.minimum_cases)
    return expected, upper, alarm


def farrington(counts: np.ndarray, week: int, settings: FarringtonSettings = FarringtonSettings()) -> Expectation:
    """The improved Farrington expectation of counts[week] from the same calendar weeks of earlier years."""
    expected, upper, alarm = farrington_many(np.asarray(counts)[None, :], week, settings=settings)
    return Expectation(int(counts[week]), float(expected[0]), float(upper[0]), "farrington", bool(alarm[0]))


def ears_c2(counts: np.ndarray, week: int, settings: FarringtonSettings = FarringtonSettings()) -> Expectation:
    """EARS C2: the mean and standard deviation of weeks t-9 to t-3 (two weeks' lag); unusual above mean + 3 sd."""
    observed = int(counts[week])
    baseline = counts[max(0, week - 9): max(0, week - 2)].astype(float)
    if len(baseline) < 7:
        return Expectation(observed, float("nan"), float("nan"), "none", False)
    mean, deviation = float(baseline.mean()), float(baseline.std(ddof=1))
    # A flat baseline (sd 0) would make any single case unusual: the sd is at least 0.5 case.
    upper = mean + 3 * max(deviation, 0.5)
    enough = counts[max(0, week - settings.minimum_weeks + 1): week + 1].sum() >= settings.minimum_cases
    return Expectation(observed, mean, upper, "ears_c2", bool(observed > upper and enough))


def history_needed(settings: FarringtonSettings = FarringtonSettings()) -> int:
    """Weeks of a series' own history before a week for the Farrington method rather than EARS C2."""
    return settings.minimum_years * WEEKS_PER_YEAR + settings.half_window


def expectations(counts: np.ndarray, week: int, settings: FarringtonSettings = FarringtonSettings(),
                 starts: np.ndarray | None = None) -> list[Expectation]:
    """Each series' expectation of its counts[week], each series' own history beginning at its start (by default its
    first case)."""
    counts = np.asarray(counts)
    if starts is None:
        starts = np.where(counts.any(axis=1), (counts > 0).argmax(axis=1), counts.shape[1])
    found: list[Expectation | None] = [None] * len(counts)
    long_enough = week - starts >= history_needed(settings)
    rows = np.flatnonzero(long_enough)
    if len(rows):
        expected, upper, alarm = farrington_many(counts[rows], week, starts[rows], settings)
        for row, mean, top, unusual in zip(rows, expected, upper, alarm):
            found[row] = Expectation(int(counts[row, week]), float(mean), float(top), "farrington", bool(unusual))
    for row in np.flatnonzero(~long_enough):
        if week < starts[row]:
            found[row] = Expectation(int(counts[row, week]), 0.0, 0.0, "none", False)
        else:
            found[row] = ears_c2(counts[row, starts[row]:], week - starts[row], settings)
    return found


def expectation(counts: np.ndarray, week: int, settings: FarringtonSettings = FarringtonSettings()) -> Expectation:
    """Farrington when the series holds at least two years before the week, EARS C2 otherwise."""
    if week >= history_needed(settings):
        return farrington(counts, week, settings)
    return ears_c2(counts, week, settings)
