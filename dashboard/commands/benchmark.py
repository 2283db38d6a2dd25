"""`python -m dashboard benchmark`: import speed, and each page's server time on demo and province-scale data."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow
import streamlit as st
from sqlalchemy import Engine
from streamlit import config as streamlit_config
from streamlit import logger as streamlit_logger
from streamlit.testing.v1 import AppTest

from auth.viewer import PAGES
from dashboard import settings
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK
from dashboard.commands.imports import import_problem_table
from dashboard.database import engine_for
from dashboard.demo.province import DataLoad, analyze, generate_province, load_demo, spreadsheet_interventions_file
from dashboard.i18n import number, t
from dashboard.ingest.importer import ImportReport, import_file
from dashboard.scratch import BACKENDS, scratch_database

TARGET_ROWS, TARGET_SECONDS = 100_000, 30.0
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _figures(phase: str, rows: int, seconds: float) -> str:
    rate, unit = number(rows / seconds if seconds else 0.0), t("import.benchmark.per_second")
    return f"{phase:<34} {number(rows):>10} {number(seconds, digits=2):>8} s {rate:>10} {unit}"


def _report_lines(label: str, report: ImportReport) -> list[str]:
    total = report.check_seconds + report.write_seconds
    return [
        _figures(t("import.benchmark.check", label=label), report.rows_read, report.check_seconds),
        _figures(t("import.benchmark.write", label=label), report.accepted, report.write_seconds),
        _figures(t("import.benchmark.total", label=label), report.rows_read, total),
    ]


def run_import_benchmark(rows: int, backend: str = "sqlite") -> int:
    """Import a generated file twice into a throwaway database and print the time of each phase."""
    data = spreadsheet_interventions_file(rows)
    with scratch_database(backend) as engine:
        first = import_file(engine, "interventions", data, "benchmark.csv", imported_by="benchmark")
        again = import_file(engine, "interventions", data, "benchmark.csv", imported_by="benchmark")
    if first.status != "imported":
        print(import_problem_table(first.problems[:20]), file=sys.stderr)
        return 1
    megabytes = number(len(data) / 1e6, digits=1)
    print(t("import.benchmark.title", rows=number(rows), megabytes=megabytes, backend=BACKEND_NAMES[backend]))
    lines = _report_lines(t("import.benchmark.first"), first) + _report_lines(t("import.benchmark.again"), again)
    print("\n".join(lines))
    seconds = first.check_seconds + first.write_seconds
    projected = number(seconds * TARGET_ROWS / rows if rows else 0.0, digits=1)
    print(t("import.benchmark.target", rows=number(TARGET_ROWS), limit=number(TARGET_SECONDS), seconds=projected))
    return 0


# --- Page timings -----------------------------------------------------------------------------------

APP = settings.PROJECT_ROOT / "dashboard" / "app.py"
PAGES_DIR = settings.PROJECT_ROOT / "pages"
RUN_TIMEOUT_SECONDS = 600
ERROR_DETAILS = "client.showErrorDetails"
# Issue 14's targets at province scale (1 M interventions), on both databases.
TARGET_COLD_MS = 1000
TARGET_WARM_MS = 150
DEFAULT_RERUNS = 5
BENCHMARK_AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "benchmark-only, never served: 0123456789abcdef",
    "client_id": "relais-benchmark",
    "client_secret": "benchmark-only",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
# Each page is timed for the first of these who may open it; province-wide scopes are the heaviest views.
BENCHMARK_VIEWERS = (
    {"sub": "benchmark-captain", "roles": ["captain"], "police_services": ["*"]},
    # Before the director: the queue is timed with its rows, as a worker sees it.
    {"sub": "benchmark-worker", "roles": ["worker"], "police_services": ["*"]},
    {"sub": "benchmark-director", "roles": ["director"], "police_services": ["*"]},
    {"sub": "benchmark-admin", "roles": ["admin"], "police_services": ["*"]},
)


class PageFailed(Exception):
    """A page that raised while being timed."""


@dataclass(frozen=True)
class Payload:
    """The data rows and bytes a page's charts, maps and tables carry to the browser."""

    rows: int = 0
    size: int = 0

    def __add__(self, other: Payload) -> Payload:
        return Payload(self.rows + other.rows, self.size + other.size)


@dataclass(frozen=True)
class PageTiming:
    """One page's server time per rerun, cold and warm, and what it sends to the browser."""

    page: str
    role: str
    cold_ms: float
    warm_ms: tuple[float, ...]
    payload: Payload

    @property
    def warm_median_ms(self) -> float:
        """The typical warm rerun."""
        return statistics.median(self.warm_ms)

    @property
    def warm_max_ms(self) -> float:
        """The slowest warm rerun."""
        return max(self.warm_ms)


def _arrow_payload(data: bytes) -> Payload:
    rows = pyarrow.ipc.open_stream(data).read_all().num_rows if data else 0
    return Payload(rows, len(data))


def _inline_rows(spec: object) -> int:
    """Rows written into a Vega-Lite spec itself (`data.values`, `datasets`), at any depth."""
    if isinstance(spec, list):
        return sum(map(_inline_rows, spec))
    if not isinstance(spec, dict):
        return 0
    inline = spec.get("data", {}).get("values") if isinstance(spec.get("data"), dict) else None
    datasets = spec.get("datasets") if isinstance(spec.get("datasets"), dict) else {}
    own = (len(inline) if isinstance(inline, list) else 0) + sum(map(len, datasets.values()))
    return own + sum(_inline_rows(value) for key, value in spec.items() if key not in ("data", "datasets"))


def _deck_rows(layers: list) -> int:
    """Rows of the data lists (or GeoJSON features) inlined in a pydeck map's layers."""
    rows = 0
    for layer in layers:
        data = layer.get("data")
        rows += len(data) if isinstance(data, list) else len(data.get("features", [])) if isinstance(data, dict) else 0
    return rows


def browser_payload(test: AppTest) -> Payload:
    """The data rows and bytes inlined in the rendered page's tables, Vega-Lite charts and pydeck maps."""
    payload = Payload()
    for table in test.get("table"):
        payload += _arrow_payload(table.proto.arrow_data.data)
    for frame in test.get("dataframe"):
        proto = frame.proto
        if not proto.arrow_data.data and proto.HasField("lazy_data"):
            # Served page by page on demand: every row can reach the browser.
            payload += Payload(proto.lazy_data.row_count, len(proto.lazy_data.initial_chunk.data))
        else:
            payload += _arrow_payload(proto.arrow_data.data)
    for chart in test.get("vega_lite_chart"):
        payload += _arrow_payload(chart.proto.data.data)
        for dataset in chart.proto.datasets:
            payload += _arrow_payload(dataset.data.data)
        payload += Payload(_inline_rows(json.loads(chart.proto.spec or "{}")), len(chart.proto.spec))
    for deck in test.get("deck_gl_json_chart"):
        payload += Payload(_deck_rows(json.loads(deck.proto.json or "{}").get("layers", [])), len(deck.proto.json))
    return payload


def page_scripts() -> list[Path]:
    """The page scripts in pages/, in navigation order, unknown ones last."""
    order = {key: index for index, key in enumerate(PAGES)}
    return sorted(PAGES_DIR.glob("[!_]*.py"), key=lambda path: (order.get(path.stem, len(order)), path.stem))


@contextmanager
def _benchmarked_app(database_url: str) -> Iterator[None]:
    """The app on that database, showing a page's errors in full (users get none of their details)."""
    previous_url, previous_details = os.environ.get("DATABASE_URL"), streamlit_config.get_option(ERROR_DETAILS)
    os.environ["DATABASE_URL"] = database_url
    streamlit_config.set_option(ERROR_DETAILS, "full")
    try:
        yield
    finally:
        streamlit_config.set_option(ERROR_DETAILS, previous_details)
        if previous_url is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = previous_url


def _checked_run(test: AppTest, page: str) -> float:
    """Rerun the app; the milliseconds it took, or PageFailed with the page's exception."""
    started = time.perf_counter()
    test.run()
    elapsed = (time.perf_counter() - started) * 1000
    if test.exception:
        raise PageFailed(f"{page}: {test.exception[0].message}\n" + "\n".join(test.exception[0].stack_trace))
    return elapsed


def _signed_in(claims: dict) -> AppTest:
    test = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_SECONDS)
    test.secrets["auth"] = BENCHMARK_AUTH
    test.user = {"is_logged_in": True, "name": claims["sub"], "iat": int(time.time()), **claims}
    _checked_run(test, "app")
    return test


def _opens(test: AppTest, script: Path) -> bool:
    try:
        test.switch_page(str(script))
    except ValueError:  # not in this viewer's navigation
        return False
    return True


def _time_page(test: AppTest, page: str, role: str, reruns: int) -> PageTiming:
    # A first run as a live server would have had: modules imported, the page script compiled.
    _checked_run(test, page)
    st.cache_data.clear()
    st.cache_resource.clear()
    cold = _checked_run(test, page)
    warm = tuple(_checked_run(test, page) for _ in range(reruns))
    return PageTiming(page, role, cold, warm, browser_payload(test))


def page_timings(database_url: str, reruns: int = DEFAULT_RERUNS) -> tuple[list[PageTiming], list[str]]:
    """Each page's cold and warm server time per rerun on a database; the pages no benchmark viewer can open."""
    sessions: dict[str, AppTest] = {}
    timings, unopened = [], []
    with _benchmarked_app(database_url):
        for script in page_scripts():
            for claims in BENCHMARK_VIEWERS:
                if claims["sub"] not in sessions:
                    sessions[claims["sub"]] = _signed_in(claims)
                if _opens(sessions[claims["sub"]], script):
                    print(f"  {script.stem} ({claims['roles'][0]})…", file=sys.stderr, flush=True)
                    timings.append(_time_page(sessions[claims["sub"]], script.stem, claims["roles"][0], reruns))
                    break
            else:
                unopened.append(script.stem)
    return timings, unopened


# --- The pages command ------------------------------------------------------------------------------


def _choices(option: str, every: tuple[str, ...]) -> tuple[str, ...]:
    return every if option == "both" else (option,)


def load_data(engine: Engine, scale: str, interventions: int) -> DataLoad:
    """The demo data or a generated province into a scratch database, its statistics refreshed."""
    load = load_demo(engine) if scale == "demo" else generate_province(engine, interventions)
    return replace(load, analyze_seconds=analyze(engine))


def load_line(backend: str, load: DataLoad) -> str:
    """What was loaded, and how long it took, in one line."""
    return (
        f"{BACKEND_NAMES[backend]}, {load.scale}: {number(load.police_services)} police services, "
        f"{number(load.municipalities)} municipalities, {number(load.interventions)} interventions, "
        f"{number(load.attempts)} outreach attempts written in {number(load.load_seconds, digits=1)} s, "
        f"ANALYZE {number(load.analyze_seconds, digits=1)} s"
    )


TABLE_HEADER = ("backend", "scale", "page", "role", "cold ms", f"< {TARGET_COLD_MS} cold", "warm median ms",
                "warm max ms", f"< {TARGET_WARM_MS} warm", "rows to browser", "kB to browser")


def targets_met(timing: PageTiming) -> tuple[bool, bool]:
    """Whether the page's cold run and its typical warm rerun are within the targets."""
    return timing.cold_ms < TARGET_COLD_MS, timing.warm_median_ms < TARGET_WARM_MS


def _mark(met: bool) -> str:
    return "✓" if met else "✗"


def _table_row(backend: str, scale: str, timing: PageTiming) -> tuple[str, ...]:
    cold, warm = ("", "") if scale != "province" else tuple(map(_mark, targets_met(timing)))
    return (
        BACKEND_NAMES[backend], scale, timing.page, timing.role, number(timing.cold_ms), cold,
        number(timing.warm_median_ms), number(timing.warm_max_ms), warm, number(timing.payload.rows),
        number(timing.payload.size / 1000, digits=1),
    )


def timing_table(rows: list[tuple[str, ...]]) -> str:
    """Rows under the header, text columns left-aligned and figures right-aligned."""
    lines = [TABLE_HEADER, *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(TABLE_HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) if column < 4 else cell.rjust(width)
                  for column, (cell, width) in enumerate(zip(line, widths))).rstrip()
        for line in lines
    )


def run_pages_benchmark(backend: str, scale: str, interventions: int, reruns: int) -> int:
    """Time every page, cold and warm, on each backend and scale asked for, and print the table."""
    # AppTest runs the app without a server: Streamlit would warn of the missing runtime at every cache clear.
    streamlit_config.set_option("logger.level", "error")  # parses the configuration first, which resets the level
    streamlit_logger.set_log_level("error")
    rows, notes, missed = [], [], []
    for database in _choices(backend, BACKENDS):
        for size in _choices(scale, ("demo", "province")):
            with scratch_database(database) as engine:
                print(f"{BACKEND_NAMES[database]}, {size}: loading…", file=sys.stderr, flush=True)
                print(load_line(database, load_data(engine, size, interventions)), flush=True)
                url = engine.url.render_as_string(hide_password=False)
                try:
                    timings, unopened = page_timings(url, reruns)
                except PageFailed as failure:
                    print(t("cli.error", message=failure), file=sys.stderr)
                    return EXIT_INVALID
                finally:
                    engine_for(url).dispose()
                rows += [_table_row(database, size, timing) for timing in timings]
                if size == "province":
                    missed += [f"{BACKEND_NAMES[database]}: {timing.page}" for timing in timings
                               if not all(targets_met(timing))]
                notes += [f"{BACKEND_NAMES[database]}, {size}: no benchmark viewer may open {page}"
                          for page in unopened]
    print()
    print(timing_table(rows))
    print(f"Warm: median of {reruns} reruns. Targets at province scale: under {TARGET_COLD_MS} ms cold (the first "
          f"run after a change of data) and under {TARGET_WARM_MS} ms warm.")
    for note in notes:
        print(note)
    if missed:
        print("Targets missed: " + ", ".join(missed), file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK
