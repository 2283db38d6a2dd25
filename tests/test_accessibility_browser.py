"""Accessibility in a real browser: axe-core on every page each role may open, in French and in English."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from auth.viewer import pages_for, viewer_from_claims
from dashboard.demo.users import DEMO_USERS
from dashboard.i18n import LANGUAGES, t
from dashboard.web.language import LANGUAGE_NAMES
from tests.test_login_browser import demo_app, log_in

AXE_OPTIONS = {"resultTypes": ["violations"]}
BLOCKING = ("serious", "critical")
CHART_PAGES = ("overview", "outreach", "report")
# A page's first run on a loaded two-core machine can take a while.
SETTLE_MS = 60_000


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo app, signed in through a local OIDC provider; yields its URL."""
    with demo_app(tmp_path_factory.mktemp("accessibility")) as (url, _database_url):
        yield url


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def settled(page: Page) -> None:
    """Wait until the script has run to its end and every chart is drawn: axe must see the finished page."""
    expect(page.locator("[data-test-script-state=notRunning]")).to_have_count(1, timeout=SETTLE_MS)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=SETTLE_MS)
    charts = page.get_by_test_id("stVegaLiteChart")
    for index in range(charts.count()):
        expect(charts.nth(index).locator("svg, canvas").first).to_be_attached(timeout=SETTLE_MS)
    page.wait_for_timeout(200)


def open_chart_tables(page: Page, language: str) -> int:
    """Open every chart's "see as table" expander, as a person would: each table is drawn on its own rerun."""
    label = page.locator("summary", has_text=t("chart.text.see_table", language))
    boxes = page.get_by_test_id("stExpander").filter(has=label)  # not the page's other expanders
    for index in range(boxes.count()):
        boxes.nth(index).locator("summary").click()
        settled(page)
        expect(boxes.nth(index).locator("[data-testid=stTable], [data-testid=stDataFrame]")).to_have_count(
            1, timeout=SETTLE_MS)
    return boxes.count()


def blocking_violations(axe: Axe, page: Page, where: str) -> list[str]:
    """Serious and critical violations on the page: rule, impact, how many elements, and the first few of them."""
    found = axe.run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{where}: {violation['id']} ({violation['impact']}, {len(violation['nodes'])}×): "
            + " | ".join(node["html"][:120] for node in violation["nodes"][:3])
            for violation in found if violation["impact"] in BLOCKING]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_page_passes_axe(app, page, axe, language):
    page.goto(f"{app}/?lang={language}")
    expect(page.get_by_role("button", name=t("app.login.button", language))).to_be_visible(timeout=SETTLE_MS)
    settled(page)
    assert blocking_violations(axe, page, f"sign-in/{language}") == []


@pytest.mark.parametrize("user", DEMO_USERS, ids=[user.sub for user in DEMO_USERS])
def test_every_page_the_user_may_open_passes_axe_in_both_languages(app, page, axe, user):
    log_in(page, app, user.sub)
    keys = pages_for(viewer_from_claims(user.claims()))
    found = []
    if not keys:
        for language in LANGUAGES:
            page.goto(f"{app}/?lang={language}")
            expect(page.get_by_role("heading", name=t("app.no_access.title", language), exact=True)).to_be_visible(
                timeout=SETTLE_MS)
            settled(page)
            found += blocking_violations(axe, page, f"{user.sub}/no-access/{language}")
    for key in keys:
        page.goto(f"{app}/{key}")
        for language in LANGUAGES:
            if language != "fr":
                # The sidebar's switch, as a person would: a rerun in the same session, no page load.
                page.get_by_test_id("stSidebar").get_by_text(LANGUAGE_NAMES[language], exact=True).click()
            expect(page.get_by_role("heading", name=t(f"page.{key}", language), exact=True)).to_be_visible(
                timeout=SETTLE_MS)
            settled(page)
            if language == LANGUAGES[0]:
                # Their tables are drawn once opened, and stay open in the other language.
                opened = open_chart_tables(page, language)
                assert opened > 0 or key not in CHART_PAGES, f"{user.sub}/{key}: no chart table to open"
            found += blocking_violations(axe, page, f"{user.sub}/{key}/{language}")
    assert found == [], "\n".join(found)
