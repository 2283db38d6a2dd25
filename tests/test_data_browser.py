"""End to end in Chromium: the demo's administrator uploads a file with an invalid row, reads the problem, imports the
valid rows and finds them in the history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from dashboard.commands.serve import free_port, running_app, running_provider, write_demo_secrets
from dashboard.database import build_engine
from dashboard.i18n import t
from dashboard.scratch import prepared_engine
from queries.schema import import_batch, intervention
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.test_data_page import WITH_PROBLEM
from tests.test_login_browser import TIMEOUT_MS, assert_no_exception, log_in, settle

SCREENSHOT = Path("/tmp/data_page.png")


@contextmanager
def app_without_data(directory: Path) -> Iterator[tuple[str, str]]:
    """The app and the demo's provider and users on a database with reference data only: (url, database url)."""
    # The demo's data would refuse a real file (demo and real rows never mix): this database holds none.
    database_url = f"sqlite:///{directory / 'relais.db'}"
    prepared_engine(database_url).dispose()
    app_port = free_port()
    with running_provider(free_port(), log=directory / "provider.log") as issuer:
        secrets_path = write_demo_secrets(directory, app_port, issuer)
        environment = {"STREAMLIT_SECRETS_FILES": str(secrets_path), "DATABASE_URL": database_url,
                       "RELAIS_PSEUDONYM_KEYS": TEST_PSEUDONYM_KEY}
        with running_app(app_port, environment, log=directory / "app.log") as url:
            yield url, database_url


def _cells(page: Page, section: str) -> list[str]:
    """The cells of a section's table (data_upload, data_history), row after row, from its grid for screen readers."""
    grid = page.locator(f".st-key-{section} [data-testid=stDataFrame]").first
    return [cell.text_content() for cell in grid.locator("td[role=gridcell]").all()]


def _counts(database_url: str) -> tuple[int, list[tuple]]:
    engine = build_engine(database_url)
    with engine.connect() as connection:
        interventions = connection.scalar(select(func.count()).select_from(intervention))
        batches = connection.execute(select(import_batch.c.channel, import_batch.c.police_service,
                                            import_batch.c.status, import_batch.c.rows_accepted,
                                            import_batch.c.rows_rejected)).all()
    engine.dispose()
    return interventions, [tuple(batch) for batch in batches]


def test_the_administrator_uploads_reads_the_problem_and_imports_the_valid_rows(tmp_path, page):
    with app_without_data(tmp_path) as (url, database_url):
        log_in(page, url, "admin")
        expect(page.get_by_role("heading", name=t("page.data", "fr"), exact=True)).to_be_visible()
        settle(page)
        expect(page.get_by_text(t("data.history.empty", "fr"))).to_be_visible()
        page.locator(".st-key-data_upload").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
            files=[{"name": "export-riprsl.csv", "mimeType": "text/csv", "buffer": WITH_PROBLEM}])
        problems = t("data.upload.problems", "fr", problems="1", rows="4", valid="3")
        expect(page.get_by_text(problems)).to_be_visible(timeout=TIMEOUT_MS)
        settle(page)
        assert_no_exception(page)
        # The problem's row, from the grid the table draws for screen readers: line, column, value, reason.
        reason = t("import.reason.municipality_code", "fr")
        assert _cells(page, "data_upload") == ["4", "municipality_code", "5704", reason]
        assert page.get_by_role("button", name=t("data.upload.import", "fr"), exact=True).is_disabled()
        assert _counts(database_url) == (0, [])
        page.screenshot(path=SCREENSHOT.with_name("data_page_checked.png"), full_page=True)

        page.get_by_role("button", name=t("data.upload.import_valid", "fr")).click()
        done = t("data.upload.done", "fr", file="export-riprsl.csv", accepted="3", new="3", replaced="0",
                 rejected="1")
        expect(page.get_by_text(done)).to_be_visible(timeout=TIMEOUT_MS)
        settle(page)
        assert_no_exception(page)
        history = _cells(page, "data_history")
        assert history[2:10] == [t("data.history.channel.upload", "fr"), t("data.history.kind.interventions", "fr"),
                                 "RIPRSL", t("data.history.status.partial", "fr"), "4", "3", "1", "export-riprsl.csv"]
        assert history[1] == "admin"
        assert _counts(database_url) == (3, [("upload", "RIPRSL", "partial", 3, 1)])
        page.screenshot(path=SCREENSHOT, full_page=True)

