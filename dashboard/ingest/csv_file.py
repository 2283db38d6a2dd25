"""Delimited files as people export them: UTF-8 with or without BOM, `,` or `;`, loose headers, blank lines."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

DELIMITERS = (",", ";")


@dataclass(frozen=True)
class CsvRecord:
    """One non-blank record: its line as a spreadsheet numbers it, its known values and its raw fields."""

    line: int
    values: dict[str, str]
    raw: tuple[str, ...]
    extra_values: bool
    # More or fewer fields than the header (an unquoted comma, a lost one): which value is which is unknown.
    misaligned: bool = False


@dataclass(frozen=True)
class CsvTable:
    """A decoded file: the delimiter found, the header as written, and the records after it."""

    delimiter: str
    header: tuple[str, ...]
    records: list[CsvRecord]


class CsvFileError(Exception):
    """A problem that rejects the whole file: not_utf8, malformed, missing_columns or repeated_columns."""

    def __init__(self, kind: str, columns: Sequence[str] = (), line: int = 1) -> None:
        super().__init__(kind, *columns)
        self.kind = kind
        self.columns = tuple(columns)
        self.line = line


def decode(data: bytes) -> str:
    """The text of UTF-8 bytes, a leading byte-order mark removed."""
    try:
        return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        raise CsvFileError("not_utf8", line=data.count(b"\n", 0, offset) + 1) from None


def column_name(name: str) -> str:
    """A header name as compared: case and surrounding spaces ignored."""
    return name.strip().lower()


def _is_blank(fields: list[str]) -> bool:
    return all(not field.strip() for field in fields)


def _numbered_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    # One record per spreadsheet line: a quoted multi-line field is one record, a blank line is an empty one.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return enumerate(reader, start=1)


def _header(text: str, delimiter: str) -> list[str]:
    return next((fields for _line, fields in _numbered_records(text, delimiter) if not _is_blank(fields)), [])


def detect_delimiter(text: str, known_columns: Sequence[str]) -> str:
    """The delimiter whose header names the most known columns, then the one giving the most fields."""
    known = set(known_columns)

    def score(delimiter: str) -> tuple[int, int]:
        names = _header(text, delimiter)
        return sum(column_name(name) in known for name in names), len(names)

    return max(DELIMITERS, key=score)


def _field(fields: list[str], index: int) -> str:
    return fields[index].strip() if index < len(fields) else ""


def read_table(data: bytes, columns: Sequence[str], required: Sequence[str]) -> CsvTable:
    """The file's records, with a value (stripped, "" when absent) for every one of the given columns."""
    text = decode(data)
    try:
        delimiter = detect_delimiter(text, columns)
        rows = [(line, fields) for line, fields in _numbered_records(text, delimiter) if not _is_blank(fields)]
    except csv.Error:
        # Only an unclosed quote that swallows the rest of the file gets here (a field over csv's size limit).
        raise CsvFileError("malformed") from None
    header = rows[0][1] if rows else []
    names = [column_name(name) for name in header]
    # Any repeated name rejects the file (the contract makes no exception for unknown columns); blank header
    # cells, which spreadsheets leave after a trailing delimiter, are not names.
    repeated = [name for name, count in Counter(names).items() if count > 1 and name]
    if repeated:
        raise CsvFileError("repeated_columns", repeated)
    missing = [name for name in required if name not in names]
    if missing:
        raise CsvFileError("missing_columns", missing)
    positions = {name: names.index(name) for name in columns if name in names}
    absent = dict.fromkeys((name for name in columns if name not in positions), "")
    return CsvTable(
        delimiter=delimiter,
        header=tuple(header),
        records=[
            CsvRecord(
                line=line,
                values=absent | {name: _field(fields, index) for name, index in positions.items()},
                raw=tuple(fields),
                extra_values=not _is_blank(fields[len(header) :]),
                misaligned=not _is_blank(fields[len(header) :]) or len(fields) < len(header),
            )
            for line, fields in rows[1:]
        ],
    )
