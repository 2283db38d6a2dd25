"""Small-cell suppression: which published counts to hide so that no count from 1 to 4 can be read or worked out.

A count from 1 to threshold − 1 is SMALL and shown as "< 5"; the parts of a SMALL total are all SMALL, zeros
included. When a total is shown and a SMALL count could be worked out from it, the next-smallest count of the
same row or column is MASKED (shown as "x"), and so on until every SMALL count can take at least two values
given everything published, as a reader who knows this rule would reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

DEFAULT_THRESHOLD = 5
# A count from 1 to threshold − 1: shown as "< 5".
SMALL = "small"
# A count hidden only so that a small one cannot be worked out from a total: shown as "x".
MASKED = "masked"
# A count that is never shown, known to a reader only within bounds.
UNPUBLISHED = "unpublished"
_EPSILON = 1e-6


class Unprotectable(Exception):
    """A small count that no further hiding can protect: its whole table must be withheld."""


@dataclass(frozen=True)
class Total:
    """A published count that is, by definition, the sum of other published counts (a row or a column total)."""

    name: str
    parts: tuple[str, ...]


def suppress(counts: Mapping[str, int], totals: Sequence[Total] = (), threshold: int = DEFAULT_THRESHOLD,
             unpublished: Mapping[str, tuple[float, float]] | None = None) -> dict[str, str]:
    """The counts to hide, each with its reason: SMALL (1 to threshold − 1) or MASKED (would give a small one away).

    `unpublished` counts are never shown; a reader knows only the bounds given for each. They tie published counts
    that no total ties, such as two counts a reader knows to be nearly equal.
    """
    if threshold < 1:
        raise ValueError(f"the suppression threshold must be at least 1, got {threshold}")
    problem = _Problem(counts, totals, threshold, unpublished or {})
    while (pinned := problem.first_pinned()) is not None:
        problem.protect(pinned)
    return {name: reason for name, reason in problem.hidden.items() if reason != UNPUBLISHED}


def is_shown(count: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Whether a count on its own may be shown (zero, or at least the threshold)."""
    return count == 0 or count >= threshold


class _Problem:
    """The published counts, the sums tying them together, and what is hidden so far."""

    def __init__(self, counts: Mapping[str, int], totals: Sequence[Total], threshold: int,
                 unpublished: Mapping[str, tuple[float, float]]) -> None:
        self.counts = {name: int(value) for name, value in counts.items()}
        for name, value in self.counts.items():
            if value < 0:
                raise ValueError(f"a count cannot be negative: {name} = {value}")
        for total in totals:
            missing = [name for name in (total.name, *total.parts) if name not in self.counts]
            if missing:
                raise ValueError(f"total {total.name} refers to unknown counts {missing}")
            if self.counts[total.name] != sum(self.counts[part] for part in total.parts):
                raise ValueError(f"{total.name} is not the sum of {', '.join(total.parts)}")
        self.totals = tuple(totals)
        self.threshold = threshold
        self.order = {name: position for position, name in enumerate(self.counts)}
        self.unpublished = dict(unpublished)
        self.hidden = {name: SMALL for name, value in self.counts.items()
                       if 0 < value < threshold and name not in self.unpublished}
        self.hidden.update((name, UNPUBLISHED) for name in self.unpublished)
        # A total below the threshold is not broken down: its parts, zeros included, are all shown as "< 5".
        # Otherwise its nonzero parts would be counted (four parts of "< 5" that add up to "< 5" are ones).
        self.may_be_zero: set[str] = set()
        while undivided := {part for total in totals if self.hidden.get(total.name) == SMALL
                            for part in total.parts} - self.may_be_zero - set(self.unpublished):
            self.may_be_zero |= undivided
            self.hidden.update((part, SMALL) for part in undivided)
        # For each masked count, the counts it was preferred to: a reader who knows this rule knows it is not
        # larger than those that are still shown.
        self.preferred_to: dict[str, tuple[str, ...]] = {}
        self._solved: dict[tuple, dict[str, tuple[float, float]]] = {}

    def bounds(self, name: str) -> tuple[float, float]:
        """What a reader of the published table knows of a hidden count."""
        if self.hidden[name] == UNPUBLISHED:
            return self.unpublished[name]
        if self.hidden[name] == SMALL:
            return (0.0 if name in self.may_be_zero else 1.0), float(self.threshold - 1)
        upper = math.inf
        for other in self.preferred_to.get(name, ()):
            if other not in self.hidden:
                value = self.counts[other]
                upper = min(upper, value if self.order[other] > self.order[name] else value - 1)
        return float(self.threshold), upper

    def equations(self) -> list[tuple[dict[str, int], float]]:
        """Each total as an equation over the hidden counts: coefficients and constant."""
        equations = []
        for total in self.totals:
            coefficients: dict[str, int] = {}
            constant = 0.0
            for name, sign in ((total.name, 1), *((part, -1) for part in total.parts)):
                if name in self.hidden:
                    coefficients[name] = coefficients.get(name, 0) + sign
                else:
                    constant -= sign * self.counts[name]
            coefficients = {name: sign for name, sign in coefficients.items() if sign}
            if coefficients:
                equations.append((coefficients, constant))
        return equations

    def ranges(self) -> dict[str, tuple[float, float]]:
        """The smallest and largest value each hidden count could have, given everything published."""
        equations = self.equations()
        result = {name: self.bounds(name) for name in self.hidden}
        for component in _components(equations):
            if len(component) == 1:
                result.update(_single_equation_ranges(*component[0], result))
                continue
            # Linear programmes only for the counts that need protecting, and only once per unchanged component.
            names = sorted({name for coefficients, _constant in component for name in coefficients})
            wanted = tuple(name for name in names if self._kept_from_reader(name))
            key = (tuple((tuple(sorted(coefficients.items())), constant) for coefficients, constant in component),
                   tuple(result[name] for name in names), wanted)
            if key not in self._solved:
                self._solved[key] = _linear_programme_ranges(component, result, wanted)
            result.update(self._solved[key])
        return result

    def first_pinned(self) -> str | None:
        """The first small count whose value a reader could work out, if any."""
        ranges = self.ranges()
        # Only small counts need protecting: a masked count worked out is a count of 5 or more, a zero is a zero.
        for name in sorted(self.hidden, key=self.order.get):
            low, high = ranges[name]
            if low > high + _EPSILON:
                raise AssertionError(f"suppression bounds exclude the true value of {name}")
            if self._kept_from_reader(name) and high != math.inf and \
                    math.floor(high + _EPSILON) - math.ceil(low - _EPSILON) < 1:
                return name
        return None

    def _kept_from_reader(self, name: str) -> bool:
        """Whether a hidden count must not be worked out: a small one that is not zero."""
        return self.hidden[name] == SMALL and self.counts[name] > 0

    def _smallest_shown(self, names: Sequence[str]) -> str | None:
        candidates = [name for name in names if name not in self.hidden and self.counts[name] > 0]
        return min(candidates, key=lambda name: (self.counts[name], self.order[name]), default=None)

    def _mask(self, name: str, preferred_to: Sequence[str] = ()) -> None:
        self.hidden[name] = MASKED
        self.preferred_to[name] = tuple(other for other in preferred_to if other != name)

    def protect(self, pinned: str) -> None:
        """Hide one more count so that the pinned one is no longer determined."""
        # As the rule says: in a row or column with a single hidden cell (the one that gives a count away), hide its
        # next-smallest cell; the rows and columns nearest the pinned count first, then any that hold it.
        levels, frontier, seen = [], {pinned}, {pinned}
        while frontier:
            level = [total for group in levels for total in group]
            level = [total for total in self.totals if total not in level and frontier & {total.name, *total.parts}]
            levels.append(level)
            frontier = {name for total in level for name in (total.name, *total.parts) if name in self.hidden} - seen
            seen |= frontier
        lone = [[total for total in level if sum(name in self.hidden for name in (total.name, *total.parts)) == 1]
                for level in levels]
        for group in (*lone, *levels):
            parts = [part for total in group for part in total.parts]
            if choice := self._smallest_shown(parts):
                self._mask(choice, [part for part in parts if part not in self.hidden and self.counts[part]])
                return
        reached = [total for level in levels for total in level]
        # Every cell around it is hidden: hide a total instead.
        for total in reached:
            if total.name not in self.hidden and self.counts[total.name]:
                self._mask(total.name)
                return
        raise Unprotectable(f"no count left to hide to protect {pinned}")


def _components(equations: list[tuple[dict[str, int], float]]) -> list[list[tuple[dict[str, int], float]]]:
    """Equations grouped by shared hidden counts: each group can be solved apart from the others."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for coefficients, _constant in equations:
        first, *rest = coefficients
        for name in rest:
            parent[root(name)] = root(first)
    groups: dict[str, list] = {}
    for equation in equations:
        groups.setdefault(root(next(iter(equation[0]))), []).append(equation)
    return list(groups.values())


def _single_equation_ranges(coefficients: dict[str, int], constant: float,
                            bounds: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Exact ranges for the counts of one equation Σ ±x = constant, each within its bounds."""
    # Each term's own range, a·x for x in [low, high]; then the sum of the others' ranges by subtraction.
    terms = {name: sorted((sign * bounds[name][0], sign * bounds[name][1])) for name, sign in coefficients.items()}
    finite_low = sum(low for low, _high in terms.values() if low != -math.inf)
    infinite_low = sum(low == -math.inf for low, _high in terms.values())
    finite_high = sum(high for _low, high in terms.values() if high != math.inf)
    infinite_high = sum(high == math.inf for _low, high in terms.values())
    result = {}
    for name, sign in coefficients.items():
        low, high = terms[name]
        own_low, own_high = (low == -math.inf), (high == math.inf)
        others_low = -math.inf if infinite_low - own_low else finite_low - (0 if own_low else low)
        others_high = math.inf if infinite_high - own_high else finite_high - (0 if own_high else high)
        term_low, term_high = max(low, constant - others_high), min(high, constant - others_low)
        result[name] = (term_low, term_high) if sign > 0 else (-term_high, -term_low)
    return result


def _linear_programme_ranges(equations: list[tuple[dict[str, int], float]], bounds: Mapping[str, tuple[float, float]],
                             wanted: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Ranges of the wanted counts tied by several equations: the minimum and maximum of each, by linear programming."""
    names = sorted({name for coefficients, _constant in equations for name in coefficients})
    column = {name: position for position, name in enumerate(names)}
    matrix = np.zeros((len(equations), len(names)))
    for row, (coefficients, _constant) in enumerate(equations):
        for name, sign in coefficients.items():
            matrix[row, column[name]] = sign
    constants = np.array([constant for _coefficients, constant in equations])
    box = [(bounds[name][0], None if bounds[name][1] == math.inf else bounds[name][1]) for name in names]
    result = {}
    for name in wanted:
        objective = np.zeros(len(names))
        extremes = []
        for direction in (1.0, -1.0):
            objective[column[name]] = direction
            solved = linprog(objective, A_eq=matrix, b_eq=constants, bounds=box, method="highs")
            if solved.status == 3:  # unbounded: only upwards, since every count is at least 0
                extremes.append(math.inf)
            elif solved.status != 0:
                raise AssertionError(f"suppression audit failed for {name}: {solved.message}")
            else:
                extremes.append(direction * solved.fun)
        result[name] = (extremes[0], extremes[1])
    return result
