"""The map with no internet: the Overview draws imported boundaries with no basemap, and nothing leaves the machine."""

from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from time import monotonic
from urllib.parse import urlsplit

import numpy as np
from PIL import Image
from playwright.sync_api import Locator, Route, expect, sync_playwright

from dashboard.commands.serve import free_port, running_app, running_provider, write_demo_secrets
from dashboard.ingest.boundary_file import import_boundary_file
from dashboard.ingest.importer import import_file
from dashboard.scratch import prepared_engine
from dashboard.web.sidebar import default_filter
from queries.boundaries import boundary_codes
from queries.places import municipalities
from queries.schema import membership

BOUNDARIES = Path(__file__).resolve().parent / "fixtures" / "reference_boundaries.geojson"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
TIMEOUT_MS = 20_000
HEADER = "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban\n"
RIPRSL_MUNICIPALITIES = 17
# A municipality's polygon is one flat colour: 15 of the régie's 17 cover more than 400 pixels at the fitted zoom.
# Columns at the centroids, drawn when there are no boundaries, are shaded: no colour of theirs fills 400 pixels.
FILL_PIXELS = 400
MIN_FILLS = 12
DRAW_SECONDS = 10


def interventions_csv(codes: list[str], first_day) -> bytes:
    """A few interventions in each municipality, more in each next one, inside the default period."""
    lines = [HEADER]
    for rank, code in enumerate(codes, start=1):
        for serial in range(rank):
            moment = datetime.combine(first_day + timedelta(days=serial * 3 % 70), time(21, 15))
            lines.append(f"OFF-{code}-{serial},RIPRSL,{code},{moment:%Y-%m-%d %H:%M},non,,,non\n")
    return "".join(lines).encode("utf-8")


def flat_fills(png: bytes) -> tuple[list[int], int]:
    """Pixel counts of the picture's large flat areas of one ramp colour, and the count of all ramp-coloured pixels."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int).reshape(-1, 3)
    # The ramp runs from pale to dark blue: blue well above red. White, grey and text are not.
    blue = pixels[pixels[:, 2] - pixels[:, 0] > 30]
    _colours, counts = np.unique(blue, axis=0, return_counts=True)
    return sorted(int(count) for count in counts if count >= FILL_PIXELS), len(blue)


def drawn_map(deck: Locator, path: Path) -> tuple[list[int], int]:
    """The map's flat fills once deck.gl has drawn its polygons (it draws on animation frames)."""
    deadline = monotonic() + DRAW_SECONDS
    while True:
        fills, coloured = flat_fills(deck.screenshot(path=path))
        if len(fills) >= MIN_FILLS or monotonic() > deadline:
            return fills, coloured
        deck.page.wait_for_timeout(250)


def test_the_overview_map_draws_imported_boundaries_with_no_internet(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'relais.db'}"
    engine = prepared_engine(database_url)
    with engine.connect() as connection:
        served = set(connection.scalars(membership.select().with_only_columns(membership.c.municipality_code)
                                        .where(membership.c.police_service == "RIPRSL")))
        codes = sorted(code for code in municipalities(connection)["code"] if code in served)
    assert len(codes) == RIPRSL_MUNICIPALITIES
    data = interventions_csv(codes, default_filter().period.start)
    imported = import_file(engine, "interventions", data, "interventions.csv", service="RIPRSL")
    assert (imported.written, imported.accepted) == (True, 153)
    report = import_boundary_file(engine, BOUNDARIES)
    assert report.imported == 18 and boundary_codes(engine) >= set(codes)
    engine.dispose()

    refused: list[tuple[str, str]] = []

    def only_this_machine(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            refused.append((route.request.frame.url, route.request.url))
            route.abort("internetdisconnected")

    app_port = free_port()
    with (
        running_provider(free_port(), log=tmp_path / "provider.log") as issuer,
        running_app(app_port, {"STREAMLIT_SECRETS_FILES": str(write_demo_secrets(tmp_path, app_port, issuer)),
                               "DATABASE_URL": database_url}, log=tmp_path / "app.log") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-CA")
        context.route("**/*", only_this_machine)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
        page.fill("input[name=sub]", "capitaine")
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_role("heading", name="Vue d'ensemble", exact=True)).to_be_visible()
        deck = page.get_by_test_id("stDeckGlJsonChart")
        deck.scroll_into_view_if_needed()
        expect(deck.locator("canvas").first).to_be_visible()
        expect(page.get_by_text("Plus la municipalité est foncée", exact=False)).to_be_visible()
        fills, coloured = drawn_map(deck, tmp_path / "overview-map.png")
        browser.close()

    # 17 municipalities filled by 17 different counts: flat polygons, one colour each, make up the map.
    assert len(fills) >= MIN_FILLS, f"{len(fills)} flat fills: see {tmp_path / 'overview-map.png'}"
    assert sum(fills) >= 0.9 * coloured
    # Only the demo identity provider's sign-in form asks for something outside (its style sheet, from a CDN);
    # a police service signs in through its own provider. No page of Relais asks for anything.
    from_relais = [wanted for page_url, wanted in refused if not page_url.startswith(issuer)]
    assert from_relais == [], "\n".join(from_relais)
    assert {urlsplit(wanted).hostname for _page_url, wanted in refused} <= {"cdn.jsdelivr.net"}
