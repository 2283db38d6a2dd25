"""The import of interventions and outreach files: every rule of the data contract, then one transaction."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import unicodedata
from collections.abc import Callable, Sequence
from contextlib import nullcontext, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from dashboard import settings
from dashboard.i18n import t
from dashboard.ingest.csv_file import CsvFileError, CsvRecord, column_name, read_table
from dashboard.ingest.problems import InvalidValue
from dashboard.ingest.pseudonyms import (
    KEY_RECIPE,
    PseudonymKeyError,
    checked_secrets,
    fingerprint,
    normalised_subject_key,
    pseudonym,
)
from dashboard.private_files import write_owner_only
from queries import precomputed, weekly, writes
from queries.freshness import bump_version
from queries.localtime import (
    EARLIEST_LOCAL_DATE,
    LATEST_LOCAL_DATE,
    TimestampError,
    epoch_microseconds,
    local_date,
    moment_columns,
    parse_timestamp,
)
from queries.reference import known_services
from queries.runner import chunks, read_only
from queries.schema import CHANNELS, OUTCOMES, REFERRALS, SUBJECT_ROLES

IDENTIFIER_MAX_LENGTH = 64
WRITE_CHUNK = 5_000
SILENT = partial(tqdm, disable=True)
RECORDED_PROBLEMS = 200
REASON_SEPARATOR = " ; "
# Columns whose refused values are neither reported nor written to the rejects file.
HIDDEN_COLUMNS = frozenset({"subject_key"})
BOOLEANS = {
    **dict.fromkeys(("true", "1", "yes", "y", "oui", "o", "vrai"), True),
    **dict.fromkeys(("false", "0", "no", "n", "non", "faux"), False),
}

Finding = tuple[str, str, str]
"""A problem of one row: column, value, reason."""


@dataclass(frozen=True)
class Problem:
    """Why a value, a row or the whole file was refused, where a spreadsheet shows it."""

    line: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class RejectedRow:
    """A row set aside: its line, its fields as written, and everything wrong with it."""

    line: int
    raw: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def reason(self) -> str:
        """The row's problems as one text, each naming its column."""
        return REASON_SEPARATOR.join(
            t("import.rejects.reason", column=problem.column, reason=problem.reason)
            if problem.column
            else problem.reason
            for problem in self.problems
        )


@dataclass
class ImportReport:
    """What an import read, refused and wrote."""

    kind: str
    file_name: str
    delimiter: str = ","
    header: tuple[str, ...] = ()
    rows_read: int = 0
    accepted: int = 0
    replaced: int = 0
    problems: list[Problem] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    status: str = "rejected"
    written: bool = False
    batch_id: int | None = None
    file_problem: bool = False
    check_seconds: float = 0.0
    write_seconds: float = 0.0
    demo: bool = False

    @property
    def new(self) -> int:
        """Rows written that were not stored before."""
        return self.accepted - self.replaced

    @property
    def rejected_count(self) -> int:
        """Rows set aside."""
        return len(self.rejected)

    @property
    def valid(self) -> int:
        """Rows that passed every check (those an import of the valid rows writes)."""
        return 0 if self.file_problem else self.rows_read - self.rejected_count


@dataclass(frozen=True)
class Reference:
    """What the database knows that rows are checked against."""

    services: dict[str, str]
    secrets: tuple[str, ...] = ()
    memberships: dict[tuple[str, str], list[tuple[date | None, date | None]]] = field(default_factory=dict)
    interventions: dict[tuple[str, str], writes.InterventionRef] = field(default_factory=dict)
    earliest_attempts: dict[tuple[str, str], int] = field(default_factory=dict)

    def serves(self, service: str, municipality: str, day: date | None) -> bool:
        """Whether the service served the municipality on that day (on any day when the day is unknown)."""
        return any(
            day is None or ((start is None or start <= day) and (end is None or day <= end))
            for start, end in self.memberships.get((service, municipality), ())
        )



def _identifier(value: str) -> str:
    if len(value) > IDENTIFIER_MAX_LENGTH:
        raise InvalidValue("import.reason.too_long", limit=IDENTIFIER_MAX_LENGTH)
    return value


def known_service(value: str, services: dict[str, str]) -> str:
    """A police service code as the database spells it (codes are case-insensitive), or InvalidValue."""
    try:
        return services[value.upper()]
    except KeyError:
        raise InvalidValue("import.reason.unknown_service") from None


def municipality_code_of(value: str) -> str:
    """A 5-digit municipal code, or InvalidValue."""
    if len(value) != 5 or not (value.isascii() and value.isdigit()):
        raise InvalidValue("import.reason.municipality_code")
    return value


def _timestamp(value: str) -> datetime:
    try:
        return parse_timestamp(value)
    except TimestampError as error:
        if str(error) == "range":
            raise InvalidValue("import.reason.timestamp_range", first=EARLIEST_LOCAL_DATE,
                               last=LATEST_LOCAL_DATE) from None
        raise InvalidValue("import.reason.timestamp") from None


def _control_characters(values: dict[str, str], columns: Sequence[str]) -> list[Finding]:
    """A finding for each column whose value holds a NUL or another control character, shown escaped."""
    findings = []
    for column in columns:
        value = values.get(column, "")
        if any(unicodedata.category(character) == "Cc" for character in value):
            shown = "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in value)
            findings.append((column, shown, t("import.reason.control_character")))
    return findings


def _subject_pseudonym(value: str, secrets: tuple[str, ...]) -> str:
    return pseudonym(normalised_subject_key(value), secrets)


def _boolean(value: str) -> bool:
    try:
        return BOOLEANS[value.lower()]
    except KeyError:
        raise InvalidValue("import.reason.boolean") from None


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise InvalidValue("import.reason.choice", allowed=", ".join(allowed))
    return value.lower()


class _RowCheck:
    """The findings on one row so far; each field is parsed on its own so that every problem is reported."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.findings: list[Finding] = []

    def parsed(self, column: str, parse: Callable = str, *args: Any, required: bool = True, default: Any = None) -> Any:
        """The parsed value of a column, its default when empty and optional, None when invalid."""
        value = self.values[column]
        if not value:
            if required:
                self.fail(column, "import.reason.required")
            return default
        try:
            return parse(value, *args)
        except InvalidValue as invalid:
            self.findings.append((column, value, str(invalid)))
            return None

    def fail(self, column: str, key: str, **values: object) -> None:
        """Record a problem with a column's value."""
        self.findings.append((column, self.values[column], t(key, **values)))


def check_intervention(values: dict[str, str], reference: Reference) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The intervention row to store, or the findings that refuse it."""
    check = _RowCheck(values)
    event_id = check.parsed("event_id", _identifier)
    service = check.parsed("police_service", known_service, reference.services)
    municipality = check.parsed("municipality_code", municipality_code_of)
    occurred = check.parsed("occurred_at", _timestamp)
    arrest = check.parsed("arrest", _boolean)
    arrested = None
    if arrest is False and values["arrested_at"]:
        check.fail("arrested_at", "import.reason.arrested_at_not_empty")
    elif arrest and not values["arrested_at"]:
        check.fail("arrested_at", "import.reason.arrested_at_required")
    elif values["arrested_at"]:
        arrested = check.parsed("arrested_at", _timestamp)
    subject_key = check.parsed("subject_key", _subject_pseudonym, reference.secrets, required=False)
    contact_ban = check.parsed("contact_ban", _boolean, required=False, default=False)
    if service and municipality and not reference.serves(service, municipality, occurred and local_date(occurred)):
        check.fail("municipality_code", "import.reason.municipality_outside_service")
    if occurred and arrested and arrested < occurred:
        check.fail("arrested_at", "import.reason.arrested_before_occurred")
    earliest = reference.earliest_attempts.get((service, event_id))
    not_before = arrested or occurred
    if earliest is not None and not_before and epoch_microseconds(not_before) > earliest:
        # A replacement must not leave stored attempts before the arrest (or the intervention) they follow.
        check.fail("arrested_at" if arrested else "occurred_at", "import.reason.after_stored_attempts")
    if check.findings:
        return None, check.findings
    return {
        "police_service": service,
        "event_id": event_id,
        "municipality_code": municipality,
        **moment_columns("occurred", occurred),
        "arrest": arrest,
        **moment_columns("arrested", arrested),
        "subject_key": subject_key,
        "contact_ban": contact_ban,
    }, []


def check_attempt(values: dict[str, str], reference: Reference) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The outreach attempt row to store, or the findings that refuse it."""
    check = _RowCheck(values)
    attempt_id = check.parsed("attempt_id", _identifier)
    service = check.parsed("police_service", known_service, reference.services)
    event_id = check.parsed("event_id", _identifier)
    attempted = check.parsed("attempted_at", _timestamp)
    subject_role = check.parsed("subject_role", _choice, SUBJECT_ROLES)
    outcome = check.parsed("outcome", _choice, OUTCOMES)
    channel = check.parsed("channel", _choice, CHANNELS, required=False)
    referral = check.parsed("referral", _choice, REFERRALS, required=False)
    target = reference.interventions.get((service, event_id))
    if service and event_id and target is None:
        check.fail("event_id", "import.reason.unknown_event")
    if target and attempted and epoch_microseconds(attempted) < target.not_before_us:
        check.fail("attempted_at", "import.reason.attempt_before_intervention")
    if check.findings:
        return None, check.findings
    return {
        "attempt_id": attempt_id,
        "intervention_id": target.id,
        "police_service": service,
        "event_id": event_id,
        **moment_columns("attempted", attempted, with_week=False),
        "subject_role": subject_role,
        "outcome": outcome,
        "channel": channel,
        "referral": referral,
    }, []


def _intervention_file_key(values: dict[str, str]) -> tuple[str, ...] | None:
    return (
        (values["police_service"].upper(), values["event_id"])
        if values["police_service"] and values["event_id"]
        else None
    )


def _attempt_file_key(values: dict[str, str]) -> tuple[str, ...] | None:
    return (
        (values["police_service"].upper(), values["attempt_id"])
        if values["police_service"] and values["attempt_id"]
        else None
    )


def _count_stored_interventions(connection: Connection, rows: list[dict[str, Any]]) -> int:
    return writes.count_stored_interventions(connection, ((row["police_service"], row["event_id"]) for row in rows))


def _count_stored_attempts(connection: Connection, rows: list[dict[str, Any]]) -> int:
    return writes.count_stored_attempts(connection, ((row["police_service"], row["attempt_id"]) for row in rows))


@dataclass(frozen=True)
class _Touched:
    """What a file of interventions changes, read before it is written."""

    subject_keys: set[tuple[str, str]]
    keyless_events: list[tuple[str, str]]
    weeks: set[tuple[str, str]]


def _interventions_touch(connection: Connection, rows: list[dict[str, Any]]) -> _Touched:
    """The subject keys and (service, week) pairs these rows bring and those of the rows they replace."""
    events = [(row["police_service"], row["event_id"]) for row in rows]
    brought = {(row["police_service"], row["subject_key"]) for row in rows if row["subject_key"]}
    # A row whose key was just removed is no longer found by its former key.
    keyless = [(row["police_service"], row["event_id"]) for row in rows if not row["subject_key"]]
    stored_keys, stored_weeks = writes.stored_keys_and_weeks_of(connection, events)
    return _Touched(brought | stored_keys, keyless, weekly.weeks_of(rows) | stored_weeks)


def _refresh_interventions(connection: Connection, touched: _Touched) -> None:
    relinked = precomputed.refresh_subject_links(connection, touched.subject_keys, touched.keyless_events)
    # A subject's new or moved intervention can make another week's intervention a repeat, or no longer one.
    weekly.refresh_weeks(connection, touched.weeks | relinked)


def _interventions_touched(connection: Connection, rows: list[dict[str, Any]]) -> set[int]:
    """The interventions these attempts follow and those the attempts they replace followed."""
    brought = {row["intervention_id"] for row in rows}
    return brought | writes.stored_attempt_interventions(connection, ((row["police_service"], row["attempt_id"])
                                                                      for row in rows))


@dataclass(frozen=True)
class ImportKind:
    """What differs between the two kinds of file."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    key_column: str
    file_key: Callable[[dict[str, str]], tuple[str, ...] | None]
    check: Callable[[dict[str, str], Reference], tuple[dict[str, Any] | None, list[Finding]]]
    count_stored: Callable[[Connection, list[dict[str, Any]]], int]
    upsert: Callable[[Connection, Sequence[dict[str, Any]]], None]
    # What the rows touch, read before they are written, and the stored values recomputed for it afterwards.
    touched: Callable[[Connection, list[dict[str, Any]]], Any]
    refresh: Callable[[Connection, Any], None]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the file may have."""
        return self.required + self.optional


KINDS = {
    "interventions": ImportKind(
        required=("event_id", "police_service", "municipality_code", "occurred_at", "arrest"),
        # arrested_at is required on the rows with an arrest, which check_intervention says row by row.
        optional=("arrested_at", "subject_key", "contact_ban"),
        key_column="event_id",
        file_key=_intervention_file_key,
        check=check_intervention,
        count_stored=_count_stored_interventions,
        upsert=writes.upsert_interventions,
        touched=_interventions_touch,
        refresh=_refresh_interventions,
    ),
    "outreach": ImportKind(
        required=("attempt_id", "police_service", "event_id", "attempted_at", "subject_role", "outcome"),
        optional=("channel", "referral"),
        key_column="attempt_id",
        file_key=_attempt_file_key,
        check=check_attempt,
        count_stored=_count_stored_attempts,
        upsert=writes.upsert_attempts,
        touched=_interventions_touched,
        refresh=precomputed.refresh_outreach,
    ),
}


def reference_for(connection: Connection, kind: str, records: list[CsvRecord],
                  secrets: tuple[str, ...] = ()) -> Reference:
    """What the file's rows are checked against: services, memberships, and the stored events they name."""
    services = {code.upper(): code for code in known_services(connection)}
    keys = {
        (services[record.values["police_service"].upper()], record.values["event_id"])
        for record in records
        if record.values["police_service"].upper() in services and record.values["event_id"]
        # PostgreSQL refuses a NUL in a bound parameter: such a row is refused before any look-up.
        and not _control_characters(record.values, ("event_id",))
    }
    if kind == "interventions":
        return Reference(services, secrets, memberships=writes.service_memberships(connection),
                         earliest_attempts=writes.earliest_attempts(connection, keys))
    return Reference(services, interventions=writes.interventions_by_key(connection, keys))


def check_records(
    spec: ImportKind, records: list[CsvRecord], reference: Reference, report: ImportReport, progress: Callable = iter,
    only_service: str | None = None, hidden: frozenset[int] = frozenset(), keep_rows: bool = True,
) -> list[dict[str, Any]]:
    """The rows to store (none kept unless `keep_rows`); every problem and refused row goes into the report (`hidden`
    raw fields blanked)."""
    rows = []
    first_lines: dict[tuple[str, ...], int] = {}
    for record in progress(records):
        # Control characters first: a row holding one is refused whatever else it says, and never shown raw.
        controls = _control_characters(record.values, spec.columns)
        if controls:
            tainted = {column for column, _value, _reason in controls}
            clean = {name: "" if name in tainted else value for name, value in record.values.items()}
            row, findings = None, controls + [found for found in spec.check(clean, reference)[1]
                                              if found[0] not in tainted]
        else:
            row, findings = spec.check(record.values, reference)
        named = reference.services.get(record.values["police_service"].upper())
        if only_service and named and named != only_service:
            findings.append(("police_service", record.values["police_service"],
                             t("import.reason.other_service", service=only_service)))
        key = spec.file_key(record.values)
        if key in first_lines:
            duplicate = t("import.reason.duplicate_key", line=first_lines[key])
            findings.append((spec.key_column, record.values[spec.key_column], duplicate))
        elif key is not None:
            first_lines[key] = record.line
        if record.extra_values:
            findings.append(("", "", t("import.reason.extra_values")))
        if findings:
            # What a refused subject key said is not kept anywhere: it may be a name or a real file number. In a row
            # whose fields do not line up with the header, any value may be a piece of it ("Tremblay, Jean").
            shifted = record.misaligned and bool(hidden)
            problems = tuple(Problem(record.line, column, "" if shifted or column in HIDDEN_COLUMNS else value, reason)
                             for column, value, reason in findings)
            report.problems.extend(problems)
            raw = tuple("" if shifted or index in hidden else field for index, field in enumerate(record.raw))
            report.rejected.append(RejectedRow(record.line, raw, problems))
        elif keep_rows:
            rows.append(row)
    return rows


def _file_problems(error: CsvFileError) -> list[Problem]:
    reason = t(f"import.file.{error.kind}", line=error.line)
    return [Problem(1, column, "", reason) for column in error.columns or ("",)]


def _now() -> datetime:
    return datetime.now(UTC)


def _importer_name(imported_by: str | None) -> str:
    return imported_by or settings.operator()


def _batch_values(report: ImportReport, data: bytes, imported_by: str | None, started: datetime,
                  demo: bool, service: str | None = None, channel: str = "command") -> dict[str, Any]:
    problems = [asdict(problem) for problem in report.problems[:RECORDED_PROBLEMS]]
    return {
        "demo": demo,
        "police_service": service,
        # The demo data's own files say so; a demo database's upload or dropped file keeps its way in.
        "channel": "demo" if demo and channel == "command" else channel,
        "kind": report.kind,
        "file_name": report.file_name,
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "imported_by": _importer_name(imported_by),
        "started_at": started,
        "finished_at": _now(),
        "status": report.status,
        "rows_read": report.rows_read,
        "rows_accepted": report.accepted,
        "rows_rejected": len(report.rejected),
        "problems": json.dumps(problems, ensure_ascii=False),
    }


def _write(
    connection: Connection, spec: ImportKind, rows: list[dict[str, Any]], batch: dict[str, Any], progress: Callable
) -> int:
    batch_id = writes.insert_import_batch(connection, batch)
    touched = spec.touched(connection, rows)
    with progress(total=len(rows), desc=t("import.progress.writing")) as bar:
        for chunk in chunks(rows, WRITE_CHUNK):
            for row in chunk:
                row["batch_id"], row["demo"] = batch_id, batch["demo"]
            spec.upsert(connection, chunk)
            bar.update(len(chunk))
    spec.refresh(connection, touched)
    if _confirms_hand_entries(spec, batch["channel"]):
        # A police file bringing a case a worker entered by hand: its values replaced hers, her attempts stay attached.
        confirmed = writes.confirm_hand_entries(connection, batch_id, _now())
        # Her attempts may now come before the extract's arrest: their summary counts them from the arrest.
        precomputed.refresh_outreach(connection, confirmed)
    writes.finish_import_batch(connection, batch_id, _now())
    bump_version(connection)
    return batch_id


def _confirms_hand_entries(spec: ImportKind, channel: str) -> bool:
    """Whether a batch of this kind and channel confirms the hand entries it brings (a police file of interventions)."""
    return spec is KINDS["interventions"] and channel != "form"


def _transaction(bind: Engine | Connection):
    # A caller's connection keeps its own transaction, so that several files (the demo data) land together.
    return bind.begin() if isinstance(bind, Engine) else nullcontext(bind)


def import_file(
    bind: Engine | Connection,
    kind: str,
    data: bytes,
    file_name: str,
    *,
    skip_invalid: bool = False,
    imported_by: str | None = None,
    progress: Callable[..., tqdm] = SILENT,
    service: str | None = None,
    demo: bool = False,
    replace_demo: bool = False,
    pseudonym_keys: Sequence[str] | None = None,
    channel: str = "command",
) -> ImportReport:
    """Check a whole file, then write its valid rows in one transaction, or nothing if any row is invalid.

    Given a connection rather than an engine, it works inside the caller's transaction. `progress` makes the bars
    that follow the checking and the writing (tqdm's signature); none is shown unless the caller passes one.
    `service` refuses rows of any other police service. Demo rows (`demo`) and real ones never share a database:
    real rows are refused while demo rows are stored, unless `replace_demo` removes those first. Subject keys are
    stored as keyed pseudonyms under `pseudonym_keys` (the settings' when not given); without one, an interventions
    file is refused. `channel` says how the file came (queries.schema.BATCH_CHANNELS); the batch row keeps it, with
    `service`.
    """
    started, clock = _now(), time.perf_counter()
    spec = KINDS[kind]
    report = ImportReport(kind, file_name)
    table, secrets = _opened(spec, data, report, pseudonym_keys, demo)
    if table is not None:
        try:
            with _transaction(bind) as connection:
                if mixed := _mixing_problem(connection, demo, replace_demo) or _key_problem(connection, secrets, demo):
                    report.file_problem, report.problems = True, [mixed]
                else:
                    _check_and_write(connection, spec, table.records, report, data, started, clock, progress,
                                     skip_invalid=skip_invalid, imported_by=imported_by, service=service,
                                     demo=demo, replace_demo=replace_demo, secrets=secrets, channel=channel)
        except Exception:
            report.status, report.written, report.accepted, report.replaced = "failed", False, 0, 0
            if isinstance(bind, Engine):
                # The writes are rolled back; the batch row says the run happened and failed. A database that
                # refuses this row too must not hide the first error behind its own.
                with suppress(SQLAlchemyError), bind.begin() as connection:
                    writes.insert_import_batch(connection, _batch_values(report, data, imported_by, started, demo,
                                                                         service, channel))
            raise
        report.write_seconds = time.perf_counter() - clock - report.check_seconds
    if not report.written:
        # Its own transaction: the refused attempt stays visible to administrators, with none of its rows.
        with _transaction(bind) as connection:
            report.batch_id = writes.insert_import_batch(
                connection, _batch_values(report, data, imported_by, started, demo, service, channel))
    return report


def _opened(spec: ImportKind, data: bytes, report: ImportReport, pseudonym_keys: Sequence[str] | None,
            demo: bool):
    """The file's table and the pseudonym secrets, or (None, ()) with the file's problem in the report."""
    secrets: tuple[str, ...] = ()
    try:
        if spec is KINDS["interventions"]:
            secrets = checked_secrets(settings.pseudonym_keys() if pseudonym_keys is None else pseudonym_keys,
                                      demo=demo)
        table = read_table(data, spec.columns, spec.required)
    except PseudonymKeyError as error:
        report.file_problem = True
        report.problems = [Problem(1, "", "", t(f"import.file.pseudonym_key.{error}", recipe=KEY_RECIPE))]
        return None, ()
    except CsvFileError as error:
        report.file_problem, report.problems = True, _file_problems(error)
        return None, ()
    report.delimiter, report.header, report.rows_read = table.delimiter, table.header, len(table.records)
    return table, secrets


def check_file(
    bind: Engine | Connection,
    kind: str,
    data: bytes,
    file_name: str,
    *,
    service: str | None = None,
    progress: Callable[..., tqdm] = SILENT,
    pseudonym_keys: Sequence[str] | None = None,
    demo: bool = False,
) -> ImportReport:
    """Every check import_file makes, in a transaction that writes nothing (not even a batch row): its report.

    Its status is "checked"; `valid` says how many rows an import of the valid rows would write, unless the database
    changes in between (import_file checks the file again).
    """
    clock = time.perf_counter()
    spec = KINDS[kind]
    report = ImportReport(kind, file_name, status="checked", demo=demo)
    table, secrets = _opened(spec, data, report, pseudonym_keys, demo=demo)
    if table is not None:
        with read_only(bind) as connection:
            if mixed := _mixing_problem(connection, demo, False) or _key_problem(connection, secrets, demo,
                                                                               record=False):
                report.file_problem, report.problems = True, [mixed]
            else:
                reference = reference_for(connection, kind, table.records, secrets)
                # A check keeps no row to store: a 100,000-row file's would weigh about 100 MB.
                check_records(spec, table.records, reference, report,
                              partial(progress, desc=t("import.progress.checking")), only_service=service,
                              hidden=_hidden_fields(report), keep_rows=False)
    report.check_seconds = time.perf_counter() - clock
    return report


def _hidden_fields(report: ImportReport) -> frozenset[int]:
    return frozenset(index for index, name in enumerate(report.header) if column_name(name) in HIDDEN_COLUMNS)


def _key_problem(connection: Connection, secrets: tuple[str, ...], demo: bool, record: bool = True) -> Problem | None:
    """Why these secrets may not pseudonymise this file (they are not those of the stored pseudonyms), or None;
    unless `record` is false, the first file's secrets are recorded as those later files must use."""
    if not secrets or demo:
        return None
    stored, current = writes.stored_fingerprint(connection), fingerprint(secrets)
    if stored is not None and stored != current:
        return Problem(1, "", "", t("import.file.pseudonym_key.mismatch"))
    if stored is None and record:
        # The first pseudonyms (or the first since none is stored) fix the chain later files must use.
        writes.set_fingerprint(connection, current)
    return None


def _mixing_problem(connection: Connection, demo: bool, replace_demo: bool) -> Problem | None:
    """Why this file may not join the stored rows (demo into real data, or real into demo data), or None."""
    if demo:
        real = writes.real_row_count(connection)
        return Problem(1, "", "", t("import.file.real_data", count=real)) if real else None
    stored = 0 if replace_demo else writes.demo_row_count(connection)
    return Problem(1, "", "", t("import.file.demo_data", count=stored)) if stored else None


def _check_and_write(connection: Connection, spec: ImportKind, records: list[CsvRecord], report: ImportReport,
                     data: bytes, started: datetime, clock: float, progress: Callable, *, skip_invalid: bool,
                     imported_by: str | None, service: str | None, demo: bool, replace_demo: bool,
                     secrets: tuple[str, ...], channel: str = "command") -> None:
    reference = reference_for(connection, report.kind, records, secrets)
    checking = partial(progress, desc=t("import.progress.checking"))
    rows = check_records(spec, records, reference, report, checking, only_service=service,
                         hidden=_hidden_fields(report))
    report.check_seconds = time.perf_counter() - clock
    if skip_invalid or not report.rejected:
        if replace_demo:
            writes.delete_demo_rows(connection)
        report.status = "partial" if report.rejected else "imported"
        report.accepted, report.replaced = len(rows), spec.count_stored(connection, rows)
        # A file of one service is that service's batch (freshness), whether or not the caller confined it.
        named = service or (rows[0]["police_service"] if len({row["police_service"] for row in rows}) == 1 else None)
        batch = _batch_values(report, data, imported_by, started, demo, named, channel)
        report.batch_id = _write(connection, spec, rows, batch, progress)
        report.written = True


def rejects_csv(report: ImportReport) -> bytes:
    """The refused rows as the file had them, plus line and reason; same delimiter, UTF-8 with BOM for spreadsheets."""
    width = len(report.header)
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=report.delimiter)
    writer.writerow([*report.header, "line", "reason"])
    for row in report.rejected:
        fields = list(row.raw[:width]) + [""] * (width - len(row.raw))
        # Values beyond the header's columns go last so that none is lost.
        writer.writerow([*fields, row.line, row.reason, *row.raw[width:]])
    return text.getvalue().encode("utf-8-sig")


def write_rejects(report: ImportReport, path: Path) -> None:
    """The rejects file (rejects_csv) at path."""
    # Refused rows are personal data: the file is its owner's alone (0600) from the start.
    write_owner_only(path, rejects_csv(report))
