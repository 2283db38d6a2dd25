"""What every command prints: errors on standard error, and problems as an aligned table."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dashboard.i18n import t


def error(message: str) -> None:
    """An error line on standard error, in the configured language."""
    print(t("cli.error", message=message), file=sys.stderr)


def problem_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header: the first column right-aligned, the middle ones padded, the last (the reason) free."""
    lines = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(line[index]) for line in lines) for index in range(len(header) - 1)]
    return "\n".join(
        "  ".join([line[0].rjust(widths[0]), *(cell.ljust(width) for cell, width in zip(line[1:-1], widths[1:])),
                   line[-1]]).rstrip()
        for line in lines
    )
