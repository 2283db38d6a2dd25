"""Attempts a worker records in the app: the importer's checks and write path, one transaction with the audit row."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dashboard.i18n import t
from dashboard.ingest.csv_file import CsvRecord
from dashboard.ingest.importer import check_attempt, reference_for
from queries import writes
from queries.audit import audit_services, record_event
from queries.filters import Scope
from queries.freshness import bump_version
from queries.localtime import epoch_microseconds, moment_columns
from queries.precomputed import refresh_outreach
from queries.schema import SUBJECT_ROLES, attempt_revision, case_closure, intervention, outreach_attempt

# How long a worker may still correct or withdraw an attempt she recorded.
CORRECTION_WINDOW = timedelta(hours=24)
ATTEMPT_ID_PREFIX = "W-"
FORM_TOKEN = re.compile(r"[0-9a-f]{32}")
REVISED_COLUMNS = ("event_id", "attempted_at", "subject_role", "outcome", "channel", "referral")


@dataclass(frozen=True)
class Recorder:
    """Who records: the signed-in worker's subject, roles and police services."""

    subject: str
    scope: Scope


@dataclass(frozen=True)
class AttemptEntry:
    """What the form says of one attempt; the time is the worker's local date and time as written."""

    police_service: str
    event_id: str
    attempted_at: str
    subject_role: str
    outcome: str
    channel: str = ""
    referral: str = ""


class AttemptRefused(Exception):
    """The entry breaks a rule: (field, reason) pairs, every one found."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = problems


def _allowed(recorder: Recorder, service: str) -> None:
    """Deny by default: only a worker, and only in her own police services."""
    recorder.scope.require_role("worker")
    if not recorder.scope.allows(service):
        raise PermissionError(f"{service} is not among this worker's police services")


def _checked_row(connection: Connection, entry: AttemptEntry, attempt_id: str, now: datetime) -> dict:
    """The row the importer would store for this entry, or AttemptRefused with every problem."""
    values = {"attempt_id": attempt_id, "police_service": entry.police_service, "event_id": entry.event_id,
              "attempted_at": entry.attempted_at.strip(), "subject_role": entry.subject_role,
              "outcome": entry.outcome, "channel": entry.channel or "", "referral": entry.referral or ""}
    record = CsvRecord(line=1, values=values, raw=tuple(values.values()), extra_values=False)
    row, findings = check_attempt(values, reference_for(connection, "outreach", [record]))
    problems = [(column, reason) for column, _value, reason in findings]
    if row is not None and row["attempted_us"] > epoch_microseconds(now):
        problems.append(("attempted_at", t("worker.reason.future")))
    if problems:
        raise AttemptRefused(problems)
    return row


def _demo_flag(connection: Connection, intervention_id: int) -> bool:
    # An attempt on a demo intervention is demo data too: demo and real rows never mix.
    return bool(connection.scalar(select(intervention.c.demo).where(intervention.c.id == intervention_id)))


def _audit(connection: Connection, recorder: Recorder, action: str, detail: dict) -> None:
    record_event(connection, subject=recorder.subject, roles=recorder.scope.roles,
                 services=audit_services(recorder.scope), action=action, page="queue", detail=detail)


def new_form_token() -> str:
    """A token for one drawn attempt form: the attempt's id, so that the same form submitted again writes nothing."""
    return uuid.uuid4().hex


def attempt_saved(connection: Connection, service: str, attempt_id: str) -> bool:
    """Whether an attempt with this id is stored in this police service."""
    return connection.scalar(select(outreach_attempt.c.id).where(
        outreach_attempt.c.police_service == service, outreach_attempt.c.attempt_id == attempt_id)) is not None


def record_attempt(engine: Engine, entry: AttemptEntry, recorder: Recorder, now: datetime,
                   form_token: str | None = None) -> str:
    """Store a new attempt with its audit row; its id. The same form token again stores nothing and returns it."""
    _allowed(recorder, entry.police_service)
    token = new_form_token() if form_token is None else form_token
    if not FORM_TOKEN.fullmatch(token):
        raise ValueError("a form token is 32 lowercase hexadecimal digits, made by new_form_token")
    attempt_id = ATTEMPT_ID_PREFIX + token
    with engine.begin() as connection:
        if attempt_saved(connection, entry.police_service, attempt_id):
            return attempt_id
        row = _checked_row(connection, entry, attempt_id, now)
        row.update(recorded_by=recorder.subject, recorded_at=now, batch_id=None,
                   demo=_demo_flag(connection, row["intervention_id"]))
        try:
            with connection.begin_nested():
                connection.execute(insert(outreach_attempt).values(**row))
        except IntegrityError:
            # Only the unique key (police_service, attempt_id) means the same form was saved a moment before.
            if attempt_saved(connection, entry.police_service, attempt_id):
                return attempt_id
            raise
        refresh_outreach(connection, [row["intervention_id"]])
        _audit(connection, recorder, "attempt", {"attempt": attempt_id, "service": entry.police_service,
                                                 "outcome": entry.outcome, "subject_role": entry.subject_role})
        bump_version(connection)
    return attempt_id


def _own_recent_attempt(connection: Connection, service: str, attempt_id: str, recorder: Recorder, now: datetime):
    """The stored attempt, if this worker recorded it in the app less than 24 hours ago; else AttemptRefused."""
    stored = connection.execute(select(outreach_attempt).where(
        outreach_attempt.c.police_service == service, outreach_attempt.c.attempt_id == attempt_id)).first()
    if stored is None:
        raise AttemptRefused([("attempt_id", t("worker.reason.unknown_attempt"))])
    if stored.recorded_by != recorder.subject:
        raise AttemptRefused([("attempt_id", t("worker.reason.not_yours"))])
    if now - stored.recorded_at > CORRECTION_WINDOW:
        raise AttemptRefused([("attempt_id", t("worker.reason.too_late", hours=24))])
    return stored


def _keep_previous(connection: Connection, stored, change: str, recorder: Recorder, now: datetime) -> None:
    previous = {name: getattr(stored, name) for name in REVISED_COLUMNS}
    previous["attempted_at"] = stored.attempted_at.isoformat()
    connection.execute(insert(attempt_revision).values(
        intervention_id=stored.intervention_id, police_service=stored.police_service, attempt_id=stored.attempt_id,
        change=change, revised_at=now, revised_by=recorder.subject, previous=json.dumps(previous, sort_keys=True)))


def correct_attempt(engine: Engine, attempt_id: str, entry: AttemptEntry, recorder: Recorder, now: datetime) -> None:
    """Replace the values of the worker's own attempt of the last 24 hours, keeping the old ones."""
    _allowed(recorder, entry.police_service)
    with engine.begin() as connection:
        stored = _own_recent_attempt(connection, entry.police_service, attempt_id, recorder, now)
        if entry.event_id != stored.event_id:
            raise AttemptRefused([("event_id", t("worker.reason.other_event"))])
        row = _checked_row(connection, entry, attempt_id, now)
        _keep_previous(connection, stored, "correction", recorder, now)
        changed = {name: row[name] for name in ("subject_role", "outcome", "channel", "referral")}
        connection.execute(update(outreach_attempt).where(outreach_attempt.c.id == stored.id).values(
            **changed, **moment_columns("attempted", row["attempted_at"], with_week=False)))
        refresh_outreach(connection, [stored.intervention_id])
        _audit(connection, recorder, "attempt_corrected", {"attempt": attempt_id, "service": entry.police_service,
                                                           "outcome": entry.outcome})
        bump_version(connection)


def withdraw_attempt(engine: Engine, service: str, attempt_id: str, recorder: Recorder, now: datetime) -> None:
    """Remove the worker's own attempt of the last 24 hours, keeping what it said."""
    _allowed(recorder, service)
    with engine.begin() as connection:
        stored = _own_recent_attempt(connection, service, attempt_id, recorder, now)
        _keep_previous(connection, stored, "withdrawal", recorder, now)
        connection.execute(delete(outreach_attempt).where(outreach_attempt.c.id == stored.id))
        refresh_outreach(connection, [stored.intervention_id])
        _audit(connection, recorder, "attempt_withdrawn", {"attempt": attempt_id, "service": service})
        bump_version(connection)


def closure_of(connection: Connection, intervention_id: int, subject_role: str) -> int | None:
    """The id of this case's closure for this role, or None while it is open."""
    return connection.scalar(select(case_closure.c.id).where(case_closure.c.intervention_id == intervention_id,
                                                             case_closure.c.subject_role == subject_role))


def close_case(engine: Engine, service: str, event_id: str, subject_role: str, recorder: Recorder,
               now: datetime) -> None:
    """Take a case out of the queue without reaching the person; it counts as not reached, as before."""
    _allowed(recorder, service)
    if subject_role not in SUBJECT_ROLES:
        raise AttemptRefused([("subject_role", t("import.reason.choice", allowed=", ".join(SUBJECT_ROLES)))])
    with engine.begin() as connection:
        refs = writes.interventions_by_key(connection, [(service, event_id)])
        if (service, event_id) not in refs:
            raise AttemptRefused([("event_id", t("import.reason.unknown_event"))])
        intervention_id = refs[(service, event_id)].id
        if closure_of(connection, intervention_id, subject_role) is not None:
            return
        try:
            with connection.begin_nested():
                connection.execute(insert(case_closure).values(
                    intervention_id=intervention_id, subject_role=subject_role, closed_at=now,
                    closed_by=recorder.subject))
        except IntegrityError:
            # Only the unique key (intervention, role) means another worker closed it a moment before.
            if closure_of(connection, intervention_id, subject_role) is not None:
                return
            raise
        _audit(connection, recorder, "case_closed", {"event_id": event_id, "service": service,
                                                     "subject_role": subject_role})
        bump_version(connection)
