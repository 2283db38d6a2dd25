"""`python -m dashboard benchmark upload`: a large interventions file uploaded on the Data page in Chromium, timed to
its check's report and to its import, with the server process's memory sampled all along."""

from __future__ import annotations

import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import sync_playwright

from dashboard.commands.benchmark import BACKEND_NAMES
from dashboard.commands.benchmark_browser import CHROMIUM, CHROMIUM_ARGS, COLD_TIMEOUT_MS, log_in, settled
from dashboard.commands.benchmark_load import aligned, rss_megabytes, server_pid
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK
from dashboard.commands.serve import free_port, running_app, running_provider, write_demo_secrets
from dashboard.demo.province import spreadsheet_interventions_file
from dashboard.demo.users import DemoUser
from dashboard.i18n import number, t
from dashboard.scratch import scratch_database

ADMIN = DemoUser("admin", "Administrateur", ("admin",), ("*",))
# The Data page's first service (by code): the file is that service's, as an export of its records system would be.
SERVICE = "RIPRSL"
# One row in this many carries a municipality code of four digits: the report has a table of problems to draw.
INVALID_EVERY = 1000
SAMPLE_SECONDS = 0.02
HEADER = ("backend", "rows", "MB", "phase", "seconds", "server MB before", "peak", "after")


def upload_file(rows: int) -> tuple[bytes, int]:
    """A file of `rows` interventions of one service as a French spreadsheet writes them; its invalid rows' count."""
    lines = spreadsheet_interventions_file(rows * 18 // 17 + 2_000).decode("utf-8").splitlines()
    kept = [line for line in lines[1:] if line.split(";")[1] == SERVICE][:rows]
    invalid = 0
    for index in range(0, len(kept), INVALID_EVERY):
        fields = kept[index].split(";")
        fields[2] = fields[2][:4]
        kept[index], invalid = ";".join(fields), invalid + 1
    return ("\n".join([lines[0], *kept]) + "\n").encode("utf-8"), invalid


@dataclass
class MemorySamples:
    """The server process's resident memory, sampled in a thread: (monotonic time, MB)."""

    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)
    running: bool = True

    def sample(self) -> None:
        """Sample until stopped."""
        while self.running:
            self.samples.append((time.monotonic(), rss_megabytes(self.pid)))
            time.sleep(SAMPLE_SECONDS)

    def peak(self, start: float, end: float) -> float:
        """The highest sample between two moments."""
        return max((megabytes for moment, megabytes in self.samples if start <= moment <= end), default=0.0)


@contextmanager
def sampled(pid: int) -> Iterator[MemorySamples]:
    """Memory samples of a process while the block runs."""
    memory = MemorySamples(pid)
    thread = threading.Thread(target=memory.sample, daemon=True)
    thread.start()
    try:
        yield memory
    finally:
        memory.running = False
        thread.join()


def _phase(backend: str, rows: int, megabytes: float, name: str, seconds: float, before: float, peak: float,
           after: float) -> tuple[str, ...]:
    return (BACKEND_NAMES[backend], number(rows, "en"), number(megabytes, "en", 1), name, number(seconds, "en", 1),
            number(before, "en"), number(peak, "en"), number(after, "en"))


def upload_timings(backend: str, database_url: str, rows: int) -> list[tuple[str, ...]]:
    """Serve the app, upload the file as the administrator, time the check's report and the import."""
    data, invalid = upload_file(rows)
    megabytes = len(data) / 1e6
    problems = re.compile("^" + re.escape(t("data.upload.problems", "fr", problems="§", rows="", valid="")
                                          .split("§")[0]))
    with tempfile.TemporaryDirectory(prefix="relais-upload-") as directory:
        folder, port = Path(directory), free_port()
        with running_provider(free_port(), (ADMIN,), log=folder / "provider.log") as issuer:
            environment = {"STREAMLIT_SECRETS_FILES": str(write_demo_secrets(folder, port, issuer)),
                           "DATABASE_URL": database_url, "RELAIS_PSEUDONYM_KEYS": secrets.token_hex(32),
                           "RELAIS_UPLOAD_MAX_MB": str(int(megabytes) + 10)}
            with running_app(port, environment, log=folder / "app.log") as url, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-CA").new_page()
                page.set_default_timeout(COLD_TIMEOUT_MS)
                log_in(page, url, ADMIN.sub)
                pid = server_pid(port)
                with sampled(pid) as memory:
                    before = rss_megabytes(pid)
                    started = time.monotonic()
                    page.locator(".st-key-data_upload").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
                        files=[{"name": "interventions.csv", "mimeType": "text/csv", "buffer": data}])
                    page.get_by_text(problems).wait_for()
                    settled(page, "check", COLD_TIMEOUT_MS)
                    checked = time.monotonic()
                    after_check = rss_megabytes(pid)
                    page.get_by_role("button", name=t("data.upload.import_valid", "fr")).click()
                    page.get_by_test_id("stAlertContentSuccess").wait_for()
                    settled(page, "import", COLD_TIMEOUT_MS)
                    imported = time.monotonic()
                    after_import = rss_megabytes(pid)
                browser.close()
    print(f"{number(rows, 'en')} rows of {SERVICE}, {number(invalid, 'en')} invalid, {number(megabytes, 'en', 1)} MB",
          file=sys.stderr)
    return [
        _phase(backend, rows, megabytes, "upload → check's report", checked - started, before,
               memory.peak(started, checked), after_check),
        _phase(backend, rows, megabytes, "click → import done", imported - checked, after_check,
               memory.peak(checked, imported), after_import),
    ]


def run_upload_benchmark(rows: int, backend: str = "sqlite") -> int:
    """Time an upload of `rows` interventions on the Data page, on a throwaway database, and print the figures."""
    with scratch_database(backend) as engine:
        try:
            lines = upload_timings(backend, engine.url.render_as_string(hide_password=False), rows)
        except RuntimeError as failure:
            print(failure, file=sys.stderr)
            return EXIT_INVALID
    print(aligned(HEADER, lines, 4))
    print("Seconds from the file handed to the browser's uploader to the report drawn (upload, check, table), then "
          "from the click to the success message; the Streamlit server's resident memory (MB) before, at its peak "
          f"(sampled every {SAMPLE_SECONDS * 1000:g} ms) and after.")
    return EXIT_OK
