"""The browser benchmark, once through on demo data: the floor page and the director's pages, really signed in."""

from __future__ import annotations

import re

from dashboard.commands.benchmark_browser import BROWSER_HEADER, FLOOR, run_browser_benchmark
from dashboard.i18n import t

PAGES = ("overview", "outreach", "report", "queue", "definitions")


def _figure(cell: str) -> float:
    return float(cell.replace("\u202f", "").replace("\xa0", "").replace(",", "."))


def test_the_floor_and_each_page_are_timed_and_compared(capsys):
    status = run_browser_benchmark("sqlite", "demo", 0, runs=1)
    lines = capsys.readouterr().out.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("backend"))
    assert re.split(r"\s{2,}", lines[header]) == list(BROWSER_HEADER)
    rows = [dict(zip(BROWSER_HEADER, re.split(r"\s{2,}", line))) for line in lines[header + 1:header + 7]]
    assert [row["page"] for row in rows] == [FLOOR, *PAGES]
    # Signed in as the director: each page shows its own title, not the sign-in page's.
    assert [row["title"] for row in rows] == ["Floor", *(t(f"page.{key}", "fr") for key in PAGES)]
    floor = _figure(rows[0]["median ms"])
    for row in rows:
        assert _figure(row["median ms"]) > 0 and _figure(row["kB received"]) > 0 and row["exceptions"] == "0"
        assert abs(_figure(row["ratio to floor"]) - _figure(row["median ms"]) / floor) < 0.01
    assert _figure(rows[1]["kB received"]) > _figure(rows[-1]["kB received"])  # the Overview's charts and map
    met = all(row["≤ 1.2×"] == "✓" for row in rows[1:])
    assert lines[-1] == t("benchmark.target.met" if met else "benchmark.target.missed")
    assert status == (0 if met else 1)
