"""`python -m dashboard benchmark browser`: each page's load in headless Chromium against a bare floor page."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from dashboard import settings
from dashboard.commands.benchmark import BACKEND_NAMES, load_data, load_line
from dashboard.commands.benchmark_load import PROVINCE_LOAD_USERS, aligned
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK
from dashboard.commands.serve import LOOPBACK, free_port, running_app, running_provider, write_demo_secrets
from dashboard.demo.users import DEMO_USERS, DemoUser
from dashboard.i18n import number, t
from dashboard.scratch import scratch_database

FLOOR_SCRIPT = settings.PROJECT_ROOT / "dashboard" / "benchmarks" / "floor_page.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TARGET_RATIO = 1.2
TIMEOUT_MS = 120_000
# A page's first, cold load at province scale runs every query of a million rows on a shared machine.
COLD_TIMEOUT_MS = 600_000
POLL_MS = 50
# What SETTLED waits for, to say which part never came.
SETTLING = """() => {
  const all = test => [...document.querySelectorAll(`[data-testid="${test}"]`)];
  const app = document.querySelector('[data-testid="stApp"]');
  return {state: app && app.dataset.testScriptState, placeholders: all('stSkeleton').length,
          charts: all('stVegaLiteChart').map(chart => !!chart.querySelector('canvas, svg.marks')),
          maps: all('stDeckGlJsonChart').map(map => !!map.querySelector('canvas')),
          title: !!document.querySelector('h1')};
}"""
STARTUP_SECONDS = 60
DIRECTOR = next(user for user in DEMO_USERS if user.sub == "directrice")
PROVINCE_DIRECTOR = next(user for user in PROVINCE_LOAD_USERS if user.sub == "directrice-province")
FLOOR = "floor"
# Settled: the run is over (a new document starts "initial"), no placeholder is left, the title is there and every
# chart and map has drawn its canvas or SVG. The value is the page's own clock, in ms since the navigation began.
SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  if (!charts.every(chart => chart.querySelector('canvas, svg.marks'))) return false;
  const maps = [...document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')];
  if (!maps.every(map => map.querySelector('canvas'))) return false;
  return document.querySelector('h1') ? performance.now() : false;
}"""


@dataclass(frozen=True)
class BrowserTiming:
    """One page's warm loads in the browser, and the bytes each brought over the websocket."""

    page: str
    milliseconds: tuple[float, ...]
    received: tuple[int, ...]
    title: str = ""  # as the last load showed it
    exceptions: int = 0

    @property
    def median_ms(self) -> float:
        """The typical warm load."""
        return statistics.median(self.milliseconds)


@contextmanager
def running_floor(port: int, places: int, log: Path) -> Iterator[str]:
    """The floor page served by Streamlit on 127.0.0.1, sized for that many municipalities; yields its URL."""
    command = [sys.executable, "-m", "streamlit", "run", str(FLOOR_SCRIPT), "--server.port", str(port),
               "--server.address", LOOPBACK, "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    environment = {**os.environ, "RELAIS_FLOOR_PLACES": str(places)}
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=settings.PROJECT_ROOT,
                                   env=environment)
        url = f"http://localhost:{port}"
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the floor page did not start (see {log})") from None
                    time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def log_in(page: Page, url: str, subject: str) -> None:
    """Sign in through the provider's form, as a person would."""
    page.goto(url)
    page.get_by_role("button", name=t("app.login.button", "fr")).click()
    page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
    page.fill("input[name=sub]", subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(url) + r"/?.*"))
    settled(page, "sign-in", COLD_TIMEOUT_MS)


def settled(page: Page, name: str, timeout: float = TIMEOUT_MS) -> float:
    """Wait until the page has settled; the page's clock then, in ms since its navigation began."""
    try:
        return page.wait_for_function(SETTLED, timeout=timeout, polling=POLL_MS).json_value()
    except PlaywrightTimeoutError:
        raise RuntimeError(f"{name} never settled: {page.evaluate(SETTLING)}") from None


def timed_load(page: Page, name: str, url: str, received: list[int]) -> tuple[float, int, int, str]:
    """Open the URL in a tab that was blank: its time to settle, the websocket's bytes, exceptions shown, title."""
    received.clear()
    page.goto(url)
    milliseconds = settled(page, name)
    return (milliseconds, sum(received), page.get_by_test_id("stException").count(),
            page.locator("h1").first.inner_text().strip())


def interleaved_loads(tabs: dict[str, tuple[Page, str]], runs: int, received: list[int]) -> list[BrowserTiming]:
    """Each page loaded `runs` times, one round at a time through all of them, each tab blank when not timed."""
    # Round by round rather than page after page: a slow spell of the machine then falls on every page alike.
    # A blank tab draws nothing: an idle map in another tab would keep a core busy while the next page is timed.
    for name, (page, url) in tabs.items():
        page.goto(url)
        settled(page, name, COLD_TIMEOUT_MS)
        page.goto("about:blank")
    loads: dict[str, list[tuple[float, int, int, str]]] = {name: [] for name in tabs}
    for _ in range(runs):
        for name, (page, url) in tabs.items():
            loads[name].append(timed_load(page, name, url, received))
            page.goto("about:blank")
    timings = []
    for name, measured in loads.items():
        times, sizes, exceptions, titles = zip(*measured)
        timings.append(BrowserTiming(name, times, sizes, titles[-1], sum(exceptions)))
    return timings


def _tab(context, received: list[int]) -> Page:
    """A new tab whose websocket frames are counted into `received`."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: received.append(len(payload))))
    return page


def browser_timings(app_url: str, floor_url: str, subject: str, pages: tuple[str, ...],
                    runs: int) -> list[BrowserTiming]:
    """The floor page's loads and each app page's, signed in once as the subject, round after round in one browser."""
    received: list[int] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            options = {"viewport": {"width": 1440, "height": 900}, "locale": "fr-CA"}
            floor = _tab(browser.new_context(**options), received)
            signed_in = browser.new_context(**options)
            log_in(_tab(signed_in, received), app_url, subject)
            tabs = {FLOOR: (floor, floor_url)} | {key: (_tab(signed_in, received), f"{app_url}/{key}")
                                                  for key in pages}
            print(f"  {', '.join(tabs)}…", file=sys.stderr, flush=True)
            return interleaved_loads(tabs, runs, received)
        finally:
            browser.close()


BROWSER_HEADER = ("backend", "scale", "page", "title", "median ms", "each load ms", "ratio to floor",
                  f"≤ {TARGET_RATIO}×", "kB received", "exceptions")


def browser_rows(backend: str, scale: str, timings: list[BrowserTiming]) -> list[tuple[str, ...]]:
    """One row per page, the floor first, with each page's ratio to the floor."""
    floor = next(timing for timing in timings if timing.page == FLOOR).median_ms
    rows = []
    for timing in timings:
        ratio = timing.median_ms / floor if floor else 0.0
        met = "—" if timing.page == FLOOR else "✓" if ratio <= TARGET_RATIO else "✗"
        rows.append((BACKEND_NAMES[backend], scale, timing.page, timing.title, number(timing.median_ms),
                     " / ".join(number(value) for value in timing.milliseconds), number(ratio, digits=2), met,
                     number(statistics.median(timing.received) / 1000, digits=1), number(timing.exceptions)))
    return rows


def targets_met(timings: list[BrowserTiming]) -> bool:
    """Every page within the target ratio of the floor, and no exception shown."""
    floor = next(timing for timing in timings if timing.page == FLOOR).median_ms
    return all(timing.median_ms <= TARGET_RATIO * floor and not timing.exceptions for timing in timings)


def serve_and_time(database_url: str, places: int, user: DemoUser, pages: tuple[str, ...],
                   runs: int) -> list[BrowserTiming]:
    """The provider, the app on that database and the floor page, each page timed in Chromium."""
    with tempfile.TemporaryDirectory(prefix="relais-browser-") as directory:
        folder, port = Path(directory), free_port()
        with running_provider(free_port(), (user,), log=folder / "provider.log") as issuer:
            secrets_path = write_demo_secrets(folder, port, issuer)
            environment = {"STREAMLIT_SECRETS_FILES": str(secrets_path), "DATABASE_URL": database_url}
            with running_app(port, environment, log=folder / "app.log") as app_url, \
                    running_floor(free_port(), places, folder / "floor.log") as floor_url:
                return browser_timings(app_url, floor_url, user.sub, pages, runs)


def run_browser_benchmark(backend: str, scale: str, interventions: int, runs: int) -> int:
    """Time each of the director's pages and the floor page in Chromium; print the table and the verdict."""
    user = PROVINCE_DIRECTOR if scale == "province" else DIRECTOR
    pages = ("overview", "outreach", "report", "queue", "definitions")
    with scratch_database(backend) as engine:
        print(f"{BACKEND_NAMES[backend]}, {scale}: loading…", file=sys.stderr, flush=True)
        load = load_data(engine, scale, interventions)
        print(load_line(backend, load), flush=True)
        timings = serve_and_time(engine.url.render_as_string(hide_password=False), load.municipalities, user,
                                 pages, runs)
    print()
    print(aligned(BROWSER_HEADER, browser_rows(backend, scale, timings), 4))
    print(f"Warm: median of {runs} loads each, round after round through the floor and the pages, from navigation to "
          "the run's end with every chart and map drawn.")
    floor = next(timing for timing in timings if timing.page == FLOOR).median_ms
    print(t("benchmark.browser.target", ratio=number(TARGET_RATIO, digits=1), floor=number(floor)))
    if targets_met(timings):
        print(t("benchmark.target.met"))
        return EXIT_OK
    print(t("benchmark.target.missed"))
    return EXIT_INVALID
