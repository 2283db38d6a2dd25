"""The audit trail: who viewed or exported what, when; append-only."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, Select, Text, func, insert, literal, select, type_coerce
from sqlalchemy.exc import IntegrityError

from queries.filters import Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.runner import fetch_frame
from queries.schema import audit_checkpoint, audit_event, destruction_record

AUDIT_ROWS_SHOWN = 500
# Keys of an audit row's detail that name a case (the police event number): masked on the audit page.
CASE_IDENTIFIERS = frozenset({"event_id"})
MASKED = "•••"
ALL_SERVICES = "*"
GENESIS_HASH = "0" * 64
CHAINED_COLUMNS = ("occurred_at", "subject", "roles", "services", "action", "page", "filters", "detail")
CHAIN_ATTEMPTS = 20
# "RELAIS": the PostgreSQL advisory lock that orders audit appends (frozen in migration 0013's audit_append too).
AUDIT_LOCK = 0x52454C414953
# audit_append's arguments, in its order.
APPENDED_COLUMNS = ("subject", "roles", "services", "action", "page", "filters", "detail")
VERIFY_CHUNK = 10_000
DESTRUCTION_SIGNED = ("run_at", "run_by", "os_user", "kind", "older_than_years", "cutoff_date", "interventions",
                      "attempts", "audit_rows", "import_batches", "audit_anchor", "audit_last_id")
# A checkpoint's fields, every one of them signed.
CHECKPOINT_FIELDS = ("id", "written_at", "audit_id", "row_hash", "rows")
# Every kind of row the trail holds, in the order the audit page offers them.
AUDIT_ACTIONS = ("view", "export", "search", "sign_in", "sign_out", "session_refused", "refused", "metrics",
                 "import", "retention", "retention_period", "rekey", "checkpoint", "attempt", "attempt_corrected",
                 "attempt_withdrawn", "case_closed", "case_entered", "report", "alerts", "alert_sent", "init_db",
                 "geo_import", "demo_data", "ingest", "admin_mail", "reference_replaced", "freshness")


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to list: a local date range, optionally one subject and one action."""

    start: date
    end: date
    subject: str | None = None
    action: str | None = None


def audit_services(scope: Scope) -> str:
    """The police services a scope reads, as recorded on an audit row: codes comma-separated, or '*'."""
    return ALL_SERVICES if scope.all_services else ",".join(sorted(scope.services))


def chained_hash(previous_hash: str, values: dict) -> str:
    """SHA-256 of the previous row's hash and this row's content, in one canonical spelling on both databases."""
    content = {name: values[name] for name in CHAINED_COLUMNS}
    content["occurred_at"] = values["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds")
    payload = json.dumps([previous_hash, content], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _canonical(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_signature(key: str, record: str, values: Mapping, fields: tuple[str, ...]) -> str:
    """HMAC-SHA256 under the audit key of a record's fields, as canonical JSON naming the kind of record."""
    content = {"record": record, **{name: _canonical(values[name]) for name in fields}}
    payload = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def destruction_signature(key: str, values: Mapping) -> str:
    """The signature of a destruction record: everything it says, its anchor and the last row destroyed included."""
    return record_signature(key, "destruction_record", values, DESTRUCTION_SIGNED)


def checkpoint_signature(key: str, values: Mapping) -> str:
    """The signature of a checkpoint: its number, when, the chain's last row, its hash and how many rows."""
    return record_signature(key, "audit_checkpoint", values, CHECKPOINT_FIELDS)


def _signed(expected: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(expected, stored)


def _anchor_records(connection: Connection) -> list:
    """Every destruction record carrying an anchor, oldest first: the last is where the chain starts."""
    return connection.execute(select(destruction_record).where(destruction_record.c.audit_anchor.is_not(None))
                              .order_by(destruction_record.c.id)).all()


def _latest_anchor(connection: Connection):
    return connection.execute(select(destruction_record.c.audit_anchor, destruction_record.c.audit_last_id)
                              .where(destruction_record.c.audit_anchor.is_not(None))
                              .order_by(destruction_record.c.id.desc()).limit(1)).first()


def chain_head(connection: Connection) -> tuple[int, str]:
    """The id and hash a new row follows: the last row's, else the last destroyed row's, else 0 and the genesis."""
    last = connection.execute(select(audit_event.c.id, audit_event.c.row_hash)
                              .order_by(audit_event.c.id.desc()).limit(1)).first()
    if last is not None:
        return last.id, last.row_hash
    anchor = _latest_anchor(connection)
    return (anchor.audit_last_id or 0, anchor.audit_anchor) if anchor is not None else (0, GENESIS_HASH)


def _append(connection: Connection, values: dict) -> None:
    if connection.dialect.name == "postgresql":
        # The app's role may not insert audit rows: audit_append (migration 0013) sets the id, the time and the
        # chain itself, under the advisory lock that orders appends, with the same hash as chained_hash.
        arguments = [literal(values[name], Text) for name in APPENDED_COLUMNS]
        connection.execute(select(func.audit_append(*arguments)))
        return
    # SQLite's writers are one at a time already; a trigger refuses a row that does not take the next id, follow
    # the last row and bear the current time.
    last_id, previous = chain_head(connection)
    row = {**values, "occurred_at": datetime.now(UTC)}
    connection.execute(insert(audit_event).values(**row, id=last_id + 1, previous_hash=previous,
                                                  row_hash=chained_hash(previous, row)))


def record_event(
    bind: Engine | Connection,
    *,
    subject: str,
    roles: frozenset[str] | tuple[str, ...],
    action: str,
    services: str | None = None,
    page: str | None = None,
    filters: dict | None = None,
    detail: dict | None = None,
) -> None:
    """Append one audit row, chained to the row before it."""
    values = {
        "subject": subject,
        "roles": ",".join(sorted(roles)),
        "services": services,
        "action": action,
        "page": page,
        "filters": json.dumps(filters, ensure_ascii=False, sort_keys=True, default=str) if filters else None,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else None,
    }
    for attempt in range(CHAIN_ATTEMPTS):
        try:
            if isinstance(bind, Engine):
                with bind.begin() as connection:
                    _append(connection, values)
            else:
                with bind.begin_nested():
                    _append(bind, values)
            return
        except IntegrityError:
            # SQLite: another writer chained to the same last row first, or this row's time went stale while it
            # waited for the lock. PostgreSQL: audit_append chains under its lock, so a violation there is rare (a
            # row of the same previous_hash written past the function by the owner): read the last row again and
            # retry on both, at most CHAIN_ATTEMPTS times.
            if attempt == CHAIN_ATTEMPTS - 1:
                raise


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint as stored: its number, when, and the chain's last row then."""

    id: int
    written_at: datetime
    audit_id: int
    row_hash: str
    rows: int


@dataclass(frozen=True)
class ChainCheck:
    """What `audit verify` found: the rows, the first problem, the last link, the chain's start, its checkpoints."""

    rows: int
    # The first problem, and the row, destruction record or checkpoint it concerns.
    broken_id: int | None = None
    reason: str | None = None
    last_id: int | None = None
    last_hash: str | None = None
    # The destruction record whose anchor the chain follows (None: the genesis), and the last row it destroyed.
    start_record: int | None = None
    start_id: int = 0
    start_hash: str = GENESIS_HASH
    checkpoints: int = 0
    latest_checkpoint: Checkpoint | None = None
    rows_after_checkpoint: int = 0
    # Anchors and checkpoints, which only the key can check.
    signed_records: int = 0
    signatures_checked: bool = False
    # The row a broken checkpoint had signed.
    checkpoint_row: int | None = None
    # Every problem found, as (reason, id, row), the first one above.
    problems: tuple[tuple[str, int, int | None], ...] = ()


@dataclass
class _Walk:
    rows: int = 0
    last_id: int | None = None
    previous: str = GENESIS_HASH
    broken: tuple[str, int] | None = None
    seen: dict[int, str] = field(default_factory=dict)
    after_checkpoint: int = 0


def _stored_time(text: str | None) -> datetime | None:
    """A time as SQLite stores it (UTC, without its offset), or None if the text is no time."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _walk(connection: Connection, start_hash: str, watched: set[int], checkpointed_id: int) -> _Walk:
    """Follow the rows in id order from the chain's start; stop at the first whose link or content does not match."""
    # SQLite stores a time as text, which someone past the triggers may make anything: read it raw and parse it
    # here, so that a row with no time breaks the chain instead of the walk.
    raw_time = connection.dialect.name == "sqlite"
    columns = [audit_event.c.id, audit_event.c.previous_hash, audit_event.c.row_hash,
               *(type_coerce(audit_event.c[name], Text).label(name) if raw_time and name == "occurred_at"
                 else audit_event.c[name] for name in CHAINED_COLUMNS)]
    statement = select(*columns).order_by(audit_event.c.id).execution_options(yield_per=VERIFY_CHUNK)
    walk = _Walk(previous=start_hash)
    for row in connection.execute(statement):
        values = row._asdict()
        if raw_time:
            values["occurred_at"] = _stored_time(values["occurred_at"])
            if values["occurred_at"] is None:
                walk.broken = ("time", values["id"])
                break
        if values["previous_hash"] != walk.previous:
            walk.broken = ("link", values["id"])
            break
        if chained_hash(walk.previous, values) != values["row_hash"]:
            walk.broken = ("content", values["id"])
            break
        if values["id"] in watched:
            walk.seen[values["id"]] = values["row_hash"]
        if values["id"] > checkpointed_id:
            walk.after_checkpoint += 1
        walk.previous, walk.rows, walk.last_id = values["row_hash"], walk.rows + 1, values["id"]
    return walk


def _checkpoint_problem(checkpoint, walk: _Walk, start_id: int, start_hash: str,
                        destroyed: dict[int, str]) -> bool:
    """Whether a checkpoint's row is no longer the one it signed: missing, rewritten, or destroyed otherwise."""
    if checkpoint.audit_id > start_id:
        return walk.seen.get(checkpoint.audit_id) != checkpoint.row_hash
    if checkpoint.audit_id == start_id:
        return checkpoint.row_hash != start_hash
    # Destroyed since by retention: only a destruction that ended at this very row still knows its hash.
    return checkpoint.audit_id in destroyed and destroyed[checkpoint.audit_id] != checkpoint.row_hash


def _signed_checkpoints(checkpoints: list, key: str | None) -> tuple[list, list]:
    """The checkpoints to trust and the ones whose signature fails: without the key, all are taken as stored."""
    if key is None:
        return checkpoints, []
    valid, forged = [], []
    for checkpoint in checkpoints:
        signed = _signed(checkpoint_signature(key, checkpoint._asdict()), checkpoint.signature)
        (valid if signed else forged).append(checkpoint)
    return valid, forged


def _missing_checkpoint(checkpoints: list, trusted: list, key: str | None) -> int | None:
    """The first checkpoint number with no row at all: up to the latest trusted one with the key, else up to the
    count of rows (a forged number far ahead is reported by its signature, not as thousands of gaps)."""
    numbers = {checkpoint.id for checkpoint in checkpoints}
    highest = (trusted[-1].id if trusted else 0) if key is not None else len(checkpoints)
    return next((number for number in range(1, highest + 1) if number not in numbers), None)


def _expected_problem(row_id: int, row_hash: str, walk: _Walk, start_id: int, start_hash: str,
                      signed_ends: dict[int, str]) -> bool:
    """Whether a row known from outside the database (a checkpoint's printed line) is missing or differs, and no
    signed destruction covers it."""
    if row_id > start_id:
        return walk.seen.get(row_id) != row_hash
    if row_id == start_id:
        return row_hash != start_hash
    if row_id in signed_ends:
        return signed_ends[row_id] != row_hash
    return not any(end > row_id for end in signed_ends)


def _unsigned_destructions(records: list, key: str) -> list[int]:
    """Destruction records without an anchor whose signature fails: a signed one altered, or an unsigned one after
    the first signed (the ones before it were written before the key signed every record)."""
    first_signed = next((index for index, record in enumerate(records) if record.signature is not None), len(records))
    return [record.id for record in records[first_signed:]
            if not _signed(destruction_signature(key, record._asdict()), record.signature)]


def verify_chain(bind: Engine | Connection, key: str | None = None,
                 expected: tuple[tuple[int, str], ...] = ()) -> ChainCheck:
    """Walk the chain from the genesis or the latest anchor, check each checkpoint's row and each expected row, and
    with the key every signature."""
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as connection:
        anchors = _anchor_records(connection)
        records = connection.execute(select(destruction_record).where(destruction_record.c.audit_anchor.is_(None))
                                     .order_by(destruction_record.c.id)).all() if key is not None else []
        checkpoints = connection.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.id)).all()
        # With the key, a checkpoint that fails its signature asserts nothing: it is reported, and neither the
        # latest checkpoint nor the rows written since are judged by it (a forged number far ahead would hide them).
        trusted, forged = _signed_checkpoints(checkpoints, key)
        start = anchors[-1] if anchors else None
        start_id, start_hash = (start.audit_last_id or 0, start.audit_anchor) if start else (0, GENESIS_HASH)
        watched = {checkpoint.audit_id for checkpoint in trusted if checkpoint.audit_id > start_id}
        watched |= {row_id for row_id, _hash in expected}
        walk = _walk(connection, start_hash, watched, trusted[-1].audit_id if trusted else -1)
    problems: list[tuple[str, int, int | None]] = []
    if key is not None:
        problems += [("anchor", record.id, None) for record in anchors
                     if not _signed(destruction_signature(key, record._asdict()), record.signature)]
        problems += [("destruction_signature", record_id, None) for record_id in _unsigned_destructions(records, key)]
        problems += [("checkpoint_signature", checkpoint.id, None) for checkpoint in forged]
    missing = _missing_checkpoint(checkpoints, trusted, key)
    if missing is not None:
        problems.append(("checkpoint_missing", missing, None))
    if walk.broken is not None:
        problems.append((*walk.broken, None))
    destroyed = {record.audit_last_id: record.audit_anchor for record in anchors if record.audit_last_id is not None}
    problems += [("checkpoint_row", checkpoint.id, checkpoint.audit_id) for checkpoint in trusted
                 if walk.broken is None and _checkpoint_problem(checkpoint, walk, start_id, start_hash, destroyed)]
    # Rows whose id and hash were kept outside (a checkpoint's line): the owner who removes the latest checkpoints
    # and the rows they covered from the tail leaves a chain that holds, but not these rows. Only a destruction
    # signed with the key may have removed them.
    signed_ends = {record.audit_last_id: record.audit_anchor for record in anchors
                   if key is not None and record.audit_last_id is not None
                   and _signed(destruction_signature(key, record._asdict()), record.signature)}
    problems += [("expected", row_id, None) for row_id, row_hash in expected
                 if walk.broken is None and _expected_problem(row_id, row_hash, walk, start_id, start_hash,
                                                              signed_ends)]
    latest = Checkpoint(**{name: getattr(trusted[-1], name) for name in CHECKPOINT_FIELDS}) if trusted else None
    reason, broken_id, checkpoint_row = problems[0] if problems else (None, None, None)
    return ChainCheck(
        rows=walk.rows, broken_id=broken_id, reason=reason, last_id=walk.last_id,
        last_hash=walk.previous if walk.last_id is not None else None, start_record=start.id if start else None,
        start_id=start_id, start_hash=start_hash, checkpoints=len(trusted), latest_checkpoint=latest,
        rows_after_checkpoint=walk.after_checkpoint,
        signed_records=len(anchors) + len(checkpoints) + sum(record.signature is not None for record in records),
        signatures_checked=key is not None, checkpoint_row=checkpoint_row, problems=tuple(problems))


def forged_checkpoints_only(check: ChainCheck) -> bool:
    """Whether every problem is a checkpoint whose signature fails: the chain and every signed record hold."""
    return bool(check.problems) and all(reason == "checkpoint_signature" for reason, _id, _row in check.problems)


def may_write_checkpoints(connection: Connection) -> bool:
    """Whether this connection's role may add a checkpoint (on PostgreSQL the owner's alone, not the app's)."""
    if connection.dialect.name != "postgresql":
        return True
    return bool(connection.scalar(select(func.has_table_privilege(func.current_user(), "audit_checkpoint",
                                                                  "INSERT"))))


def write_checkpoint(connection: Connection, key: str, check: ChainCheck, now: datetime) -> Checkpoint:
    """Sign the head of the chain `check` found intact, numbered after its latest signed checkpoint (skipping any
    number a forged row took, which stays reported)."""
    audit_id, row_hash = ((check.last_id, check.last_hash) if check.last_id is not None
                          else (check.start_id, check.start_hash))
    after = check.latest_checkpoint.id if check.latest_checkpoint is not None else 0
    taken = set(connection.scalars(select(audit_checkpoint.c.id).where(audit_checkpoint.c.id > after)))
    number = next(candidate for candidate in range(after + 1, after + len(taken) + 2) if candidate not in taken)
    checkpoint = Checkpoint(number, now, audit_id, row_hash, check.rows)
    connection.execute(insert(audit_checkpoint).values(**asdict(checkpoint),
                                                       signature=checkpoint_signature(key, asdict(checkpoint))))
    return checkpoint


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def audit_statement(flt: AuditFilter) -> Select:
    """The newest audit rows of the filter's local days, at most AUDIT_ROWS_SHOWN."""
    statement = (
        select(
            audit_event.c.occurred_at,
            audit_event.c.subject,
            audit_event.c.roles,
            audit_event.c.services,
            audit_event.c.action,
            audit_event.c.page,
            audit_event.c.filters,
            audit_event.c.detail,
        )
        .where(
            audit_event.c.occurred_at >= _local_midnight_utc(flt.start),
            audit_event.c.occurred_at < _local_midnight_utc(flt.end + timedelta(days=1)),
        )
        .order_by(audit_event.c.occurred_at.desc(), audit_event.c.id.desc())
        .limit(AUDIT_ROWS_SHOWN)
    )
    if flt.subject:
        statement = statement.where(audit_event.c.subject == flt.subject)
    if flt.action:
        statement = statement.where(audit_event.c.action == flt.action)
    return statement


def without_case_identifiers(detail: object) -> object:
    """A row's detail as an administrator may read it: the event numbers it names are masked."""
    # A row without detail reaches pandas as a missing value, not a string.
    if not isinstance(detail, str) or not detail:
        return detail
    values = json.loads(detail)
    if not isinstance(values, dict) or not CASE_IDENTIFIERS & values.keys():
        return detail
    masked = {name: MASKED if name in CASE_IDENTIFIERS and value is not None else value
              for name, value in values.items()}
    return json.dumps(masked, ensure_ascii=False, sort_keys=True, default=str)


def audit_events(bind: Engine | Connection, flt: AuditFilter, scope: Scope) -> pd.DataFrame:
    """Audit rows for an administrator, without case-level identifiers; anyone else is refused before the query
    runs."""
    scope.require_role("admin")
    frame = fetch_frame(bind, audit_statement(flt))
    # The row names the event, so that an inquiry can follow it; the administrator sees no case-level data (DESIGN).
    return frame.assign(detail=frame["detail"].map(without_case_identifiers)) if not frame.empty else frame


def audit_subjects(bind: Engine | Connection, scope: Scope) -> list[str]:
    """Every subject that appears in the audit trail, for the administrator's filter."""
    scope.require_role("admin")
    frame = fetch_frame(bind, select(audit_event.c.subject).distinct().order_by(audit_event.c.subject))
    return list(frame["subject"])
