"""The statements of an import: reference look-ups, upserts on the natural keys, and the import_batch row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from queries.precomputed import refresh_subject_links
from queries.runner import LOOKUP_CHUNK, chunks
from queries.schema import import_batch, intervention, membership, outreach_attempt, pseudonym_check
from queries.weekly import refresh_weeks

INTERVENTION_KEY = ("police_service", "event_id")
# Attempt ids are the worker's log's, unique within a police service only.
ATTEMPT_KEY = ("police_service", "attempt_id")


@dataclass(frozen=True)
class InterventionRef:
    """What an outreach attempt needs of the intervention it follows."""

    id: int
    not_before_us: int


def _key_conditions(table: Table, column: str, keys: Iterable[tuple[str, str]]) -> Iterator[ColumnElement[bool]]:
    """Conditions matching these (police_service, identifier) keys, one service and chunk at a time."""
    identifiers: dict[str, set[str]] = defaultdict(set)
    for service, identifier in keys:
        identifiers[service].add(identifier)
    for service, ids in identifiers.items():
        for chunk in chunks(sorted(ids), LOOKUP_CHUNK):
            yield and_(table.c.police_service == service, table.c[column].in_(chunk))


def _intervention_key_conditions(keys: Iterable[tuple[str, str]]) -> Iterator[ColumnElement[bool]]:
    return _key_conditions(intervention, "event_id", keys)


def service_memberships(connection: Connection) -> dict[tuple[str, str], list[tuple[date | None, date | None]]]:
    """Every (service, municipality) pair with the periods it held, bounds inclusive, None open."""
    periods: dict[tuple[str, str], list[tuple[date | None, date | None]]] = defaultdict(list)
    statement = select(
        membership.c.police_service, membership.c.municipality_code, membership.c.member_from, membership.c.member_until
    )
    for service, code, start, end in connection.execute(statement):
        periods[(service, code)].append((start, end))
    return dict(periods)


def interventions_by_key(
    connection: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], InterventionRef]:
    """The stored interventions among these (service, event_id) keys, with the earliest time an attempt may have."""
    columns = (
        intervention.c.police_service,
        intervention.c.event_id,
        intervention.c.id,
        func.coalesce(intervention.c.arrested_us, intervention.c.occurred_us),
    )
    return {
        (service, event_id): InterventionRef(intervention_id, not_before_us)
        for condition in _intervention_key_conditions(keys)
        for service, event_id, intervention_id, not_before_us in connection.execute(select(*columns).where(condition))
    }


def earliest_attempts(connection: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """For the stored interventions among these keys that have outreach attempts, the earliest attempt's time; a
    hand entry has none."""
    statement = (
        select(intervention.c.police_service, intervention.c.event_id, func.min(outreach_attempt.c.attempted_us))
        .join(outreach_attempt, outreach_attempt.c.intervention_id == intervention.c.id)
        # The police's times win over the hand's: the extract replacing a hand entry may move its arrest after the
        # attempts recorded on it (the outreach summary then counts those at the arrest), and so may the same row
        # sent again in a later file once it is confirmed.
        .where(intervention.c.entered_by.is_(None))
        .group_by(intervention.c.police_service, intervention.c.event_id)
    )
    return {
        (service, event_id): earliest
        for condition in _intervention_key_conditions(keys)
        for service, event_id, earliest in connection.execute(statement.where(condition))
    }


def stored_keys_and_weeks_of(connection: Connection, keys: Iterable[tuple[str, str]]
                             ) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The (service, subject key) pairs and the (service, ISO week) pairs of the stored interventions among these
    (service, event_id) keys: what replacing them changes."""
    statement = select(intervention.c.police_service, intervention.c.subject_key, intervention.c.occurred_week)
    subject_keys, weeks = set(), set()
    for condition in _intervention_key_conditions(keys):
        for service, subject_key, week in connection.execute(statement.where(condition)):
            weeks.add((service, week))
            if subject_key:
                subject_keys.add((service, subject_key))
    return subject_keys, weeks


def stored_attempt_interventions(connection: Connection, keys: Iterable[tuple[str, str]]) -> set[int]:
    """The interventions that the stored attempts among these (service, attempt_id) keys follow."""
    statement = select(outreach_attempt.c.intervention_id)
    return {
        intervention_id
        for condition in _key_conditions(outreach_attempt, "attempt_id", keys)
        for (intervention_id,) in connection.execute(statement.where(condition))
    }


def count_stored_interventions(connection: Connection, keys: Iterable[tuple[str, str]]) -> int:
    """How many of these (service, event_id) keys are already stored."""
    return sum(
        connection.scalar(select(func.count()).select_from(intervention).where(condition))
        for condition in _intervention_key_conditions(keys)
    )


def count_stored_attempts(connection: Connection, keys: Iterable[tuple[str, str]]) -> int:
    """How many of these (service, attempt_id) keys are already stored."""
    return sum(
        connection.scalar(select(func.count()).select_from(outreach_attempt).where(condition))
        for condition in _key_conditions(outreach_attempt, "attempt_id", keys)
    )


def demo_row_count(connection: Connection) -> int:
    """Interventions loaded as demo data."""
    return connection.scalar(select(func.count()).select_from(intervention).where(intervention.c.demo))


def real_row_count(connection: Connection) -> int:
    """Interventions that are not demo data."""
    return connection.scalar(select(func.count()).select_from(intervention).where(~intervention.c.demo))


def shared_demo_subject_keys(connection: Connection) -> set[tuple[str, str]]:
    """(service, subject key) pairs found on demo and on real interventions alike."""
    keyed = intervention.c.subject_key.is_not(None)
    pairs = select(intervention.c.police_service, intervention.c.subject_key).distinct()
    demo = pairs.where(keyed, intervention.c.demo)
    real = pairs.where(keyed, ~intervention.c.demo)
    return {tuple(row) for row in connection.execute(demo.intersect(real))}


def delete_demo_rows(connection: Connection) -> None:
    """Remove the demo data: its attempts, its interventions, then the import batches that wrote them."""
    shared = shared_demo_subject_keys(connection)
    demo_weeks = (select(intervention.c.police_service, intervention.c.occurred_week).distinct()
                  .where(intervention.c.demo))
    weeks = {(service, week) for service, week in connection.execute(demo_weeks)}
    connection.execute(delete(outreach_attempt).where(outreach_attempt.c.demo))
    connection.execute(delete(intervention).where(intervention.c.demo))
    connection.execute(delete(import_batch).where(import_batch.c.demo))
    # The real interventions of a shared subject may no longer be repeats: their weeks are recounted too.
    refresh_weeks(connection, weeks | refresh_subject_links(connection, shared))


def upsert(connection: Connection, table, key: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, replacing every non-key column of a stored row with the same key."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    replaced = {name: statement.excluded[name] for name in rows[0] if name not in key}
    connection.execute(statement.on_conflict_do_update(index_elements=list(key), set_=replaced), list(rows))


def upsert_interventions(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert these interventions, replacing the stored one of the same (police_service, event_id)."""
    upsert(connection, intervention, INTERVENTION_KEY, rows)


def upsert_attempts(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert these outreach attempts, replacing the stored one of the same (police_service, attempt_id)."""
    upsert(connection, outreach_attempt, ATTEMPT_KEY, rows)


def insert_import_batch(connection: Connection, values: dict[str, Any]) -> int:
    """Record an import attempt; its id."""
    return connection.execute(import_batch.insert().returning(import_batch.c.id), values).scalar_one()


def imported_batch_by_hash(connection: Connection, file_sha256: str, kind: str, service: str) -> int | None:
    """The first batch that wrote a file of these bytes, kind and police service (imported or partly), or None."""
    statement = (select(import_batch.c.id)
                 .where(import_batch.c.file_sha256 == file_sha256, import_batch.c.kind == kind,
                        import_batch.c.police_service == service,
                        import_batch.c.status.in_(("imported", "partial")))
                 .order_by(import_batch.c.id).limit(1))
    return connection.execute(statement).scalar_one_or_none()


def insert_duplicate_batch(connection: Connection, values: dict[str, Any]) -> int:
    """Record a re-delivered file, which writes nothing, as a 'duplicate' batch; its id."""
    return insert_import_batch(connection, {**values, "status": "duplicate", "rows_read": 0, "rows_accepted": 0,
                                            "rows_rejected": 0, "problems": "[]"})


def confirm_hand_entries(connection: Connection, batch_id: int, confirmed_at) -> list[int]:
    """Mark the hand-entered cases this batch brought as confirmed by a police file; their ids."""
    statement = (update(intervention)
                 .where(intervention.c.batch_id == batch_id, intervention.c.entered_by.is_not(None),
                        intervention.c.confirmed_at.is_(None))
                 .values(confirmed_at=confirmed_at)
                 .returning(intervention.c.id))
    return list(connection.execute(statement).scalars())


def finish_import_batch(connection: Connection, batch_id: int, finished_at) -> None:
    """Set the time an import's writes ended."""
    connection.execute(update(import_batch).where(import_batch.c.id == batch_id).values(finished_at=finished_at))


def stored_subject_keys(connection: Connection) -> list[tuple[str, str]]:
    """Every (police_service, subject key) stored on real interventions."""
    statement = (select(intervention.c.police_service, intervention.c.subject_key).distinct()
                 .where(intervention.c.subject_key.is_not(None), ~intervention.c.demo))
    return [(service, key) for service, key in connection.execute(statement)]


def stored_fingerprint(connection: Connection) -> str | None:
    """The fingerprint of the secrets the stored pseudonyms were made with, when there are stored pseudonyms."""
    if not stored_subject_keys_exist(connection):
        return None
    return connection.scalar(select(pseudonym_check.c.fingerprint).where(pseudonym_check.c.id == 1))


def stored_subject_keys_exist(connection: Connection) -> bool:
    """Whether any real intervention holds a pseudonym."""
    return connection.scalar(select(exists().where(intervention.c.subject_key.is_not(None), ~intervention.c.demo)))


def set_fingerprint(connection: Connection, fingerprint: str) -> None:
    """Record the fingerprint of the secrets the stored pseudonyms are now made with."""
    upsert(connection, pseudonym_check, ("id",), [{"id": 1, "fingerprint": fingerprint, "set_at": datetime.now(UTC)}])


def replace_subject_keys(connection: Connection, changes: Sequence[tuple[str, str, str]]) -> int:
    """Replace stored subject keys: (service, stored, new) each; the number of interventions changed."""
    statement = (
        update(intervention)
        .where(intervention.c.police_service == bindparam("service"), intervention.c.subject_key == bindparam("old"),
               ~intervention.c.demo)
        .values(subject_key=bindparam("new"))
    )
    changed = 0
    for chunk in chunks(list(changes), LOOKUP_CHUNK):
        result = connection.execute(statement, [{"service": service, "old": old, "new": new}
                                                for service, old, new in chunk])
        changed += result.rowcount
    return changed
