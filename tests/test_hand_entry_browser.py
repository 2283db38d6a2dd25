"""End to end: the demo worker enters a case by hand in Chromium, sees it in her queue marked as entered by hand, and
once the police extract brings the same event the mark is gone and the extract's values are shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from dashboard.database import build_engine
from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.i18n import t
from dashboard.ingest.importer import import_file
from queries.localtime import LOCAL_TIMEZONE
from queries.schema import audit_event, intervention, membership, municipality
from tests.test_login_browser import assert_no_exception, demo_app, log_in, settle

EVENT_ID = "RIPRSL-2026-MAIN-0001"
SUBJECT_KEY = "FPS-771204"
SCREENSHOT = Path("/tmp/hand_entry.png")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo app (its database holds demo data only)."""
    with demo_app(tmp_path_factory.mktemp("hand_entry")) as running:
        yield running


def _current_places(database_url: str) -> list[tuple[str, str]]:
    """Two municipalities the régie serves today: (code, name), by name."""
    engine = build_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(municipality.c.code, municipality.c.name)
            .join(membership, membership.c.municipality_code == municipality.c.code)
            .where(membership.c.police_service == "RIPRSL", membership.c.member_until.is_(None))
            .order_by(municipality.c.name).limit(2)).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _stored(database_url: str):
    engine = build_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(select(intervention).where(intervention.c.event_id == EVENT_ID)).first()
        audit = connection.execute(select(audit_event.c.subject, audit_event.c.detail).where(
            audit_event.c.action == "case_entered")).all()
    engine.dispose()
    return row, audit


def _queue_row(page: Page) -> str:
    """The text of the offender queue's row of the case, as the grid gives it to assistive technology."""
    grid = page.get_by_test_id("stDataFrame").first
    # The grid draws on a canvas; beside it, a table that screen readers walk holds the visible rows.
    row = grid.locator("tr[role=row]").filter(has_text=EVENT_ID)
    expect(row).to_have_count(1)
    return " | ".join(cell.text_content() for cell in row.locator("td[role=gridcell]").all())


def _open_queue(page: Page, url: str, code: str) -> None:
    """The queue narrowed to one municipality (by its link), so that the case is among the grid's visible rows."""
    page.goto(f"{url}/queue?m={code}")
    expect(page.get_by_role("heading", name=t("page.queue", "fr"), exact=True)).to_be_visible()
    settle(page)


def test_the_worker_enters_a_case_by_hand_and_the_extract_confirms_it(app, page):
    url, database_url = app
    (first_code, first_name), (second_code, _second_name) = _current_places(database_url)
    log_in(page, url, "intervenante")
    _open_queue(page, url, first_code)
    page.get_by_text(t("intake.title", "fr"), exact=True).click()
    form = page.get_by_test_id("stForm").first
    expect(form).to_be_visible()
    form.get_by_role("textbox", name=t("intake.event_id", "fr")).fill(EVENT_ID)
    municipality_box = form.get_by_test_id("stSelectbox").filter(has_text=t("intake.municipality", "fr"))
    municipality_box.locator("input").click()
    page.keyboard.type(first_name)
    page.keyboard.press("Enter")
    # Dates and times: now, as drawn; an arrest, as drawn. The key typed once, in a password field.
    key_field = form.get_by_role("textbox", name=t("intake.subject_key", "fr"))
    assert key_field.get_attribute("type") == "password"
    key_field.fill(SUBJECT_KEY)
    form.get_by_role("button", name=t("intake.submit", "fr")).click()
    expect(page.get_by_text(t("intake.saved", "fr", event_id=EVENT_ID))).to_be_visible()
    settle(page)
    assert_no_exception(page)
    assert page.get_by_test_id("stAlert").filter(has_text=t("intake.refused", "fr")).count() == 0
    # The box closed on the queue that now holds the case.
    expect(page.get_by_role("textbox", name=t("intake.subject_key", "fr"))).to_have_count(0)

    row, audit = _stored(database_url)
    assert (row.entered_by, row.confirmed_at, row.municipality_code, row.demo) == ("intervenante", None,
                                                                                  first_code, True)
    assert [subject for subject, _detail in audit] == ["intervenante"]
    shown = _queue_row(page)
    assert t("queue.source.hand", "fr") in shown and first_name in shown
    page.get_by_test_id("stDataFrame").first.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOT)
    # Opened again, the box holds a new form, empty: no field holds the key.
    page.get_by_text(t("intake.title", "fr"), exact=True).click()
    drawn_again = page.get_by_test_id("stForm").first
    expect(drawn_again.get_by_role("textbox", name=t("intake.event_id", "fr"))).to_have_value("")
    expect(drawn_again.get_by_role("textbox", name=t("intake.subject_key", "fr"))).to_have_value("")
    assert SUBJECT_KEY not in page.content()

    # The police extract brings the same event, with its own times and place.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    occurred, arrested = now - timedelta(hours=3), now - timedelta(hours=2)
    extract = ("event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban\n"
               f"{EVENT_ID},RIPRSL,{second_code},{occurred.isoformat()},oui,{arrested.isoformat()},"
               f"{SUBJECT_KEY},non\n")
    engine = build_engine(database_url)
    report = import_file(engine, "interventions", extract.encode(), "extract.csv", service="RIPRSL", demo=True,
                         pseudonym_keys=DEMO_PSEUDONYM_KEYS)
    engine.dispose()
    assert report.written and report.replaced == 1
    confirmed, _audit = _stored(database_url)
    assert confirmed.id == row.id and confirmed.confirmed_at is not None
    assert confirmed.municipality_code == second_code

    _open_queue(page, url, second_code)
    shown = _queue_row(page)
    assert t("queue.source.police", "fr") in shown and t("queue.source.hand", "fr") not in shown
    assert arrested.astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M") in shown
    assert re.search(r"\b2 h 0\d\b", shown), shown
    page.get_by_test_id("stDataFrame").first.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOT.with_name("hand_entry_confirmed.png"))
