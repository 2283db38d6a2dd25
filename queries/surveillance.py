"""Expected weekly counts and unusual weeks: the improved Farrington method (Noufaily et al., Statistics in Medicine
2013; R's surveillance::farringtonFlexible) and, with less than two years of history, EARS C2. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

WEEKS_PER_YEAR = 52
# R's poisson()$linkinv floor: a seasonal level with no case drives its coefficient towards -inf, and a mean of
# exactly 0 would divide by zero.
SMALLEST_MEAN = float(np.finfo(float).eps)
STEP_HALVINGS = 30


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
class _Fit:
    beta: np.ndarray
    mu: np.ndarray
    dispersion: float
    hat: np.ndarray
    covariance: np.ndarray


def _mean(eta: np.ndarray) -> np.ndarray:
    return np.maximum(np.exp(np.minimum(eta, 700.0)), SMALLEST_MEAN)


def _deviance(counts: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> float:
    ratio = np.where(counts > 0, counts / mu, 1.0)
    return float(2 * np.sum(weights * (counts * np.log(ratio) - (counts - mu))))


def _poisson_fit(design: np.ndarray, counts: np.ndarray, weights: np.ndarray, offset: np.ndarray) -> _Fit:
    """A weighted quasi-Poisson log-linear fit by iteratively reweighted least squares."""
    eta = np.log(np.maximum(counts, 0.5))
    beta = np.zeros(design.shape[1])
    deviance = np.inf
    # R's glm.fit test: stop when the deviance changes by less than 1e-8 of itself. A seasonal level without a
    # case never converges in its coefficient (it heads to -inf), but the deviance does.
    for _ in range(100):
        mu = _mean(eta)
        working = eta - offset + (counts - mu) / mu
        w = weights * mu
        information = design.T @ (design * w[:, None])
        step = np.linalg.lstsq(information, design.T @ (w * working), rcond=None)[0] - beta
        # glm2's step-halving (Marschner, R Journal 2011): a step that raises the deviance is halved, so that a
        # near-singular information matrix cannot throw the fit off.
        for _ in range(STEP_HALVINGS):
            new_eta = design @ (beta + step) + offset
            new_deviance = _deviance(counts, _mean(new_eta), weights)
            if np.isfinite(new_deviance) and new_deviance <= deviance:
                break
            step = step / 2
        else:
            break
        beta, eta = beta + step, new_eta
        if abs(new_deviance - deviance) / (abs(new_deviance) + 0.1) < 1e-8:
            break
        deviance = new_deviance
    mu = _mean(eta)
    w = weights * mu
    information = design.T @ (design * w[:, None])
    inverse = np.linalg.pinv(information)
    hat = np.einsum("ij,jk,ik->i", design * np.sqrt(w)[:, None], inverse, design * np.sqrt(w)[:, None])
    freedom = max(len(counts) - design.shape[1], 1)
    dispersion = max(1.0, float(np.sum(weights * (counts - mu) ** 2 / mu) / freedom))
    return _Fit(beta, mu, dispersion, hat, inverse * dispersion)


def _anscombe(counts: np.ndarray, fit: _Fit) -> np.ndarray:
    """Standardised Anscombe residuals of a Poisson fit."""
    leverage = np.clip(1 - fit.hat, 1e-9, None)
    return 1.5 * (counts ** (2 / 3) * fit.mu ** (-1 / 6) - fit.mu ** 0.5) / np.sqrt(fit.dispersion * leverage)


def _season(distance: np.ndarray, settings: FarringtonSettings) -> np.ndarray:
    """Each past week's seasonal period: 0 within w weeks of the current calendar week, then 1.. around the year."""
    position = distance % WEEKS_PER_YEAR
    w = settings.half_window
    in_window = (position <= w) | (position >= WEEKS_PER_YEAR - w)
    rest = WEEKS_PER_YEAR - (2 * w + 1)
    length = rest / (settings.periods - 1)
    later = np.minimum(((position - w - 1) / length).astype(int) + 1, settings.periods - 1)
    return np.where(in_window, 0, later)


def _design(times: np.ndarray, seasons: np.ndarray, periods: int, trend: bool) -> np.ndarray:
    columns = [np.ones(len(times))]
    if trend:
        columns.append(times.astype(float))
    columns += [(seasons == level).astype(float) for level in range(1, periods)]
    return np.column_stack(columns)


def _upper(expected: float, dispersion: float, alpha: float) -> float:
    """The (1 - alpha) quantile of a negative binomial of this mean and dispersion (Poisson when it is 1)."""
    if expected <= 0:
        return 0.0
    if dispersion <= 1.0 + 1e-9:
        return float(stats.poisson.ppf(1 - alpha, expected))
    size = expected / (dispersion - 1)
    return float(stats.nbinom.ppf(1 - alpha, size, size / (size + expected)))


def _enough_recent_cases(counts: np.ndarray, week: int, settings: FarringtonSettings) -> bool:
    return counts[max(0, week - settings.minimum_weeks + 1): week + 1].sum() >= settings.minimum_cases


def farrington(counts: np.ndarray, week: int, population: float = 1.0,
               settings: FarringtonSettings = FarringtonSettings()) -> Expectation:
    """The improved Farrington expectation of counts[week] from the same calendar weeks of earlier years."""
    times = np.arange(len(counts))
    first = week - settings.years_back * WEEKS_PER_YEAR - settings.half_window
    reference = times[(times >= max(first, 0)) & (times <= week - settings.past_weeks_not_included)]
    observed = int(counts[week])
    y = counts[reference].astype(float)
    if y.sum() == 0:
        # Never a case in years: the range is 0, and the rule of 5 cases in 4 weeks decides alone.
        return Expectation(observed, 0.0, 0.0, "farrington", observed > 0 and _enough_recent_cases(counts, week,
                                                                                                  settings))
    seasons = _season(week - reference, settings)
    offset = np.full(len(reference), np.log(population))
    trend = True
    fit = None
    for _ in range(2):
        design = _design(reference, seasons, settings.periods, trend)
        fit = _poisson_fit(design, y, np.ones(len(y)), offset)
        residuals = _anscombe(y, fit)
        above = residuals > settings.weights_threshold
        weights = np.ones(len(y))
        weights[above] = residuals[above] ** -2.0
        weights *= len(y) / weights.sum()
        fit = _poisson_fit(design, y, weights, offset)
        if not trend:
            break
        z = fit.beta[1] / np.sqrt(max(fit.covariance[1, 1], 1e-300))
        if 2 * stats.norm.sf(abs(z)) < settings.trend_p_value:
            break
        trend = False
    design_now = _design(np.array([week]), np.array([0]), settings.periods, trend)
    expected = float(np.exp(design_now @ fit.beta + np.log(population))[0])
    upper = _upper(expected, fit.dispersion, settings.alpha)
    alarm = observed > upper and _enough_recent_cases(counts, week, settings)
    return Expectation(observed, expected, upper, "farrington", bool(alarm))


def ears_c2(counts: np.ndarray, week: int, settings: FarringtonSettings = FarringtonSettings()) -> Expectation:
    """EARS C2: the mean and standard deviation of weeks t-9 to t-3 (two weeks' lag); unusual above mean + 3 sd."""
    observed = int(counts[week])
    baseline = counts[max(0, week - 9): max(0, week - 2)].astype(float)
    if len(baseline) < 7:
        return Expectation(observed, float("nan"), float("nan"), "none", False)
    mean, deviation = float(baseline.mean()), float(baseline.std(ddof=1))
    # A flat baseline (sd 0) would make any single case unusual: the sd is at least 0.5 case.
    upper = mean + 3 * max(deviation, 0.5)
    alarm = observed > upper and _enough_recent_cases(counts, week, settings)
    return Expectation(observed, mean, upper, "ears_c2", bool(alarm))


def expectation(counts: np.ndarray, week: int, population: float = 1.0,
                settings: FarringtonSettings = FarringtonSettings()) -> Expectation:
    """Farrington when the series holds at least two years before the week, EARS C2 otherwise."""
    needed = settings.minimum_years * WEEKS_PER_YEAR + settings.half_window
    if week >= needed:
        return farrington(counts, week, population, settings)
    return ears_c2(counts, week, settings)
