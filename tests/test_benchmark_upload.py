"""`benchmark upload`: its file (one service, one invalid row in a thousand) and a short run in Chromium (its own
module: Playwright's sync API runs once per thread, and the browser tests' fixture holds it)."""

from __future__ import annotations

from dashboard.commands.benchmark_upload import run_upload_benchmark, upload_file


def test_the_upload_benchmark_times_a_small_file(capsys):
    data, invalid = upload_file(2_500)
    lines = data.decode("utf-8").splitlines()
    assert len(lines) == 1 + 2_500 and {line.split(";")[1] for line in lines[1:]} == {"RIPRSL"}
    # Lines 1, 1001 and 2001 of the rows (2, 1002 and 2002 of the file) have a code of four digits.
    assert invalid == 3 and [index for index, line in enumerate(lines) if len(line.split(";")[2]) == 4] == [
        1, 1001, 2001]
    assert run_upload_benchmark(300) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["backend", "rows", "MB"]
    assert [line.split()[:2] for line in table[1:3]] == [["SQLite", "300"], ["SQLite", "300"]]
