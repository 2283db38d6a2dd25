"""SQL expressions the query modules share, written once so that every figure counts the same way."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func


def count_if(condition: ColumnElement) -> ColumnElement:
    """The number of rows for which the condition holds; 0, not NULL, when there are none."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
