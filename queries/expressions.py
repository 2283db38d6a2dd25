"""SQL expressions the query modules share, written once so that every figure counts the same way."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func

from queries.localtime import MICROSECONDS_PER_HOUR

REPEAT_WINDOW_US = 365 * 24 * MICROSECONDS_PER_HOUR


def count_if(condition: ColumnElement) -> ColumnElement:
    """The number of rows for which the condition holds; 0, not NULL, when there are none."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def is_repeat(table) -> ColumnElement:
    """True when the intervention's subject had another intervention in the same service in the 365 days before."""
    # previous_us is stored on write (queries.precomputed): the same subject's latest strictly earlier intervention.
    return table.c.previous_us >= table.c.occurred_us - REPEAT_WINDOW_US
