"""`python -m dashboard report` writes the same suppressed report as the page's downloads, for cron."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dashboard.i18n import t
from dashboard.render.report_files import report_csv_zip
from dashboard.settings import PROJECT_ROOT
from queries.filters import MetricFilter, Period, Scope
from queries.report import funder_report
from queries.schema import audit_event
from tests.hand_made import load_hand_made

QUARTER = Period(date(2024, 1, 1), date(2024, 3, 31))


def _report(database_url: str, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", "RELAIS_USER": "cron",
                   **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", "report", *arguments], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def _zip_tables(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_tables_are_those_of_the_pages_report(engine, database_url, tmp_path):
    load_hand_made(engine)
    out = tmp_path / "reports" / "q1.zip"
    done = _report(database_url, "--period", "quarter", "--from", "2024-01-01", "--service", "riprsl", "--format",
                   "zip", "--lang", "en", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "2024-01-01 to 2024-03-31" in done.stdout
    scope = Scope(all_services=True, roles=frozenset({"director"}))
    expected = funder_report(engine, MetricFilter(QUARTER, services=("RIPRSL",)), scope)
    assert _zip_tables(out.read_bytes()) == _zip_tables(report_csv_zip(expected, "en"))
    # The hand-made quarter holds counts from 1 to 4: hidden as on the page.
    assert b"< 5" in b"".join(_zip_tables(out.read_bytes()).values())
    with engine.connect() as connection:
        row = connection.execute(select(audit_event).where(audit_event.c.action == "report")).one()
    assert (row.subject, json.loads(row.filters)["service"], json.loads(row.filters)["format"]) == (
        "cron", "RIPRSL", "zip")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_pdf_reads_back(engine, database_url, tmp_path, language):
    load_hand_made(engine)
    out = tmp_path / f"q1-{language}.pdf"
    done = _report(database_url, "--period", "quarter", "--from", "2024-01-01", "--lang", language, "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert t("report.title", language) in text and "2024" in text


@pytest.mark.parametrize(("arguments", "words"), [
    (["--period", "quarter", "--from", "2024-02-01"], "not the first day of a quarter"),
    (["--period", "year", "--from", "2024-03-01"], "not 1 January"),
    (["--period", "custom", "--from", "2024-03-01"], "needs --to"),
    (["--period", "quarter", "--from", "2024-01-01", "--service", "NOPE"], "unknown police service"),
])
def test_a_request_that_cannot_be_answered_exits_2(engine, database_url, tmp_path, arguments, words):
    done = _report(database_url, *arguments, "--out", str(tmp_path / "x.pdf"))
    assert done.returncode == 2 and words in done.stderr and not (tmp_path / "x.pdf").exists()


def test_an_exact_report_needs_the_administrators_setting_and_hides_nothing(engine, database_url, tmp_path):
    load_hand_made(engine)
    out = tmp_path / "exact.zip"
    arguments = ("--period", "quarter", "--from", "2024-01-01", "--service", "RIPRSL", "--format", "zip", "--exact",
                 "--out", str(out))
    refused = _report(database_url, *arguments)
    assert refused.returncode == 2 and "RELAIS_EXACT_REPORTS=allowed" in refused.stderr and not out.exists()
    done = _report(database_url, *arguments, RELAIS_EXACT_REPORTS="allowed")
    assert done.returncode == 0, done.stderr
    tables = b"".join(_zip_tables(out.read_bytes()).values()).decode("utf-8-sig", errors="replace")
    assert "< 5" not in tables
    # The same report as the page's, with nothing hidden: the hand-made quarter's exact counts.
    scope = Scope(all_services=True, roles=frozenset({"director"}))
    exact = funder_report(engine, MetricFilter(QUARTER, services=("RIPRSL",)), scope, 1)
    assert exact.exact and _zip_tables(out.read_bytes()) == _zip_tables(report_csv_zip(exact, "fr"))
    assert not any(figure.hidden for values in exact.figures.values() for figure in values.values())
    pdf = tmp_path / "exact.pdf"
    made = _report(database_url, "--period", "quarter", "--from", "2024-01-01", "--exact", "--out", str(pdf),
                   "--lang", "en", RELAIS_EXACT_REPORTS="allowed")
    assert made.returncode == 0, made.stderr
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "EXACT, UNSUPPRESSED FIGURES" in text and "must not leave the organisation" in text
    assert "Internal report, exact figures" in text and "Funder report" not in text
    with engine.connect() as connection:
        exact_runs = [json.loads(filters)["exact"] for filters in connection.scalars(
            select(audit_event.c.filters).where(audit_event.c.action == "report"))]
    assert exact_runs == [True, True]


@pytest.mark.parametrize("exact", [False, True])
def test_the_report_file_is_its_owners_alone_whatever_the_umask(engine, database_url, tmp_path, exact):
    """Exact figures are unsuppressed: 0600 from the start under the usual umask, even over a 0644 file."""
    load_hand_made(engine)
    out = tmp_path / "reports" / "q1.zip"
    out.parent.mkdir()
    out.write_bytes(b"last quarter's report")
    out.chmod(0o644)
    previous = os.umask(0o022)
    try:
        done = _report(database_url, "--period", "quarter", "--from", "2024-01-01", "--format", "zip",
                       "--out", str(out), *(["--exact"] if exact else []), RELAIS_EXACT_REPORTS="allowed")
    finally:
        os.umask(previous)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert zipfile.is_zipfile(out) and [entry.name for entry in out.parent.iterdir()] == ["q1.zip"]
