"""Widgets the pages share: how a table's numbers are shown."""

from __future__ import annotations

import pandas as pd

from dashboard.web.widgets import localized_numbers


def test_a_tables_numbers_are_localized_and_keep_the_decimals_they_were_rounded_to():
    frame = pd.DataFrame({"name": ["A", "B", "C"], "population": [1200, 35, 7], "rate": [3.0, 2.67, None],
                          "expected": [1.5, 2.0, 0.1], "whole": [3.0, 4.0, 0.0]})
    config = localized_numbers(frame)
    assert {column["type_config"]["format"] for column in config.values()} == {"localized"}
    # A rate of 3.00 beside 2.67 reads "3,00", not "3": the browser shows as many decimals as the step has.
    assert {name: column["type_config"]["step"] for name, column in config.items()} == {
        "population": None, "rate": 0.01, "expected": 0.1, "whole": 1.0}
