"""Shared fixtures: every database test runs on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete

from dashboard.database import build_engine
from queries.migrate import upgrade_to_head
from queries.reference import load_reference
from queries.schema import DATA_TABLES, membership

BACKENDS = ("sqlite", "postgresql")
POSTGRES_ADMIN_URL = os.environ.get(
    "RELAIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a PostgreSQL database created for this test run and dropped after it."""
    name = f"relais_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    with admin.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE " + quoted)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)")
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url):
    """The session's PostgreSQL engine, migrated once."""
    engine = build_engine(postgres_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file migrated and loaded with reference data once, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "relais.db"
    engine = build_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    load_reference(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _empty_postgres(engine) -> None:
    names = ", ".join(table.name for table in DATA_TABLES)
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE " + names + " RESTART IDENTITY CASCADE")
        connection.execute(delete(membership))
    load_reference(engine)


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    """A migrated database with the reference data and nothing else, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "relais.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = build_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        _empty_postgres(engine)
        yield engine


@pytest.fixture
def database_url(engine) -> str:
    """The URL of the test database, for commands run as subprocesses."""
    return engine.url.render_as_string(hide_password=False)
