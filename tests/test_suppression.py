"""Small-cell suppression: tricky tables by hand, and readers who try to work the hidden counts out."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.suppression import MASKED, SMALL, Total, is_shown, suppress


def line(*values: int) -> tuple[dict[str, int], list[Total]]:
    """Cells a, b, c, ... and their total T."""
    cells = {chr(ord("a") + position): value for position, value in enumerate(values)}
    return {**cells, "T": sum(values)}, [Total("T", tuple(cells))]


def grid(rows: list[list[int]]) -> tuple[dict[str, int], list[Total]]:
    """Cells rIcJ with row totals RI, column totals CJ and the grand total G."""
    counts, totals = {}, []
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            counts[f"r{i}c{j}"] = value
    for i, row in enumerate(rows):
        counts[f"R{i}"] = sum(row)
        totals.append(Total(f"R{i}", tuple(f"r{i}c{j}" for j in range(len(row)))))
    for j in range(len(rows[0])):
        counts[f"C{j}"] = sum(row[j] for row in rows)
        totals.append(Total(f"C{j}", tuple(f"r{i}c{j}" for i in range(len(rows)))))
    counts["G"] = sum(map(sum, rows))
    totals.append(Total("G", tuple(f"R{i}" for i in range(len(rows)))))
    return counts, totals


def test_a_single_small_cell_beside_its_total_takes_the_next_smallest_with_it():
    counts, totals = line(3, 9, 6, 40)
    assert suppress(counts, totals) == {"a": SMALL, "c": MASKED}


def test_zero_is_shown_and_never_hidden_to_protect_another_cell():
    counts, totals = line(3, 0, 0, 7)
    assert suppress(counts, totals) == {"a": SMALL, "d": MASKED}


def test_a_small_total_is_not_broken_down_not_even_into_zeros():
    counts, totals = line(3, 0, 0)
    assert suppress(counts, totals) == {"a": SMALL, "b": SMALL, "c": SMALL, "T": SMALL}


def test_four_ones_adding_up_to_four_stay_undivided():
    counts, totals = grid([[1, 1], [1, 1]])
    assert set(suppress(counts, totals).values()) == {SMALL} and len(suppress(counts, totals)) == len(counts)


def test_two_small_cells_protect_each_other():
    counts, totals = line(3, 2, 11)
    assert suppress(counts, totals) == {"a": SMALL, "b": SMALL}


def test_all_small_cells_and_a_small_total():
    counts, totals = line(1, 1, 2)
    assert suppress(counts, totals) == {"a": SMALL, "b": SMALL, "c": SMALL, "T": SMALL}


def test_all_zeros_hide_nothing():
    counts, totals = line(0, 0, 0)
    assert suppress(counts, totals) == {}


def test_a_cell_of_five_beside_a_one_would_give_it_away_so_a_third_goes_too():
    # Hidden: a (1 to 4) and b (5 or more) add up to 6, so a = 1 unless c is hidden too.
    counts, totals = line(1, 5, 7)
    assert suppress(counts, totals) == {"a": SMALL, "b": MASKED, "c": MASKED}


def test_with_nothing_left_to_hide_the_total_goes():
    counts, totals = line(1, 5)
    assert suppress(counts, totals) == {"a": SMALL, "b": MASKED, "T": MASKED}


def test_a_grid_protects_small_cells_by_a_rectangle():
    counts, totals = grid([[4, 8], [1, 9]])
    # Column 0 holds both small cells; each row needs one more hidden cell, and the columns then balance.
    assert suppress(counts, totals) == {"r0c0": SMALL, "r1c0": SMALL, "r0c1": MASKED, "r1c1": MASKED}


def test_a_grid_with_a_single_small_cell_hides_four():
    counts, totals = grid([[2, 20, 30], [15, 40, 50]])
    hidden = suppress(counts, totals)
    assert hidden == {"r0c0": SMALL, "r1c0": MASKED, "r0c1": MASKED, "r1c1": MASKED}


def test_the_threshold_is_configurable():
    counts, totals = line(7, 12, 30)
    assert suppress(counts, totals, threshold=10) == {"a": SMALL, "b": MASKED}
    assert suppress(counts, totals, threshold=5) == {}
    assert is_shown(4, 5) is False and is_shown(0, 5) and is_shown(5, 5)


def _linked(counts: dict[str, int]) -> tuple[dict[str, int], list[Total], dict[str, tuple[float, float]]]:
    """Interventions = arrests + others, cohort = attempted + never, arrests and cohort tied by an unpublished gap."""
    common = max(counts["arrests"], counts["cohort"])
    gap = abs(counts["arrests"] - counts["cohort"])
    counts = {**counts, "common": common, "gap.arrests": common - counts["arrests"],
              "gap.cohort": common - counts["cohort"]}
    totals = [Total("interventions", ("arrests", "others")), Total("cohort", ("attempted", "never")),
              Total("common", ("arrests", "gap.arrests")), Total("common", ("cohort", "gap.cohort"))]
    return counts, totals, {"common": (0, np.inf), "gap.arrests": (0, gap), "gap.cohort": (0, gap)}


@pytest.mark.parametrize(
    "counts",
    [
        {"interventions": 60, "arrests": 59, "others": 1, "cohort": 59, "attempted": 58, "never": 1},
        {"interventions": 60, "arrests": 59, "others": 1, "cohort": 58, "attempted": 56, "never": 2},
        {"interventions": 20, "arrests": 17, "others": 3, "cohort": 17, "attempted": 10, "never": 7},
        {"interventions": 7, "arrests": 7, "others": 0, "cohort": 7, "attempted": 6, "never": 1},
    ],
)
def test_counts_a_reader_takes_as_equal_cannot_be_combined_to_pin_a_small_one(counts):
    counts, totals, unpublished = _linked(counts)
    hidden = suppress(counts, totals, unpublished=unpublished)
    assert not set(hidden) & set(unpublished)
    # A reader who knows the two differ by at most their true difference, by brute force.
    published = ("interventions", "arrests", "others", "cohort", "attempted", "never")
    ranges = [[counts[name]] if name not in hidden else range(1, 5) if hidden[name] == SMALL else range(5, 80)
              for name in published]
    seen = {name: set() for name in published}
    for values in itertools.product(*ranges):
        value = dict(zip(published, values))
        if value["arrests"] + value["others"] == value["interventions"] and \
                value["attempted"] + value["never"] == value["cohort"] and \
                abs(value["arrests"] - value["cohort"]) <= unpublished["gap.cohort"][1]:
            for name in published:
                seen[name].add(value[name])
    small = [name for name in published if hidden.get(name) == SMALL]
    assert small and all(len(seen[name]) >= 2 for name in small), (hidden, seen)


def test_nonsense_is_refused():
    with pytest.raises(ValueError, match="not the sum"):
        suppress({"a": 1, "T": 2}, [Total("T", ("a",))])
    with pytest.raises(ValueError, match="negative"):
        suppress({"a": -1})
    with pytest.raises(ValueError, match="unknown"):
        suppress({"a": 1}, [Total("T", ("a",))])
    with pytest.raises(ValueError, match="threshold"):
        suppress({"a": 1}, threshold=0)


# A reader of the published table knows every shown count, that "< 5" means 1 to 4, that "x" means a count of
# 5 or more, and how each total adds up. The checks below find every table consistent with that, by brute
# force, independently of the suppression's own reasoning.

def _consistent_values(counts, totals, hidden, cells, ceiling):
    """Every value each hidden count takes over the tables a reader cannot tell apart from the true one."""
    unknown = [cell for cell in cells if cell in hidden]
    # The parts of a total shown as "< 5" are all shown as "< 5", zeros included.
    undivided = set()
    while more := {part for total in totals if hidden.get(total.name) == SMALL for part in total.parts} - undivided:
        undivided |= more
    choices = [range(0 if cell in undivided else 1, 5) if hidden[cell] == SMALL else range(5, ceiling + 1)
               for cell in unknown]
    grids = np.array(list(itertools.product(*choices)), dtype=np.int64).reshape(-1, max(len(unknown), 1))
    values = {cell: (grids[:, unknown.index(cell)] if cell in hidden else np.full(len(grids), counts[cell]))
              for cell in cells}
    # Totals are worked out from their parts, innermost first (a total's parts come before it in `totals`).
    for total in totals:
        values[total.name] = sum(values[part] for part in total.parts)
    keep = np.ones(len(grids), dtype=bool)
    for name, value in counts.items():
        if name not in hidden:
            keep &= values[name] == value
        elif hidden[name] == SMALL:
            keep &= (values[name] >= (0 if name in undivided else 1)) & (values[name] <= 4)
        else:
            keep &= values[name] >= 5
    return {name: set(values[name][keep].tolist()) for name in hidden}, undivided


def _assert_no_small_count_worked_out(counts, totals, cells, ceiling):
    hidden = suppress(counts, totals)
    possible, _undivided = _consistent_values(counts, totals, hidden, cells, ceiling)
    for name, marker in hidden.items():
        assert counts[name] in possible[name]
        if marker == SMALL and counts[name]:
            assert len(possible[name]) >= 2, (counts, hidden, name, possible[name])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=5))
def test_no_small_count_of_a_line_can_be_worked_out_from_its_total(values):
    counts, totals = line(*values)
    _assert_no_small_count_worked_out(counts, totals, [name for name in counts if name != "T"], ceiling=14)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 3).flatmap(lambda width: st.lists(st.lists(st.integers(0, 9), min_size=width,
                                                                   max_size=width), min_size=2, max_size=2)))
def test_no_small_count_of_a_grid_can_be_worked_out_from_its_margins(rows):
    counts, totals = grid(rows)
    cells = [name for name in counts if name.startswith("r")]
    # Rows before columns before the grand total: each total's parts are computed before it is.
    _assert_no_small_count_worked_out(counts, totals, cells, ceiling=13)
