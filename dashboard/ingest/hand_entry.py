"""Cases a worker enters by hand from the police report she read: the importer's checks and writes, one transaction
with the audit row, until the police extract brings the same event and replaces her values."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, exists, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard import settings
from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.i18n import t
from dashboard.ingest.csv_file import CsvRecord
from dashboard.ingest.importer import KEY_RECIPE, KINDS, check_intervention, reference_for
from dashboard.ingest.pseudonyms import PseudonymKeyError, checked_secrets, fingerprint
from dashboard.ingest.worker_log import Recorder
from queries import writes
from queries.audit import audit_services, record_event
from queries.freshness import bump_version
from queries.localtime import TimestampError, parse_timestamp
from queries.schema import import_batch, intervention

FORM_TOKEN = re.compile(r"[0-9a-f]{32}")
# What the batch row of a hand entry names as its file: there is none.
FORM_FILE_NAME = "form"
CHANNEL = "form"
KIND = "interventions"


@dataclass(frozen=True)
class CaseEntry:
    """What the form says of one case; times are the worker's local date and time as written."""

    police_service: str
    event_id: str
    municipality_code: str
    occurred_at: str
    arrest: bool = True
    arrested_at: str = ""
    contact_ban: bool = False
    # Typed once and pseudonymised at once; kept out of the repr, so that no traceback or log line shows it.
    subject_key: str = field(default="", repr=False)


class CaseRefused(Exception):
    """The entry breaks a rule: (field, reason) pairs, every one found; never the values themselves."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in problems))
        self.problems = problems


class _Taken(Exception):
    """The event number was stored by another transaction between the check and the insert."""


def new_form_token() -> str:
    """A token for one drawn intake form, so that the same form submitted again stores nothing."""
    return uuid.uuid4().hex


def form_hash(token: str) -> str:
    """The batch's file hash for a form: of its token, not of its values (a hash of a record number is no secret)."""
    return hashlib.sha256(f"{CHANNEL}:{token}".encode()).hexdigest()


def _allowed(recorder: Recorder, service: str) -> None:
    """Deny by default: only a worker, and only in her own police services."""
    recorder.scope.require_role("worker")
    if not recorder.scope.allows(service):
        raise PermissionError(f"{service} is not among this worker's police services")


def _saved(connection: Connection, token_hash: str) -> bool:
    """Whether the case of this form is stored already."""
    return bool(connection.scalar(select(exists().where(
        import_batch.c.channel == CHANNEL, import_batch.c.file_sha256 == token_hash,
        import_batch.c.status == "imported"))))


def _secrets(connection: Connection, demo: bool) -> tuple[str, ...]:
    """The pseudonym chain, as the importer judges it: the demo's key for demo rows, the deployment's otherwise."""
    try:
        secrets = checked_secrets(DEMO_PSEUDONYM_KEYS if demo else settings.pseudonym_keys(), demo=demo)
    except PseudonymKeyError as error:
        raise CaseRefused([("subject_key", t(f"import.file.pseudonym_key.{error}", recipe=KEY_RECIPE))]) from None
    if not demo:
        stored = writes.stored_fingerprint(connection)
        if stored is not None and stored != fingerprint(secrets):
            raise CaseRefused([("subject_key", t("import.file.pseudonym_key.mismatch"))])
        if stored is None:
            writes.set_fingerprint(connection, fingerprint(secrets))
    return secrets


def _values(entry: CaseEntry) -> dict[str, str]:
    """The entry as a row of interventions.csv, spaces trimmed as the file reader trims them."""
    return {
        "event_id": entry.event_id.strip(),
        "police_service": entry.police_service.strip(),
        "municipality_code": entry.municipality_code.strip(),
        "occurred_at": entry.occurred_at.strip(),
        "arrest": "true" if entry.arrest else "false",
        "arrested_at": entry.arrested_at.strip() if entry.arrest else "",
        "subject_key": entry.subject_key.strip(),
        "contact_ban": "true" if entry.contact_ban else "false",
    }


def _checked_row(connection: Connection, entry: CaseEntry, secrets: tuple[str, ...], now: datetime) -> dict:
    """The row the importer would store for this entry, or CaseRefused with every problem (without the values)."""
    values = _values(entry)
    # Refused before any look-up, as the importer refuses them (PostgreSQL refuses a NUL in a bound parameter).
    controls = [(column, t("import.reason.control_character")) for column, value in values.items()
                if any(unicodedata.category(character) == "Cc" for character in value)]
    if controls:
        raise CaseRefused(controls)
    record = CsvRecord(line=1, values=values, raw=(), extra_values=False)
    # A hand entry never replaces a stored case (refused below): the attempts of one it names are not its concern.
    reference = replace(reference_for(connection, KIND, [record], secrets), earliest_attempts={})
    row, findings = check_intervention(values, reference)
    problems = [(column, reason) for column, _value, reason in findings]
    service = reference.services.get(values["police_service"].upper())
    if service and values["event_id"] and writes.interventions_by_key(connection, [(service, values["event_id"])]):
        problems.append(("event_id", t("intake.reason.exists")))
    for column in ("occurred_at", "arrested_at"):
        with suppress(TimestampError):
            if values[column] and parse_timestamp(values[column]) > now:
                problems.append((column, t("intake.reason.future")))
    if problems:
        raise CaseRefused(problems)
    return row


def _batch(service: str, token_hash: str, recorder: Recorder, now: datetime, demo: bool) -> dict:
    return {"demo": demo, "police_service": service, "channel": CHANNEL, "kind": KIND, "file_name": FORM_FILE_NAME,
            "file_sha256": token_hash, "imported_by": recorder.subject, "started_at": now, "finished_at": now,
            "status": "imported", "rows_read": 1, "rows_accepted": 1, "rows_rejected": 0, "problems": "[]"}


def enter_case(engine: Engine, entry: CaseEntry, recorder: Recorder, now: datetime,
               form_token: str | None = None) -> str:
    """Store a case entered by hand, with its batch and audit rows; its event number. The same form token again
    stores nothing and returns it."""
    _allowed(recorder, entry.police_service)
    token = new_form_token() if form_token is None else form_token
    if not FORM_TOKEN.fullmatch(token):
        raise ValueError("a form token is 32 lowercase hexadecimal digits, made by new_form_token")
    token_hash, event_id = form_hash(token), entry.event_id.strip()
    try:
        with engine.begin() as connection:
            if _saved(connection, token_hash):
                return event_id
            # Demo and real rows never mix: in the demo's database a hand entry is demo data too.
            demo = writes.demo_row_count(connection) > 0
            row = _checked_row(connection, entry, _secrets(connection, demo), now)
            spec = KINDS[KIND]
            batch_id = writes.insert_import_batch(connection, _batch(row["police_service"], token_hash, recorder,
                                                                     now, demo))
            touched = spec.touched(connection, [row])
            row.update(batch_id=batch_id, demo=demo, entered_by=recorder.subject, entered_at=now)
            try:
                connection.execute(insert(intervention).values(**row))
            except IntegrityError:
                # Not an upsert: another worker's entry (or the police file) of the same event stays as it is.
                raise _Taken from None
            spec.refresh(connection, touched)
            writes.finish_import_batch(connection, batch_id, now)
            # The event number is kept for an inquiry; the audit page masks it for administrators.
            record_event(connection, subject=recorder.subject, roles=recorder.scope.roles,
                         services=audit_services(recorder.scope), action="case_entered", page="queue",
                         detail={"event_id": event_id, "service": row["police_service"], "batch": batch_id,
                                 "arrest": row["arrest"]})
            bump_version(connection)
    except _Taken:
        with engine.connect() as connection:
            if _saved(connection, token_hash):
                return event_id
        raise CaseRefused([("event_id", t("intake.reason.exists"))]) from None
    return event_id
