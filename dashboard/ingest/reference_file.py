"""Reference files replaced from the Data page: municipalities with their memberships, partner organisations.

The file is checked as the importer checks its own (csv_file.read_table, every problem as line, column, value and
reason, a repeated key refused), then against what is stored: a municipality where interventions took place cannot
go, and no stored intervention may fall outside the memberships of its service. `check_reference_file` writes
nothing; `replace_reference` checks again and writes in one transaction, with its batch row, the data version and
its audit row.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from dashboard.i18n import day, number, t
from dashboard.ingest.csv_file import CsvFileError, CsvRecord, read_table
from dashboard.ingest.importer import Problem, known_service, municipality_code_of
from dashboard.ingest.problems import InvalidValue
from queries import writes
from queries.audit import audit_services, record_event
from queries.filters import Scope
from queries.freshness import bump_version
from queries.reference import (
    MUNICIPALITY_COLUMNS,
    ORGANISATION_COLUMNS,
    StoredReference,
    known_services,
    rows_referring_to,
    store_municipalities,
    store_organisations,
    stored_municipalities,
    stored_organisations,
    unserved_interventions,
)
from queries.schema import (
    ORGANISATION_KINDS,
    intervention,
    membership,
    municipality,
    municipality_boundary,
    organisation,
    organisation_service,
)

KINDS = ("municipalities", "organisations")
# Quebec's bounding box, roughly: a centroid outside it is a typo (a swapped sign, latitude for longitude).
LATITUDES = (44.0, 63.0)
LONGITUDES = (-80.0, -57.0)
QUEBEC_CENSUS_PREFIX = "24"
ORGANISATION_CODE = re.compile(r"[A-Z0-9-]{1,16}")
TEXT_MAX_LENGTH = 200
ACTION = "reference_replaced"


@dataclass
class ReferenceReport:
    """What a reference file says, what is wrong with it, and what replacing the stored rows with it would change."""

    kind: str
    file_name: str
    file_sha256: str
    delimiter: str = ","
    rows_read: int = 0
    problems: list[Problem] = field(default_factory=list)
    file_problem: bool = False
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    # The rows to store: municipalities or organisations, and their memberships or services.
    rows: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    written: bool = False
    batch_id: int | None = None

    @property
    def acceptable(self) -> bool:
        """Whether the file may replace the stored rows."""
        return not self.problems


def reference_csv(frame: pd.DataFrame) -> bytes:
    """A reference table as the file it was read from: its columns, `,`, ISO dates, UTF-8 with a BOM (spreadsheets)."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def allowed(scope: Scope) -> None:
    """Deny by default: an administrator, and one whose scope is every service (a file replaces every service's)."""
    scope.require_role("admin")
    if not scope.all_services:
        raise PermissionError("replacing reference data needs the admin role over every police service")


def _problem(at: int, column: str, value: str, key: str, /, **values: object) -> Problem:
    return Problem(at, column, value, t(key, **values))


def _controls(values: dict[str, str]) -> list[tuple[str, str]]:
    return [(column, "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in value))
            for column, value in values.items() if any(unicodedata.category(c) == "Cc" for c in value)]


class _Row:
    """One record's findings so far; each field parsed on its own so that every problem is reported."""

    def __init__(self, record: CsvRecord) -> None:
        self.record = record
        self.problems: list[Problem] = []
        for column, shown in _controls(record.values):
            self.problems.append(_problem(record.line, column, shown, "import.reason.control_character"))
        self.tainted = {problem.column for problem in self.problems}

    def parsed(self, column: str, parse: Callable = str, *args: Any, required: bool = True) -> Any:
        """The parsed value of a column; None when empty and optional, or when invalid (reported)."""
        if column in self.tainted:
            return None
        value = self.record.values[column]
        if not value:
            if required:
                self.fail(column, "import.reason.required")
            return None
        try:
            return parse(value, *args)
        except InvalidValue as invalid:
            self.problems.append(Problem(self.record.line, column, value, str(invalid)))
            return None

    def fail(self, column: str, key: str, **values: object) -> None:
        """Record a problem with a column's value."""
        self.problems.append(_problem(self.record.line, column, self.record.values[column], key, **values))

    def valid(self, *columns: str) -> bool:
        """Whether none of these columns has a problem so far."""
        return not any(problem.column in columns for problem in self.problems)


def _text(value: str) -> str:
    if len(value) > TEXT_MAX_LENGTH:
        raise InvalidValue("import.reason.too_long", limit=TEXT_MAX_LENGTH)
    return value


def _census_code(value: str, code: str | None) -> str:
    if len(value) != 7 or not (value.isascii() and value.isdigit()) or not value.startswith(QUEBEC_CENSUS_PREFIX) \
            or (code is not None and value[2:] != code):
        raise InvalidValue("reference.reason.census_code")
    return value


def _population(value: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise InvalidValue("reference.reason.population")
    return int(value)


def _coordinate(value: str, bounds: tuple[float, float], key: str) -> float:
    # A spreadsheet saved in French writes 45,5816.
    text = value.replace(",", ".") if value.count(",") == 1 and "." not in value else value
    try:
        parsed = float(text)
    except ValueError:
        parsed = None
    if parsed is None or not bounds[0] <= parsed <= bounds[1]:
        raise InvalidValue(key, low=number(bounds[0]), high=number(bounds[1]))
    return parsed


def _date(value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValue("reference.reason.date") from None


def _organisation_code(value: str) -> str:
    if not ORGANISATION_CODE.fullmatch(value):
        raise InvalidValue("reference.reason.organisation_code")
    return value


def _kind(value: str) -> str:
    if value.lower() not in ORGANISATION_KINDS:
        raise InvalidValue("import.reason.choice", allowed=", ".join(ORGANISATION_KINDS))
    return value.lower()


def _services(value: str, services: dict[str, str]) -> tuple[str, ...]:
    named = [part.strip() for part in value.split(";") if part.strip()]
    unknown = [part for part in named if part.upper() not in services]
    if unknown:
        raise InvalidValue("reference.reason.unknown_services", codes=", ".join(unknown))
    codes = [services[part.upper()] for part in named]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise InvalidValue("reference.reason.repeated_service", codes=", ".join(repeated))
    if not codes:
        raise InvalidValue("import.reason.required")
    return tuple(codes)


def _period(row: _Row) -> tuple[date | None, date | None]:
    start = row.parsed("member_from", _date, required=False)
    end = row.parsed("member_until", _date, required=False)
    if start and end and end < start:
        row.fail("member_until", "reference.reason.until_before_from")
    return start, end


def _overlap(first: tuple[date | None, date | None], second: tuple[date | None, date | None]) -> bool:
    return (first[0] or date.min) <= (second[1] or date.max) and (second[0] or date.min) <= (first[1] or date.max)


@dataclass
class _Checked:
    """The rows a file brings, its problems, and where each key was first seen."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)
    link_lines: dict[tuple[str, str], int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _check_municipalities(records: list[CsvRecord], services: dict[str, str]) -> _Checked:
    checked = _Checked()
    keys: dict[tuple, int] = {}
    periods: dict[tuple[str, str], list[tuple[tuple, int]]] = {}
    for record in records:
        row = _Row(record)
        code = row.parsed("code", municipality_code_of)
        census = row.parsed("census_code", _census_code, code, required=False)
        name = row.parsed("name", _text)
        service = row.parsed("police_service", known_service, services)
        population = row.parsed("population_2021", _population)
        latitude = row.parsed("lat", _coordinate, LATITUDES, "reference.reason.latitude")
        longitude = row.parsed("lon", _coordinate, LONGITUDES, "reference.reason.longitude")
        period = _period(row)
        values = {"code": code, "census_code": census, "name": name, "population_2021": population,
                  "latitude": latitude, "longitude": longitude}
        if code and service and row.valid("member_from", "member_until"):
            key = (code, service, period[0])
            if key in keys:
                row.fail("code", "import.reason.duplicate_key", line=keys[key])
            else:
                keys[key] = record.line
                for other, line in periods.get((code, service), ()):
                    if _overlap(other, period):
                        row.fail("member_from", "reference.reason.overlap", line=line)
                        break
                periods.setdefault((code, service), []).append((period, record.line))
        first = checked.rows.get(code) if code else None
        if first is not None:
            # Several memberships of one municipality: its own values must be the same on each of its rows.
            for column, stored in first.items():
                shown = {"latitude": "lat", "longitude": "lon"}.get(column, column)
                if row.valid(shown) and values[column] != stored:
                    row.fail(shown, "reference.reason.differs", line=checked.lines[code])
        if record.extra_values:
            row.problems.append(_problem(record.line, "", "", "import.reason.extra_values"))
        if row.problems:
            checked.problems += row.problems
            continue
        if first is None:
            checked.rows[code], checked.lines[code] = values, record.line
        checked.link_lines.setdefault((code, service), record.line)
        checked.links.append({"municipality_code": code, "police_service": service, "member_from": period[0],
                              "member_until": period[1]})
    return checked


def _check_organisations(records: list[CsvRecord], services: dict[str, str]) -> _Checked:
    checked = _Checked()
    for record in records:
        row = _Row(record)
        code = row.parsed("code", _organisation_code)
        name_fr = row.parsed("name_fr", _text)
        name_en = row.parsed("name_en", _text)
        kind = row.parsed("kind", _kind)
        served = row.parsed("police_services", _services, services)
        period = _period(row)
        if code and code in checked.lines:
            row.fail("code", "import.reason.duplicate_key", line=checked.lines[code])
        elif code:
            checked.lines[code] = record.line
        if record.extra_values:
            row.problems.append(_problem(record.line, "", "", "import.reason.extra_values"))
        if row.problems:
            checked.problems += row.problems
            continue
        checked.rows[code] = {"code": code, "name_fr": name_fr, "name_en": name_en, "kind": kind}
        checked.links += [{"organisation_code": code, "police_service": service, "member_from": period[0],
                           "member_until": period[1]} for service in served]
        for service in served:
            checked.link_lines[(code, service)] = record.line
    return checked


@dataclass(frozen=True)
class _Kind:
    """What differs between the two reference files."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    check: Callable[[list[CsvRecord], dict[str, str]], _Checked]
    stored: Callable[[Connection], dict[str, StoredReference]]
    link_code: str
    table: Any
    # Tables the replacement rewrites itself: their rows do not keep a stored code from going.
    replaced: tuple
    store: Callable[..., None]


REFERENCE_KINDS = {
    "municipalities": _Kind(
        columns=MUNICIPALITY_COLUMNS,
        required=("code", "name", "police_service", "population_2021", "lat", "lon"),
        check=_check_municipalities, stored=stored_municipalities, link_code="municipality_code",
        table=municipality, replaced=(membership, municipality_boundary), store=store_municipalities,
    ),
    "organisations": _Kind(
        columns=ORGANISATION_COLUMNS,
        required=("code", "name_fr", "name_en", "kind", "police_services"),
        check=_check_organisations, stored=stored_organisations, link_code="organisation_code",
        table=organisation, replaced=(organisation_service,), store=store_organisations,
    ),
}


def _periods(links: list[dict[str, Any]], code_column: str) -> dict[str, tuple]:
    found: dict[str, list] = {}
    for link in links:
        found.setdefault(link[code_column], []).append((link["police_service"], link["member_from"],
                                                        link["member_until"]))
    return {code: tuple(sorted(periods, key=lambda p: (p[0], p[1] or date.min, p[2] or date.max)))
            for code, periods in found.items()}


def _compare(report: ReferenceReport, checked: _Checked, stored: dict[str, StoredReference], code_column: str) -> None:
    """Sort the file's codes into added, changed, unchanged; the stored codes it leaves out are removed."""
    new_periods = _periods(checked.links, code_column)
    added, changed, unchanged = [], [], 0
    for code, values in checked.rows.items():
        before = stored.get(code)
        if before is None:
            added.append(code)
        elif any(before.values.get(column) != value for column, value in values.items()) \
                or before.memberships != new_periods.get(code, ()):
            changed.append(code)
        else:
            unchanged += 1
    report.added, report.changed, report.unchanged = tuple(added), tuple(changed), unchanged
    report.removed = tuple(sorted(set(stored) - set(checked.rows)))


def _orphans(connection: Connection, report: ReferenceReport, spec: _Kind) -> list[Problem]:
    """Why stored codes missing from the file cannot go: rows still refer to them."""
    problems = []
    referring = rows_referring_to(connection, spec.table, report.removed, spec.replaced)
    for code in sorted(referring):
        tables = referring[code]
        if intervention.name in tables:
            problems.append(_problem(1, "code", code, "reference.refused.removed_interventions",
                                     count=number(tables[intervention.name])))
        else:
            problems.append(_problem(1, "code", code, "reference.refused.removed_rows",
                                     tables=", ".join(sorted(tables))))
    return problems


def _unserved(connection: Connection, report: ReferenceReport, checked: _Checked,
              stored: dict[str, StoredReference]) -> list[Problem]:
    """Stored interventions that the file's memberships would leave outside every period of their service."""
    new: dict[tuple[str, str], list] = {}
    for link in checked.links:
        new.setdefault((link["police_service"], link["municipality_code"]), []).append(
            (link["member_from"], link["member_until"]))
    before: dict[tuple[str, str], list] = {}
    for code, place in stored.items():
        if code in checked.rows:
            for service, start, end in place.memberships:
                before.setdefault((service, code), []).append((start, end))
    # Only the pairs whose periods change are read: a file sent back as it was reads no intervention.
    changing = {pair: new.get(pair, []) for pair, periods in before.items()
                if sorted(periods, key=_order) != sorted(new.get(pair, []), key=_order)}
    problems = []
    for found in unserved_interventions(connection, changing):
        pair = (found.municipality_code, found.police_service)
        # On the line of this service's (first) membership, else on the municipality's first line: it left.
        line = checked.link_lines.get(pair) or checked.lines[found.municipality_code]
        problems.append(_problem(line, "police_service", found.police_service, "reference.refused.unserved",
                                 count=number(found.interventions), service=found.police_service,
                                 first=day(found.first), last=day(found.last)))
    return problems


def _order(period: tuple) -> tuple:
    return (period[0] or date.min, period[1] or date.max)


def _file_problems(error: CsvFileError) -> list[Problem]:
    reason = t(f"import.file.{error.kind}", line=error.line)
    return [Problem(1, column, "", reason) for column in error.columns or ("",)]


def _checked_report(connection: Connection, kind: str, data: bytes, file_name: str) -> ReferenceReport:
    spec = REFERENCE_KINDS[kind]
    report = ReferenceReport(kind, file_name, hashlib.sha256(data).hexdigest())
    try:
        table = read_table(data, spec.columns, spec.required)
    except CsvFileError as error:
        report.file_problem, report.problems = True, _file_problems(error)
        return report
    report.delimiter, report.rows_read = table.delimiter, len(table.records)
    if not table.records:
        report.file_problem, report.problems = True, [_problem(1, "", "", "reference.file.empty")]
        return report
    services = {code.upper(): code for code in known_services(connection)}
    checked = spec.check(table.records, services)
    report.problems = checked.problems
    if report.problems:
        return report
    stored = spec.stored(connection)
    _compare(report, checked, stored, spec.link_code)
    report.problems = _orphans(connection, report, spec)
    if kind == "municipalities":
        report.problems += _unserved(connection, report, checked, stored)
    report.rows, report.links = list(checked.rows.values()), checked.links
    return report


def check_reference_file(bind: Engine | Connection, kind: str, data: bytes, file_name: str,
                         scope: Scope) -> ReferenceReport:
    """Every problem of a reference file and what replacing the stored rows with it would change; writes nothing."""
    allowed(scope)
    if kind not in REFERENCE_KINDS:
        raise ValueError(f"unknown reference kind {kind!r}: {', '.join(KINDS)}")
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return _checked_report(connection, kind, data, file_name)
    return _checked_report(bind, kind, data, file_name)


def replace_reference(engine: Engine, kind: str, data: bytes, file_name: str, *, subject: str,
                      scope: Scope) -> ReferenceReport:
    """Check the file again and, if nothing is wrong, replace the stored rows with it in one transaction, audited."""
    allowed(scope)
    if kind not in REFERENCE_KINDS:
        raise ValueError(f"unknown reference kind {kind!r}: {', '.join(KINDS)}")
    spec, started = REFERENCE_KINDS[kind], datetime.now(UTC)
    with engine.begin() as connection:
        report = _checked_report(connection, kind, data, file_name)
        if not report.acceptable:
            return report
        spec.store(connection, report.rows, report.links, removed=report.removed)
        report.batch_id = writes.insert_import_batch(connection, {
            "kind": kind, "file_name": file_name, "file_sha256": report.file_sha256, "imported_by": subject,
            "started_at": started, "finished_at": datetime.now(UTC), "status": "imported",
            "rows_read": report.rows_read, "rows_accepted": report.rows_read, "rows_rejected": 0, "problems": "[]",
            "demo": False, "police_service": None, "channel": "upload",
        })
        record_event(connection, subject=subject, roles=scope.roles, services=audit_services(scope), action=ACTION,
                     page="data", detail={"kind": kind, "file": file_name, "sha256": report.file_sha256,
                                          "batch_id": report.batch_id, "rows": report.rows_read,
                                          "added": len(report.added), "changed": len(report.changed),
                                          "removed": len(report.removed), "unchanged": report.unchanged})
        bump_version(connection)
        report.written = True
    return report
