"""The improved Farrington method written the textbook way, one series at a time: a quasi-Poisson GLM fitted by
iteratively reweighted least squares on the full design matrix. queries/surveillance.py fits many series at once by
another route (the seasonal levels in closed form); the tests check that both give the same ranges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from queries.surveillance import WEEKS_PER_YEAR, Expectation, FarringtonSettings

# R's poisson()$linkinv floor: a seasonal level with no case drives its coefficient towards -inf, and a mean of
# exactly 0 would divide by zero.
SMALLEST_MEAN = float(np.finfo(float).eps)
STEP_HALVINGS = 30


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


