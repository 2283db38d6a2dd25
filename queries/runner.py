"""The one place where statements built by the query modules are executed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
from sqlalchemy import Connection, Engine, Executable, Row

# Under SQLite's smallest bound-parameter limit (999), so one IN list always fits in one statement.
LOOKUP_CHUNK = 900


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """Consecutive slices of at most size items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def read_only(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection whose work is never kept: a read-only transaction on PostgreSQL, rolled back on both."""
    if isinstance(bind, Connection):
        savepoint = bind.begin_nested()
        try:
            yield bind
        finally:
            savepoint.rollback()
        return
    with bind.connect() as connection, connection.begin() as transaction:
        if connection.dialect.name == "postgresql":
            # A check that wrote by mistake fails here rather than leave a trace.
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        try:
            yield connection
        finally:
            transaction.rollback()


def _run(bind: Engine | Connection, statement: Executable):
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            result = connection.execute(statement)
            return list(result.keys()), result.all()
    result = bind.execute(statement)
    return list(result.keys()), result.all()


def fetch_frame(bind: Engine | Connection, statement: Executable) -> pd.DataFrame:
    """The statement's rows as a DataFrame with the statement's column names."""
    columns, rows = _run(bind, statement)
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


def fetch_row(bind: Engine | Connection, statement: Executable) -> Row:
    """The single row an aggregate statement returns."""
    _columns, rows = _run(bind, statement)
    (row,) = rows
    return row
