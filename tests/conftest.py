"""Shared fixtures: every database test runs on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete

from dashboard.database import build_engine
from dashboard.scratch import BACKENDS, prepared_engine, scratch_postgres_url
from queries.reference import load_reference
from queries.schema import DATA_TABLES, membership, municipality_boundary, organisation, organisation_service

# A test-only secret: the importer refuses interventions without one (subject keys are stored as its HMAC).
TEST_PSEUDONYM_KEY = "tests-only pseudonym key (never a real one) 0123456789"


@pytest.fixture(autouse=True)
def fresh_sign_ins():
    """Each test starts with a server process that has seen no sign-in (auth/session.py keeps them per process)."""
    from auth import session

    session._last_seen.clear()


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch):
    """Every test imports with the test key, and so do the commands its subprocesses run."""
    monkeypatch.setenv("RELAIS_PSEUDONYM_KEYS", TEST_PSEUDONYM_KEY)


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a PostgreSQL database created for this test run and dropped after it."""
    with scratch_postgres_url() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_engine(postgres_url):
    """The session's PostgreSQL engine, migrated once."""
    engine = prepared_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file migrated and loaded with reference data once, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "relais.db"
    engine = prepared_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _empty_postgres(engine) -> None:
    names = ", ".join(table.name for table in DATA_TABLES)
    with engine.begin() as connection:
        # The audit table refuses TRUNCATE by trigger; the tests' superuser lifts triggers for this one transaction.
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.exec_driver_sql("TRUNCATE " + names + " RESTART IDENTITY CASCADE")
        connection.execute(delete(membership))
        connection.execute(delete(organisation_service))
        connection.execute(delete(organisation))
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


@pytest.fixture
def db(engine):
    """The test database without boundaries, cleared again afterwards: the PostgreSQL fixture keeps reference tables."""

    def clear() -> None:
        with engine.begin() as connection:
            connection.execute(delete(municipality_boundary))

    clear()
    yield engine
    clear()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, shared by a module's browser tests."""
    from playwright.sync_api import sync_playwright

    from tests.test_login_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A new 1440 × 900 French window of the module's browser."""
    from tests.test_login_browser import TIMEOUT_MS

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-CA")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
