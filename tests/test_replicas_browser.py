"""Two server processes on one PostgreSQL database, as two replicas behind a proxy would be: an attempt recorded
through one shows in the other's figures on its next rerun (every cache key carries the data version)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect, sync_playwright

from dashboard.commands.demo_data import run_demo_data_command
from dashboard.commands.serve import free_port, running_app, running_provider, write_demo_secrets
from dashboard.scratch import prepared_engine, scratch_postgres_url
from dashboard.web.sidebar import local_today
from tests.test_login_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TITLES,
    TIMEOUT_MS,
    _choose,
    _tile,
    assert_no_exception,
    log_in,
    settle,
)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """Two apps (their own processes and caches) on one PostgreSQL database with the demo data; yields their URLs."""
    directory = tmp_path_factory.mktemp("replicas")
    with scratch_postgres_url() as database_url:
        engine = prepared_engine(database_url)
        assert run_demo_data_command(engine, 42, None) == 0
        engine.dispose()
        with running_provider(free_port(), log=directory / "provider.log") as issuer:
            urls = []
            ports = (free_port(), free_port())
            first, second = (directory / "first", directory / "second")
            first.mkdir(), second.mkdir()
            secrets = [write_demo_secrets(folder, port, issuer) for folder, port in zip((first, second), ports)]
            environments = [{"STREAMLIT_SECRETS_FILES": str(path), "DATABASE_URL": database_url} for path in secrets]
            with running_app(ports[0], environments[0], log=first / "app.log") as url_one, \
                    running_app(ports[1], environments[1], log=second / "app.log") as url_two:
                urls = [url_one, url_two]
                yield urls


def test_a_write_in_one_replica_shows_in_the_other(replicas):
    writer_url, reader_url = replicas
    today = local_today()
    outreach = f"{reader_url}/outreach?period=custom&from={today - timedelta(days=13)}&to={today}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        reader = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-CA").new_page()
        reader.set_default_timeout(TIMEOUT_MS)
        log_in(reader, reader_url, "directrice")
        reader.goto(outreach)
        expect(reader.get_by_test_id("stMetric").first).to_be_visible()
        settle(reader)
        before = [value.inner_text() for value in reader.get_by_test_id("stMetricValue").all()]

        writer = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-CA").new_page()
        writer.set_default_timeout(TIMEOUT_MS)
        log_in(writer, writer_url, "intervenante")
        expect(writer.get_by_role("heading", name=PAGE_TITLES["queue"], exact=True)).to_be_visible()
        settle(writer)
        waiting = int(_tile(writer, "En attente"))
        _choose(writer, "Dossier à traiter")
        _choose(writer, "Issue", "A accepté de l'aide")
        writer.get_by_role("button", name="Enregistrer la tentative").click()
        expect(writer.get_by_test_id("stMetric").filter(has_text="En attente").first
               .get_by_test_id("stMetricValue")).to_have_text(str(waiting - 1), timeout=TIMEOUT_MS)
        assert_no_exception(writer)

        # The other process's cache was filled before the write: its next rerun reads the new data version.
        reader.reload()
        expect(reader.get_by_test_id("stMetric").first).to_be_visible()
        settle(reader)
        after = [value.inner_text() for value in reader.get_by_test_id("stMetricValue").all()]
        assert after != before
        assert_no_exception(reader)
        browser.close()
