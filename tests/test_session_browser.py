"""End to end, with seconds for minutes: a queue left open goes idle though it refreshes itself, clicks in it keep the
session, and once idle it shows no file number and asks to sign in again; a download after that makes no file."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from dashboard.database import build_engine
from dashboard.i18n import t
from queries.schema import audit_event
from tests.test_login_browser import TIMEOUT_MS, demo_app, log_in, settle

IDLE_SECONDS = 9
REFRESH_SECONDS = 2
LIMITS = {"RELAIS_IDLE_MINUTES": f"{IDLE_SECONDS / 60:g}", "RELAIS_QUEUE_REFRESH_SECONDS": str(REFRESH_SECONDS)}
FILE_NUMBER = re.compile(r"DEMO-RIPRSL-\d{4}-\d{6}")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo app idle after 9 seconds, its queue read again every 2 seconds."""
    with demo_app(tmp_path_factory.mktemp("idle"), LIMITS) as running:
        yield running


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _audit(database_url: str, subject: str) -> list[tuple[str, dict | None]]:
    engine = build_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.action, audit_event.c.detail).where(
            audit_event.c.subject == subject).order_by(audit_event.c.id)).all()
    engine.dispose()
    return [(action, json.loads(detail) if detail else None) for action, detail in rows]


def _choose_first_case(page: Page) -> None:
    """Pick the oldest waiting case in the queue, with the keyboard as a person would."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=t("queue.choose", "fr")).first
    box.locator("input").click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stForm")).to_be_visible()


def _toggle_confirmation(page: Page) -> None:
    """A click inside the queue that changes something, so that it reruns the queue's fragment."""
    confirmation = page.get_by_test_id("stCheckbox").filter(has_text=t("queue.close.confirm", "fr")).first
    checked = confirmation.locator("input").is_checked()
    confirmation.locator("label").click()
    expect(confirmation.locator("input")).to_be_checked(checked=not checked)


def test_an_open_queue_goes_idle_and_then_shows_no_file_number(app, page, screenshots):
    url, database_url = app
    log_in(page, url, "intervenante")
    expect(page.get_by_role("heading", name=t("page.queue", "fr"), exact=True)).to_be_visible()
    settle(page)
    # Clicks in the queue (each reruns only its fragment) keep the session past the idle limit.
    _choose_first_case(page)
    page.get_by_text(t("queue.close.title", "fr")).click()
    started = time.monotonic()
    for _click in range(6):
        page.wait_for_timeout(REFRESH_SECONDS * 1000)
        last_click = time.monotonic()  # the server sees the click after this
        _toggle_confirmation(page)
    assert last_click - started > IDLE_SECONDS
    assert FILE_NUMBER.search(page.content()), "the chosen case's file number is on screen"
    assert page.get_by_role("button", name=t("app.login.button", "fr")).count() == 0
    page.screenshot(path=screenshots / "queue-in-use.png", full_page=True)

    # Then she leaves it open: the refreshes every 2 seconds are not activity, and one refused sends the app to the
    # sign-in page.
    expect(page.get_by_role("button", name=t("app.login.button", "fr"))).to_be_visible(
        timeout=IDLE_SECONDS * 1000 + TIMEOUT_MS)
    assert time.monotonic() - last_click >= IDLE_SECONDS, "refused after the idle limit, not before"
    expect(page.get_by_text(t("app.session.idle", "fr", minutes=f"{IDLE_SECONDS / 60:g}"))).to_be_visible()
    page.wait_for_timeout(2 * REFRESH_SECONDS * 1000)  # timers that were running have nothing left to show
    assert not FILE_NUMBER.search(page.content())
    assert page.get_by_test_id("stDataFrame").count() == 0 and page.get_by_test_id("stForm").count() == 0
    page.screenshot(path=screenshots / "queue-idle.png", full_page=True)
    actions = _audit(database_url, "intervenante")
    assert [detail for action, detail in actions if action == "session_refused"] == [{"reason": "idle"}]
    assert "attempt" not in [action for action, _ in actions]


def test_a_download_once_idle_makes_no_file(app, page, screenshots):
    url, database_url = app
    log_in(page, url, "capitaine")
    expect(page.get_by_role("heading", name=t("page.overview", "fr"), exact=True)).to_be_visible()
    settle(page)
    download = page.get_by_role("button", name=t("download.csv", "fr"))
    download.scroll_into_view_if_needed()
    page.wait_for_timeout((IDLE_SECONDS + 1) * 1000)
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    download.click()
    expect(page.get_by_text("Failed to generate file for download")).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    assert downloads == []
    page.screenshot(path=screenshots / "download-idle.png", full_page=True)
    actions = _audit(database_url, "capitaine")
    assert "export" not in [action for action, _ in actions]
    assert [detail for action, detail in actions if action == "session_refused"] == [{"reason": "idle"}]
