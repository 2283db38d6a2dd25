"""Throwaway databases, migrated and loaded with the reference data, for tests and benchmarks."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine

from dashboard.database import build_engine
from queries.migrate import upgrade_to_head
from queries.reference import load_reference

BACKENDS = ("sqlite", "postgresql")
POSTGRES_ADMIN_URL = os.environ.get(
    "RELAIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_postgres_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped on exit."""
    name = f"relais_scratch_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    with admin.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE " + quoted)
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)")
        admin.dispose()


def prepared_engine(url: str) -> Engine:
    """An engine on the URL with the schema at head and the reference data loaded."""
    engine = build_engine(url)
    upgrade_to_head(engine)
    load_reference(engine)
    return engine


@contextmanager
def scratch_database(backend: str) -> Iterator[Engine]:
    """A migrated database with reference data on the backend, gone on exit."""
    if backend == "postgresql":
        with scratch_postgres_url() as url:
            engine = prepared_engine(url)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    with tempfile.TemporaryDirectory() as directory:
        engine = prepared_engine(f"sqlite:///{Path(directory) / 'scratch.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
