"""End to end: real OIDC login in headless Chromium, each demo user sees exactly the pages and data allowed."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pptx import Presentation
from pypdf import PdfReader
from sqlalchemy import select

from dashboard.commands.demo_data import run_demo_data_command
from dashboard.commands.serve import free_port, running_app, running_provider, write_demo_secrets
from dashboard.database import build_engine
from dashboard.demo.users import DEMO_USERS
from dashboard.i18n import number, t
from dashboard.scratch import prepared_engine
from dashboard.web.sidebar import default_filter, local_today
from queries.filters import Scope
from queries.interventions import intervention_totals
from queries.schema import audit_event, outreach_attempt
from queries.trends import headline

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 20_000
PAGE_TITLES = {key: t(f"page.{key}", "fr")
               for key in ("queue", "overview", "outreach", "report", "data", "audit", "definitions")}
EXPECTED_PAGES = {
    "capitaine": ("overview", "outreach", "definitions"),
    "capitaine-sps": ("overview", "outreach", "definitions"),
    "directrice": ("overview", "outreach", "report", "queue", "definitions"),
    "intervenante": ("queue", "overview", "outreach", "definitions"),
    "intervenante-sps": ("queue", "overview", "outreach", "definitions"),
    "bailleur": ("report", "definitions"),
    "admin": ("data", "audit", "definitions"),
    "sans-role": (),
}


@contextmanager
def demo_app(directory: Path, settings: Mapping[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """The app on a demo SQLite database, with these settings too, signed in through a local OIDC provider: (url,
    database url)."""
    database_url = f"sqlite:///{directory / 'relais.db'}"
    engine = prepared_engine(database_url)
    assert run_demo_data_command(engine, 42, None) == 0
    engine.dispose()
    app_port = free_port()
    with running_provider(free_port(), log=directory / "provider.log") as issuer:
        secrets_path = write_demo_secrets(directory, app_port, issuer)
        environment = {"STREAMLIT_SECRETS_FILES": str(secrets_path), "DATABASE_URL": database_url, **(settings or {})}
        with running_app(app_port, environment, log=directory / "app.log") as url:
            yield url, database_url


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo app for this module's tests; yields (url, database url)."""
    with demo_app(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where each page's screenshot goes, to look at after a run."""
    return tmp_path_factory.mktemp("screenshots")


def log_in(page: Page, url: str, subject: str) -> None:
    """Sign in through the provider's form, as a person would."""
    page.goto(url)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
    page.fill("input[name=sub]", subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(url) + r"/?.*"))


def navigation_titles(page: Page) -> list[str]:
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    # A link reads "icon name\n\ntitle": the title is its last line.
    return [link.inner_text().strip().splitlines()[-1] for link in links.all()]


def settle(page: Page) -> None:
    """Wait until the page has finished running: no placeholder left."""
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)


def assert_no_exception(page: Page) -> None:
    assert page.get_by_test_id("stException").count() == 0


@pytest.mark.parametrize("subject", [user.sub for user in DEMO_USERS])
def test_each_user_sees_exactly_the_allowed_pages(app, page, subject, screenshots):
    url, _database_url = app
    log_in(page, url, subject)
    expected = EXPECTED_PAGES[subject]
    if not expected:
        expect(page.get_by_text("Aucun accès")).to_be_visible()
        expect(page.get_by_text(subject)).to_be_visible()
        assert page.get_by_test_id("stMetric").count() == 0
        return
    expect(page.get_by_role("heading", name=PAGE_TITLES[expected[0]], exact=True)).to_be_visible()
    if len(expected) > 1:
        expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
        assert navigation_titles(page) == [PAGE_TITLES[key] for key in expected]
    for key in PAGE_TITLES:
        page.goto(f"{url}/{key}")
        if key in expected:
            expect(page.get_by_role("heading", name=PAGE_TITLES[key], exact=True)).to_be_visible()
            settle(page)
            page.screenshot(path=screenshots / f"{subject}-{key}-1440x900.png", full_page=True)
        else:
            # Not in this viewer's navigation: Streamlit falls back to the viewer's own first page.
            expect(page.get_by_role("heading", name=PAGE_TITLES[expected[0]], exact=True)).to_be_visible()
            assert page.get_by_role("heading", name=PAGE_TITLES[key], exact=True).count() == 0
        assert_no_exception(page)
    refused = _audit_column(app[1], subject, "refused", audit_event.c.page)
    assert refused == [key for key in PAGE_TITLES if key not in expected]


def _audit_column(database_url: str, subject: str, action: str, column=audit_event.c.detail) -> list[str]:
    engine = build_engine(database_url)
    with engine.connect() as connection:
        details = list(connection.scalars(select(column).where(
            audit_event.c.subject == subject, audit_event.c.action == action).order_by(audit_event.c.id)))
    engine.dispose()
    return details


def _metric_values(page: Page, count: int) -> list[str]:
    metrics = page.get_by_test_id("stMetricValue")
    expect(metrics).to_have_count(count)
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()  # the page has run past its tiles
    return [value.inner_text().replace("\u202f", "").replace("\xa0", "").strip() for value in metrics.all()]


def test_saguenay_captain_sees_no_figure_of_the_regie(app, page):
    url, database_url = app
    engine = build_engine(database_url)
    flt = default_filter()
    saguenay = headline(engine, flt, Scope.of("SPS")).current
    both = intervention_totals(engine, flt, Scope.of("SPS", "RIPRSL"))
    engine.dispose()
    assert saguenay.interventions < both.total
    log_in(page, url, "capitaine-sps")
    expected = [number(saguenay.interventions, "fr"), number(saguenay.arrests, "fr"),
                number(saguenay.rate_per_1000, "fr", 2), number(saguenay.repeat, "fr"),
                number(saguenay.contact_bans, "fr")]
    shown = [value.replace("\u202f", "").replace("\xa0", "") for value in expected]
    assert _metric_values(page, len(expected)) == shown
    expect(page.get_by_text("Services de police : SPS")).to_be_visible()


def test_log_out_loses_access(app, page):
    url, database_url = app
    log_in(page, url, "capitaine")
    expect(page.get_by_role("heading", name="Vue d'ensemble", exact=True)).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    # Streamlit ends the provider's session too (RP-initiated logout): confirm on the provider's page.
    page.wait_for_url(re.compile(r".*/oauth2/end_session.*"))
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    page.goto(f"{url}/overview")
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    assert page.get_by_test_id("stMetric").count() == 0
    assert len(_audit_column(database_url, "capitaine", "sign_out")) == 1


def test_pages_fit_a_phone(app, browser, screenshots):
    url, _database_url = app
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-CA", is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    log_in(phone, url, "directrice")
    for key in ("overview", "outreach", "report"):
        phone.goto(f"{url}/{key}")
        expect(phone.get_by_role("heading", name=PAGE_TITLES[key], exact=True)).to_be_visible()
        expect(phone.get_by_test_id("stVegaLiteChart").first).to_be_visible()
        settle(phone)
        assert_no_exception(phone)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{key} scrolls sideways on a phone ({width} px)"
        phone.screenshot(path=screenshots / f"directrice-{key}-390x844.png")
    context.close()


SMALL_COUNT = re.compile(r"[1-4](\s*\(.*\))?")


def _downloaded(page: Page, label: str) -> tuple[str, bytes]:
    """Click a download button as a person would; the file's name and content."""
    with page.expect_download() as download:
        page.get_by_role("button", name=label).click()
    path = download.value.path()
    return download.value.suggested_filename, Path(path).read_bytes()


def test_a_funder_finds_no_count_from_1_to_4_and_every_download_is_audited(app, page, screenshots):
    url, database_url = app
    log_in(page, url, "bailleur")
    expect(page.get_by_role("heading", name=PAGE_TITLES["report"], exact=True)).to_be_visible()
    settle(page)
    # The heading comes before the page's first skeletons: wait for the report's tables themselves.
    expect(page.locator("[data-testid=stTable] td").first).to_be_visible(timeout=TIMEOUT_MS)
    settle(page)
    assert_no_exception(page)
    # What the page shows: tables and chart labels.
    cells = [cell.inner_text().strip() for cell in page.locator("[data-testid=stTable] td").all()]
    assert "< 5" in cells and not [cell for cell in cells if SMALL_COUNT.fullmatch(cell)]
    page.screenshot(path=screenshots / "bailleur-report-1440x900.png", full_page=True)
    # Nothing but complete quarters and years, and no choice of places.
    assert page.get_by_test_id("stMultiSelect").count() == 0
    files = {}
    for label in ("Rapport PDF", "Présentation PowerPoint", "Tableaux (CSV, zip)"):
        name, content = _downloaded(page, label)
        files[name.rsplit(".", 1)[-1]] = content
    assert files["pdf"].startswith(b"%PDF") and files["pptx"].startswith(b"PK") and files["zip"].startswith(b"PK")
    pdf_text = "\n".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "Rapport aux bailleurs de fonds" in pdf_text and "< 5" in pdf_text
    deck = Presentation(io.BytesIO(files["pptx"]))
    assert deck.slides[0].shapes.title.text == "Rapport aux bailleurs de fonds"
    with zipfile.ZipFile(io.BytesIO(files["zip"])) as archive:
        texts = [archive.read(name).decode("utf-8-sig") for name in archive.namelist() if name.endswith(".csv")]
    csv_cells = [cell.strip() for text in texts for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]
    assert "< 5" in csv_cells and not [cell for cell in csv_cells if SMALL_COUNT.fullmatch(cell)]
    engine = build_engine(database_url)
    with engine.connect() as connection:
        exported = connection.execute(
            select(audit_event.c.filters).where(audit_event.c.subject == "bailleur", audit_event.c.action == "export")
        ).scalars().all()
    engine.dispose()
    assert sorted(json.loads(filters)["file"].rsplit(".", 1)[-1] for filters in exported) == ["pdf", "pptx", "zip"]


def test_the_director_downloads_the_report_in_english(app, page):
    url, _database_url = app
    log_in(page, url, "directrice")
    page.goto(f"{url}/report?period=year&from={local_today().year - 1}-01-01&lang=en")
    expect(page.get_by_role("heading", name="Report", exact=True)).to_be_visible()
    settle(page)
    assert_no_exception(page)
    name, content = _downloaded(page, "PDF report")
    assert name == f"relais-report-{local_today().year - 1}.pdf"
    text = "\n".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(content)).pages)
    assert "Funder report" in text and "Definitions" in text and "Rapport" not in text
    name, content = _downloaded(page, "PowerPoint deck")
    assert name.endswith(".pptx")
    titles = [slide.shapes.title.text for slide in Presentation(io.BytesIO(content)).slides]
    assert titles[0] == "Funder report" and "Definitions" in titles


def _tile(page: Page, label: str) -> str:
    """The value of the first tile with this label, as shown."""
    tile = page.get_by_test_id("stMetric").filter(has_text=label).first
    return tile.get_by_test_id("stMetricValue").inner_text().replace("\u202f", "").replace("\xa0", "").strip()


def _choose(page: Page, label: str, option: str | None = None) -> None:
    """Open a select box by its label and pick an option (the first when none is named), as a person would."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    box.scroll_into_view_if_needed()
    box.locator("input").click()
    if option:
        page.keyboard.type(option)
    else:
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_the_worker_records_an_attempt_and_sees_the_queue_and_outreach_move(app, browser, screenshots, viewport):
    url, database_url = app
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-CA", is_mobile=width < 500)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    today = local_today()
    outreach_link = f"{url}/outreach?period=custom&from={today - timedelta(days=13)}&to={today}"
    log_in(page, url, "intervenante")
    page.goto(outreach_link)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    settle(page)
    before = [value.inner_text() for value in page.get_by_test_id("stMetricValue").all()]

    page.goto(f"{url}/queue")
    expect(page.get_by_role("heading", name=PAGE_TITLES["queue"], exact=True)).to_be_visible()
    settle(page)
    assert_no_exception(page)
    waiting = int(_tile(page, "En attente"))
    assert waiting > 0, "the demo data leaves arrests to call"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=screenshots / f"intervenante-queue-{width}x{height}.png")
    _choose(page, "Dossier à traiter")
    expect(page.get_by_test_id("stForm")).to_be_visible()
    settle(page)  # the rerun that drew the form has ended: the outcome chosen next is not drawn over
    _choose(page, "Issue", "A accepté de l'aide")
    page.screenshot(path=screenshots / f"intervenante-form-{width}x{height}.png", full_page=True)
    page.get_by_role("button", name="Enregistrer la tentative").click()
    waiting_tile = page.get_by_test_id("stMetric").filter(has_text="En attente").first.get_by_test_id("stMetricValue")
    try:
        expect(waiting_tile).to_have_text(str(waiting - 1), timeout=TIMEOUT_MS)
    except AssertionError:
        page.screenshot(path=screenshots / f"intervenante-submitted-{width}x{height}.png", full_page=True)
        alerts = page.get_by_test_id("stAlert").all_inner_texts()
        raise AssertionError(f"the queue still shows {_tile(page, 'En attente')} waiting; alerts: {alerts}") from None
    assert_no_exception(page)

    page.goto(outreach_link)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    settle(page)
    after = [value.inner_text() for value in page.get_by_test_id("stMetricValue").all()]
    assert after != before, "the Outreach figures include the new attempt at once"
    engine = build_engine(database_url)
    with engine.connect() as connection:
        recorded = connection.execute(select(outreach_attempt.c.outcome).where(
            outreach_attempt.c.recorded_by == "intervenante")).scalars().all()
    engine.dispose()
    assert "accepted" in recorded
    context.close()


def test_switching_to_english_redraws_the_sidebar_choices(app, page):
    url, _database_url = app
    log_in(page, url, "capitaine")
    expect(page.get_by_role("heading", name="Vue d'ensemble", exact=True)).to_be_visible()
    settle(page)
    sidebar = page.get_by_test_id("stSidebar")
    # What a screen reader announces, and what the boxes show: "combobox "Période": 12 dernières semaines".
    assert 'combobox "Période": 12 dernières semaines' in sidebar.aria_snapshot()
    sidebar.get_by_text("English", exact=True).click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    settle(page)
    # The select boxes kept their French option until their values were sent again.
    snapshot = sidebar.aria_snapshot()
    assert 'combobox "Period": Last 12 weeks' in snapshot and 'combobox "Police service": All my services' in snapshot
