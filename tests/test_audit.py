"""The audit trail is append-only on both databases, chained by hash, anchored by signatures outside the database
and verified by a command; the app's PostgreSQL role appends only through audit_append and changes no evidence."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, delete, exc, func, insert, select, text, update

from dashboard.database import build_engine
from dashboard.scratch import scratch_postgres_url
from dashboard.settings import PROJECT_ROOT
from queries.audit import (
    GENESIS_HASH,
    chain_head,
    chained_hash,
    checkpoint_signature,
    destruction_signature,
    record_event,
    verify_chain,
    write_checkpoint,
)
from queries.migrate import alembic_config, upgrade_to_head
from queries.reference import load_reference
from queries.retention import destroy_audit, record_destruction
from queries.schema import (
    attempt_revision,
    audit_checkpoint,
    audit_event,
    case_closure,
    destruction_record,
    import_batch,
    intervention,
    pseudonym_check,
)
from tests.backends import empty_database
from tests.conftest import TEST_PSEUDONYM_KEY

ROLES_SCRIPT = PROJECT_ROOT / "queries" / "sql" / "postgresql_roles.sql"
# Test-only keys, strong enough for dashboard/secret_strength.py; the second plays a forger's key.
AUDIT_KEY = "tests-only audit key, never a real one: 7Qx9-LmZ2pRt4vWb8NcKd3Hs"
OTHER_KEY = "another tests-only audit key: J4r8-Pq2Zk7Wm3Tn9Bv6Yc1"


def _record(engine, count: int, subject: str = "alice") -> None:
    for index in range(count):
        record_event(engine, subject=subject, roles=("captain",), services="RIPRSL", action="view",
                     page="overview", filters={"n": index})


def _rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(audit_event).order_by(audit_event.c.id)).all()


def _without_triggers(engine, *statements, table: str = "audit_event") -> None:
    """What someone with the file or a superuser could do: change the table past its triggers."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for statement in statements:
                connection.execute(statement)
        else:
            triggers = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)).all()
            for name, _sql in triggers:
                connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
            for statement in statements:
                connection.execute(statement)
            for _name, sql in triggers:
                connection.exec_driver_sql(sql)


def _old_rows(engine, *moments: datetime) -> None:
    """Rows written at these past moments, chained as audit_append would have (as if Relais had run back then)."""
    for moment in moments:
        with engine.connect() as connection:
            _last_id, previous = chain_head(connection)
        values = {"occurred_at": moment, "subject": "old", "roles": "captain", "services": "RIPRSL",
                  "action": "view", "page": "overview", "filters": None, "detail": None}
        _without_triggers(engine, insert(audit_event).values(**values, previous_hash=previous,
                                                             row_hash=chained_hash(previous, values)))


def _checkpoint(engine, key: str = AUDIT_KEY):
    with engine.begin() as connection:
        return write_checkpoint(connection, key, verify_chain(engine, key), datetime.now(UTC))


def test_each_row_chains_to_the_one_before(engine):
    _record(engine, 3)
    rows = _rows(engine)
    assert [row.previous_hash for row in rows] == [GENESIS_HASH, rows[0].row_hash, rows[1].row_hash]
    for row, previous in zip(rows, [GENESIS_HASH, rows[0].row_hash, rows[1].row_hash]):
        assert row.row_hash == chained_hash(previous, row._asdict())
    check = verify_chain(engine)
    assert (check.rows, check.broken_id, check.last_id, check.last_hash) == (3, None, rows[2].id, rows[2].row_hash)
    assert {row.services for row in rows} == {"RIPRSL"}


def test_an_empty_trail_verifies(engine):
    check = verify_chain(engine)
    assert (check.rows, check.broken_id, check.last_id) == (0, None, None)


def test_insert_or_replace_cannot_rewrite_a_row(engine):
    _record(engine, 2)
    first = _rows(engine)[0]
    values = {**first._asdict(), "subject": "mallory"}
    if engine.dialect.name == "sqlite":
        with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(insert(audit_event).prefix_with("OR REPLACE").values(**values))
    else:
        from sqlalchemy.dialects.postgresql import insert as upsert

        statement = upsert(audit_event).values(**values)
        statement = statement.on_conflict_do_update(index_elements=["id"], set_={"subject": "mallory"})
        with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    assert _rows(engine)[0].subject == "alice"


def test_a_replace_colliding_on_the_chain_cannot_swap_the_last_row(engine):
    """On SQLite, INSERT OR REPLACE deletes the row it collides with on any unique column, without delete triggers:
    a new row claiming the last row's place in the chain would replace it and still verify. PostgreSQL's upsert on
    that column runs the update trigger."""
    _record(engine, 2)
    last = _rows(engine)[-1]
    forged = {"occurred_at": last.occurred_at, "subject": "alice", "roles": "captain", "services": None,
              "action": "view", "page": "overview", "filters": None, "detail": None}
    forged.update(previous_hash=last.previous_hash, row_hash=chained_hash(last.previous_hash, forged))
    if engine.dialect.name == "sqlite":
        statement = insert(audit_event).prefix_with("OR REPLACE").values(id=last.id + 1, **forged)
    else:
        from sqlalchemy.dialects.postgresql import insert as upsert

        statement = upsert(audit_event).values(id=last.id + 1, **forged).on_conflict_do_update(
            index_elements=["previous_hash"], set_={"subject": "alice", "row_hash": forged["row_hash"]})
    with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(statement)
    assert [(row.id, row.subject) for row in _rows(engine)] == [(last.id - 1, "alice"), (last.id, "alice")]
    assert verify_chain(engine).rows == 2


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET subject = 'mallory'", "DELETE FROM audit_event"])
def test_update_and_delete_are_refused(engine, statement):
    _record(engine, 1)
    with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.exec_driver_sql(statement)
    assert [row.subject for row in _rows(engine)] == ["alice"]


def test_truncate_is_refused_on_postgresql(postgres_engine):
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.exec_driver_sql("TRUNCATE audit_event")
    _record(postgres_engine, 1)
    with pytest.raises(exc.DatabaseError, match="append-only"), postgres_engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE audit_event")
    assert len(_rows(postgres_engine)) == 1


def test_a_rewritten_row_breaks_the_chain_at_that_row(engine):
    _record(engine, 4)
    second = _rows(engine)[1].id
    _without_triggers(engine, update(audit_event).where(audit_event.c.id == second).values(subject="mallory"))
    check = verify_chain(engine)
    assert (check.rows, check.broken_id, check.reason) == (1, second, "content")


def test_a_removed_row_breaks_the_chain_at_the_next_row(engine):
    _record(engine, 4)
    rows = _rows(engine)
    _without_triggers(engine, delete(audit_event).where(audit_event.c.id == rows[1].id))
    check = verify_chain(engine)
    assert (check.rows, check.broken_id, check.reason) == (1, rows[2].id, "link")


# As many writers as a busy server's sessions: with a few only, retries hid that PostgreSQL writers could run out.
WRITERS = 16


def test_concurrent_writers_keep_one_chain(engine):
    """Writers that read the same last row cannot fork the chain: the unique previous hash makes one retry."""
    url = engine.url.render_as_string(hide_password=False)
    failures = []

    def write(subject: str) -> None:
        own = build_engine(url)
        try:
            _record(own, 10, subject)
        except Exception as failure:
            failures.append(failure)
        finally:
            own.dispose()

    threads = [threading.Thread(target=write, args=(f"writer{n}",)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    check = verify_chain(engine)
    assert (check.rows, check.broken_id) == (WRITERS * 10, None)


def _command(database_url: str, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", *arguments], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def _verify_command(database_url: str, **variables: str) -> subprocess.CompletedProcess:
    return _command(database_url, "audit", "verify", **variables)


def test_the_verify_command_reports_the_first_broken_link(engine, database_url):
    _record(engine, 3)
    rows = _rows(engine)
    intact = _verify_command(database_url)
    assert intact.returncode == 0, intact.stderr
    assert f"3 chained rows. Last link: row {rows[2].id}, hash {rows[2].row_hash}" in intact.stdout
    _without_triggers(engine, update(audit_event).where(audit_event.c.id == rows[2].id).values(page="definitions"))
    broken = _verify_command(database_url)
    assert broken.returncode == 1
    assert f"Chain broken at row {rows[2].id} (after 2 intact rows)" in broken.stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_chains_rows_written_before_it(backend, tmp_path):
    """Rows of an older schema get their hashes when the chain's migration runs, and the triggers stay."""

    def at_revision(engine, revision: str) -> None:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def check(engine) -> None:
        at_revision(engine, "0002")
        with engine.begin() as connection:
            for subject in ("alice", "bob"):
                connection.execute(text("INSERT INTO audit_event (occurred_at, subject, roles, action)"
                                        " VALUES (:moment, :subject, 'captain', 'view')"),
                                   {"moment": datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC), "subject": subject})
        upgrade_to_head(engine)
        check = verify_chain(engine)
        assert (check.rows, check.broken_id) == (2, None)
        with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(update(audit_event).values(subject="mallory"))
        _record(engine, 1)
        assert verify_chain(engine).rows == 3

    with empty_database(backend, tmp_path) as engine:
        check(engine)


@dataclass(frozen=True)
class Roles:
    """A database migrated by relais_owner with queries/sql/postgresql_roles.sql applied: an engine per role."""

    owner: Engine
    app: Engine
    app_url: str


@pytest.fixture
def roles():
    """The role layout of queries/sql/postgresql_roles.sql, applied to a database migrated by its owner."""
    with scratch_postgres_url() as url:
        superuser = create_engine(url, isolation_level="AUTOCOMMIT")
        with superuser.connect() as connection:
            connection.exec_driver_sql(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais_owner') THEN "
                "CREATE ROLE relais_owner LOGIN; END IF; END $$")
            database = connection.exec_driver_sql("SELECT current_database()").scalar()
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" OWNER TO relais_owner')
            connection.exec_driver_sql("ALTER SCHEMA public OWNER TO relais_owner")
        owner = build_engine(superuser.url.set(username="relais_owner").render_as_string(hide_password=False))
        upgrade_to_head(owner)
        load_reference(owner)
        script = subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-h", superuser.url.host, "-p", str(superuser.url.port),
             "-U", superuser.url.username, "-d", database, "-f", str(ROLES_SCRIPT)],
            capture_output=True, text=True, timeout=60)
        assert script.returncode == 0, script.stderr
        app_url = superuser.url.set(username="relais_app").render_as_string(hide_password=False)
        app = build_engine(app_url)
        try:
            yield Roles(owner, app, app_url)
        finally:
            app.dispose()
            owner.dispose()
            superuser.dispose()


REFUSED = "permission denied|must be owner"


def _refused(engine, statement: str, match: str = REFUSED) -> None:
    with pytest.raises(exc.DBAPIError, match=match), engine.begin() as connection:
        connection.exec_driver_sql(statement)


def test_the_app_role_cannot_change_remove_or_forge_audit_rows(roles):
    _record(roles.app, 2)
    last = _rows(roles.app)[-1]
    # A row of someone else's, backdated, with a correct link and hash: before audit_append, `verify` said intact.
    backdated = {"occurred_at": datetime(2025, 1, 6, 9, 0, tzinfo=UTC), "subject": "director-dora",
                 "roles": "director", "services": "*", "action": "export", "page": "report", "filters": None,
                 "detail": None}
    forged = {**backdated, "previous_hash": last.row_hash, "row_hash": chained_hash(last.row_hash, backdated)}
    for statement in (insert(audit_event).values(**forged), insert(audit_event).values(id=last.id + 1000, **forged)):
        with pytest.raises(exc.ProgrammingError, match="permission denied"), roles.app.begin() as connection:
            connection.execute(statement)
    for statement in ("UPDATE audit_event SET subject = 'mallory'", "DELETE FROM audit_event",
                      "TRUNCATE audit_event", "ALTER TABLE audit_event DISABLE TRIGGER ALL",
                      "DROP TRIGGER audit_event_append_only ON audit_event",
                      "SELECT setval('audit_event_id_seq', 1000000)",
                      "DROP FUNCTION audit_append(text, text, text, text, text, text, text)"):
        _refused(roles.app, statement)
    # audit_append sets the time, the id and the link itself.
    before = datetime.now(UTC)
    record_event(roles.app, subject="alice", roles=("captain",), services="RIPRSL", action="view", page="outreach")
    row = _rows(roles.app)[-1]
    assert before <= row.occurred_at <= datetime.now(UTC) and row.id > last.id and row.previous_hash == last.row_hash
    check = verify_chain(roles.app, AUDIT_KEY)
    assert (check.rows, check.reason, check.last_id) == (3, None, row.id)
    with roles.app.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(audit_event)) == 3


def test_the_apps_normal_paths_work_as_its_role_and_change_no_evidence(roles):
    """An import (and a second one), demo data removed by a real import, a worker's attempt, its correction and
    withdrawal, a closed case and a page view, all as relais_app (and a checkpoint, as the owner); then each
    forgery of the evidence."""
    from dashboard.ingest.importer import import_file
    from dashboard.ingest.worker_log import close_case, correct_attempt, record_attempt, withdraw_attempt
    from tests.queue_data import NOW, load_queue_data
    from tests.test_import import INTERVENTION, csv_bytes
    from tests.test_worker_log import ANNE, entry

    app = roles.app
    demo = import_file(app, "interventions", csv_bytes([INTERVENTION]), "demo.csv", demo=True)
    real = import_file(app, "interventions", csv_bytes([{**INTERVENTION, "event_id": "R1"}]), "real.csv",
                       replace_demo=True)
    assert demo.written and real.written and real.problems == []
    load_queue_data(app)
    again = import_file(app, "interventions", csv_bytes([{**INTERVENTION, "event_id": "R1"}]), "again.csv")
    assert again.written and again.replaced == 1
    attempt = record_attempt(app, entry(), ANNE, NOW)
    correct_attempt(app, attempt, entry(outcome="wrong_number"), ANNE, NOW)
    withdraw_attempt(app, "RIPRSL", attempt, ANNE, NOW)
    close_case(app, "RIPRSL", "Q2", "offender", ANNE, NOW)
    record_event(app, subject="anne", roles=("worker",), services="RIPRSL", action="view", page="queue")
    with roles.owner.begin() as connection:
        write_checkpoint(connection, AUDIT_KEY, verify_chain(connection, AUDIT_KEY), datetime.now(UTC))
    with app.connect() as connection:
        batches = connection.execute(select(import_batch.c.file_name, import_batch.c.demo)
                                     .order_by(import_batch.c.id)).all()
        revisions = connection.scalar(select(func.count()).select_from(attempt_revision))
        closures = connection.scalar(select(func.count()).select_from(case_closure))
    assert [name for name, _demo in batches] == ["real.csv", "interventions.csv", "outreach.csv", "again.csv"]
    assert (revisions, closures) == (2, 2)
    check = verify_chain(app, AUDIT_KEY)
    assert (check.reason, check.rows, check.checkpoints) == (None, 5, 1)
    for statement in (
        "UPDATE attempt_revision SET revised_by = 'mallory'", "DELETE FROM attempt_revision",
        "TRUNCATE attempt_revision", "UPDATE case_closure SET closed_by = 'mallory'", "DELETE FROM case_closure",
        "UPDATE import_batch SET status = 'rejected'", "UPDATE import_batch SET demo = true",
        "TRUNCATE import_batch", "DELETE FROM pseudonym_check", "TRUNCATE pseudonym_check",
        "UPDATE destruction_record SET run_by = 'mallory'", "DELETE FROM destruction_record",
        "TRUNCATE destruction_record",
        "INSERT INTO destruction_record (run_at, run_by, os_user, kind, older_than_years, cutoff_date,"
        " interventions, attempts, audit_rows, import_batches, audit_anchor)"
        " VALUES (now(), 'x', 'x', 'audit', 1, '2000-01-01', 0, 0, 0, 0, 'forged')",
        "UPDATE audit_checkpoint SET rows = 0", "DELETE FROM audit_checkpoint", "TRUNCATE audit_checkpoint",
        FORGED_CHECKPOINT,
        "INSERT INTO retention_period (kind, years, set_at, set_by, os_user) VALUES ('audit', 1, now(), 'x', 'x')",
        "UPDATE retention_period SET years = 1", "DELETE FROM retention_period",
        "ALTER TABLE pseudonym_check DISABLE TRIGGER ALL",
    ):
        _refused(app, statement)
    # Real batches stay: the app removes demo batches only.
    with app.begin() as connection:
        assert connection.exec_driver_sql("DELETE FROM import_batch").rowcount == 0
    # The fingerprint of the stored pseudonyms is the owner's `rekey` to change: deleting or replacing it would let
    # a file under another key through, and the same subject would no longer link.
    _refused(app, "UPDATE pseudonym_check SET fingerprint = 'other'", "only the owner")
    with roles.owner.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(pseudonym_check)) == 1
        assert connection.scalar(select(func.count()).select_from(import_batch)) == 4


def test_the_app_role_removes_demo_interventions_only_and_finishes_its_own_batches_only(roles):
    """Row security on intervention: the app deleted real rows (their closures and revisions went by cascade); it
    could flip `demo` to do so or to change the fingerprint of stored pseudonyms; and it rewrote any batch's end."""
    from dashboard.ingest.importer import import_file
    from tests.test_import import INTERVENTION, csv_bytes

    app = roles.app
    assert import_file(app, "interventions", csv_bytes([INTERVENTION]), "demo.csv", demo=True).written
    _refused(app, "UPDATE intervention SET demo = false WHERE demo", "only the owner")
    # The demo's removal by a real import still works under row security.
    real = import_file(app, "interventions", csv_bytes([{**INTERVENTION, "event_id": "R1"}]), "real.csv",
                       replace_demo=True)
    assert real.written, real.problems
    with app.begin() as connection:
        assert connection.exec_driver_sql("DELETE FROM intervention WHERE NOT demo").rowcount == 0
        assert connection.exec_driver_sql("UPDATE import_batch SET finished_at = now()").rowcount == 0
    _refused(app, "UPDATE intervention SET demo = true WHERE NOT demo", "only the owner")
    with app.begin() as connection:
        # A batch this transaction writes may still get its end time, as the importer sets it.
        batch = connection.execute(insert(import_batch).values(
            demo=False, kind="interventions", file_name="x.csv", file_sha256="0" * 64, imported_by="anne",
            started_at=datetime.now(UTC), finished_at=datetime.now(UTC), status="imported", rows_read=0,
            rows_accepted=0, rows_rejected=0, problems="[]").returning(import_batch.c.id)).scalar_one()
        assert connection.execute(update(import_batch).where(import_batch.c.id == batch)
                                  .values(finished_at=func.now())).rowcount == 1
    with roles.owner.connect() as connection:
        assert connection.execute(select(intervention.c.event_id, intervention.c.demo)).all() == [("R1", False)]
    with roles.owner.begin() as connection:
        assert connection.exec_driver_sql("UPDATE intervention SET demo = true").rowcount == 1


FORGED_CHECKPOINT = ("INSERT INTO audit_checkpoint (id, written_at, audit_id, row_hash, rows, signature)"
                     " VALUES (2147483647, now(), 999999, 'forged', 0, 'forged')")


def test_only_the_owner_adds_checkpoints_and_the_command_says_so(roles):
    """A web replica could insert a forged checkpoint that stays for good: the app's role has no write on the table,
    and `audit checkpoint` run as that role says to run it as the owner, without a traceback."""
    _record(roles.app, 1)
    _refused(roles.app, FORGED_CHECKPOINT)
    as_app = _command(roles.app_url, "audit", "checkpoint", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert as_app.returncode == 2 and "Traceback" not in as_app.stderr, as_app.stderr
    assert "run `audit checkpoint` with relais_owner's URL" in as_app.stderr
    owner_url = roles.owner.url.render_as_string(hide_password=False)
    as_owner = _command(owner_url, "audit", "checkpoint", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert as_owner.returncode == 0 and "Checkpoint 1 signed" in as_owner.stdout, as_owner.stderr


def test_only_the_owner_records_a_retention_period(roles):
    environment = {**os.environ, "DATABASE_URL": roles.app_url, "RELAIS_LANGUAGE": "en"}
    done = subprocess.run([sys.executable, "-m", "dashboard", "retention", "--set-period", "audit", "1"],
                          cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "only the schema's owner (relais_owner)" in done.stderr, done.stderr
    (row,) = _rows(roles.app)
    assert (row.action, json.loads(row.detail)["status"], json.loads(row.detail)["reason"]) == (
        "retention_period", "refused", "not_owner")


# Quotes, backslashes, every control character, accents, emoji and line separators: to_json(text) in audit_append
# must escape them as json.dumps(ensure_ascii=False) does, or the two hashes differ.
AWKWARD = ('say "hi"', "C:\\dossiers\\n\\", "\b\f\n\r\t", "".join(map(chr, range(1, 32))) + "\x7f",
           "Montréal, Trois-Rivières — Œuvre", "😀🚓\u200d", "\u2028\u2029", "'; DROP TABLE audit_event; --", "", " ")


def test_the_database_and_python_compute_the_same_hash_of_awkward_rows(engine):
    for index, value in enumerate(AWKWARD):
        record_event(engine, subject=value, roles=(value, "captain"), action=value or "view",
                     services=None if index % 2 else value, page=value if index % 2 else None,
                     filters={"text": value, value: [value, None]}, detail=None if index % 3 else {"why": value})
    rows = _rows(engine)
    assert [row.subject for row in rows] == list(AWKWARD)
    for row in rows:
        # On PostgreSQL row_hash was computed in SQL by audit_append; here it is computed again in Python.
        assert row.row_hash == chained_hash(row.previous_hash, row._asdict())
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.rows, check.reason) == (len(AWKWARD), None)


@pytest.fixture
def sqlite_engine(sqlite_template, tmp_path):
    path = tmp_path / "relais.db"
    shutil.copyfile(sqlite_template, path)
    engine = build_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_sqlite_refuses_a_row_that_does_not_follow_the_last_one_now(sqlite_engine):
    _record(sqlite_engine, 2)
    last = _rows(sqlite_engine)[-1]

    def row(**changes):
        values = {"occurred_at": datetime.now(UTC), "subject": "mallory", "roles": "admin", "services": "*",
                  "action": "view", "page": "audit", "filters": None, "detail": None}
        values.update(changes)
        previous = values.pop("previous_hash", last.row_hash)
        return {**values, "id": values.pop("id", last.id + 1), "previous_hash": previous,
                "row_hash": chained_hash(previous, values)}

    for forged in (row(id=last.id + 1000), row(id=None), row(occurred_at=datetime.now(UTC) - timedelta(hours=1)),
                   row(occurred_at=datetime.now(UTC) + timedelta(minutes=1)), row(previous_hash=GENESIS_HASH)):
        with pytest.raises(exc.IntegrityError, match="append-only"), sqlite_engine.begin() as connection:
            connection.execute(insert(audit_event).values(**forged))
    with sqlite_engine.begin() as connection:
        connection.execute(insert(audit_event).values(**row()))
    assert verify_chain(sqlite_engine).rows == 3


def test_sqlite_refuses_a_row_without_a_time_and_verify_reports_one(sqlite_engine, tmp_path):
    """julianday() of a text that is no time is NULL, so the trigger's time check let it through; a row with such a
    time, written past the triggers, is a broken chain for `verify`, not a traceback."""
    _record(sqlite_engine, 2)
    last = _rows(sqlite_engine)[-1]
    garbage = text("INSERT INTO audit_event (id, occurred_at, subject, roles, action, previous_hash, row_hash)"
                   " VALUES (:id, 'not a time', 'mallory', 'admin', 'view', :previous, :hash)")
    arguments = {"id": last.id + 1, "previous": last.row_hash, "hash": "0" * 64}
    with pytest.raises(exc.IntegrityError, match="append-only"), sqlite_engine.begin() as connection:
        connection.execute(garbage, arguments)
    _without_triggers(sqlite_engine, garbage.bindparams(**arguments))
    check = verify_chain(sqlite_engine)
    assert (check.reason, check.broken_id, check.rows) == ("time", last.id + 1, 2)
    verified = _verify_command(str(sqlite_engine.url))
    assert verified.returncode == 1 and "Traceback" not in verified.stderr, verified.stderr
    assert f"Chain broken at row {last.id + 1} (after 2 intact rows): its time is not a time" in verified.stdout


def _remove_oldest(engine, count: int) -> None:
    """The attack of issue 25: the oldest rows deleted past the guard, as the database's owner can."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            connection.execute(delete(audit_event).where(audit_event.c.id <= count))
            connection.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        else:
            (guard,) = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_delete'").scalars()
            connection.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
            connection.execute(delete(audit_event).where(audit_event.c.id <= count))
            connection.exec_driver_sql(guard)


def _forged_anchor(engine, anchor: str, last_id: int, key: str | None) -> int:
    values = {"run_at": datetime.now(UTC), "run_by": "dpo", "os_user": "root", "kind": "audit",
              "older_than_years": 1, "cutoff_date": date.today(), "interventions": 0, "attempts": 0, "audit_rows": 2,
              "import_batches": 0, "audit_anchor": anchor, "audit_last_id": last_id}
    if key is not None:
        values["signature"] = destruction_signature(key, values)
    with engine.begin() as connection:
        return connection.execute(insert(destruction_record).values(**values)
                                  .returning(destruction_record.c.id)).scalar_one()


@pytest.mark.parametrize("forger_key", [None, OTHER_KEY], ids=["unsigned", "signed with another key"])
def test_removing_the_oldest_rows_behind_a_forged_anchor_is_reported(engine, database_url, forger_key):
    _record(engine, 5)
    rows = _rows(engine)
    _remove_oldest(engine, rows[1].id)
    record = _forged_anchor(engine, rows[2].previous_hash, rows[1].id, forger_key)
    check = verify_chain(engine, AUDIT_KEY)
    # The last hash is unchanged, so keeping it elsewhere would not have shown the removal; the signature does.
    assert (check.reason, check.broken_id, check.last_hash, check.rows) == ("anchor", record, rows[-1].row_hash, 3)
    verified = _verify_command(database_url, RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert verified.returncode == 1
    assert f"the anchor of destruction record {record} is not signed with the audit key" in verified.stdout
    # Without the key, the chain cannot be said intact: exit 2, and why.
    keyless = _verify_command(database_url)
    assert keyless.returncode == 2 and "RELAIS_AUDIT_KEY is not set: 1 signatures" in keyless.stderr
    assert "The chain's links hold: 3 rows" in keyless.stdout and "intact" not in keyless.stdout


def test_a_genuine_retention_then_verifies_with_its_signed_anchor(engine, database_url):
    """Rows of two years ago, each under a checkpoint; `retention --audit` destroys them and signs its anchor; a
    checkpoint of a destroyed row is judged against the destruction."""
    long_ago = datetime.now(UTC) - timedelta(days=800)
    _old_rows(engine, long_ago)
    _checkpoint(engine)
    _old_rows(engine, long_ago + timedelta(hours=1))
    _checkpoint(engine)
    _record(engine, 1)
    variables = {"RELAIS_AUDIT_KEY": AUDIT_KEY, "RELAIS_USER": "dpo"}
    for arguments in (("--set-period", "audit", "1"), ("--older-than", "1", "--audit")):
        done = _command(database_url, "retention", *arguments, **variables)
        assert done.returncode == 0, done.stderr
    with engine.connect() as connection:
        (record,) = connection.execute(select(destruction_record)).all()
    assert (record.audit_rows, record.audit_last_id) == (2, _rows(engine)[0].id - 1)
    assert record.signature == destruction_signature(AUDIT_KEY, record._asdict())
    verified = _verify_command(database_url, RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Audit trail intact: 3 chained rows" in verified.stdout
    assert f"starts at the anchor of destruction record {record.id}: rows up to row {record.audit_last_id}" in (
        verified.stdout)
    assert "Latest signed checkpoint: number 2" in verified.stdout and "Rows written since: 3" in verified.stdout
    assert "Signatures checked with the audit key: 3." in verified.stdout


def test_a_forged_altered_or_removed_checkpoint_breaks_the_chain(engine):
    _record(engine, 3)
    first = _checkpoint(engine)
    _record(engine, 1)
    assert (_checkpoint(engine).id, verify_chain(engine, AUDIT_KEY).reason) == (2, None)

    def problem() -> tuple[str | None, int | None]:
        check = verify_chain(engine, AUDIT_KEY)
        return check.reason, check.broken_id

    def remove(number: int) -> None:
        _without_triggers(engine, delete(audit_checkpoint).where(audit_checkpoint.c.id == number),
                          table="audit_checkpoint")

    # Forged: the app's role may insert a checkpoint, not sign one.
    with engine.begin() as connection:
        write_checkpoint(connection, OTHER_KEY, verify_chain(engine), datetime.now(UTC))
    assert problem() == ("checkpoint_signature", 3)
    remove(3)
    assert problem() == (None, None)
    # Altered: checkpoint 1 moved to row 4, with row 4's hash.
    row = _rows(engine)[3]
    _without_triggers(engine, update(audit_checkpoint).where(audit_checkpoint.c.id == first.id)
                      .values(audit_id=row.id, row_hash=row.row_hash), table="audit_checkpoint")
    assert problem() == ("checkpoint_signature", first.id)
    # Removed: the numbers have a gap.
    remove(first.id)
    assert problem() == ("checkpoint_missing", first.id)


def _forge_checkpoint(engine, number: int) -> None:
    with engine.begin() as connection:
        connection.execute(insert(audit_checkpoint).values(id=number, written_at=datetime.now(UTC), audit_id=999999,
                                                           row_hash="f" * 64, rows=0, signature="0" * 64))


def test_a_forged_checkpoint_is_reported_but_judges_nothing_and_stops_no_signing(engine, database_url):
    """A checkpoint row that fails its signature (whoever could insert it) is reported by every verify; the latest
    checkpoint and the rows written since are the validly signed one's; `audit checkpoint` still signs, exit 1."""
    _record(engine, 2)
    _checkpoint(engine)
    _record(engine, 1)
    _forge_checkpoint(engine, 2147483647)
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.reason, check.broken_id, check.latest_checkpoint.id, check.rows_after_checkpoint) == (
        "checkpoint_signature", 2147483647, 1, 1)
    assert check.problems == (("checkpoint_signature", 2147483647, None),)
    signed = _command(database_url, "audit", "checkpoint", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert signed.returncode == 1 and "Checkpoint 2 signed" in signed.stdout, signed.stdout + signed.stderr
    assert "Checkpoint 2147483647 forged or altered" in signed.stderr
    # A forged row on the next number is skipped, and is no gap.
    _forge_checkpoint(engine, 3)
    assert _command(database_url, "audit", "checkpoint", RELAIS_AUDIT_KEY=AUDIT_KEY).returncode == 1
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.latest_checkpoint.id, check.rows_after_checkpoint, check.checkpoints) == (4, 1, 3)
    assert check.problems == (("checkpoint_signature", 3, None), ("checkpoint_signature", 2147483647, None))
    # A broken chain is still refused.
    _without_triggers(engine, update(audit_event).where(audit_event.c.id == _rows(engine)[0].id).values(page="x"))
    refused = _command(database_url, "audit", "checkpoint", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert refused.returncode == 1 and "no checkpoint is signed" in refused.stderr


def test_rows_removed_under_a_checkpoint_break_the_chain(engine, database_url):
    _record(engine, 5)
    covered = _checkpoint(engine)
    _record(engine, 2)
    rows = _rows(engine)
    intact = _verify_command(database_url, RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert intact.returncode == 0 and "number 1 of " in intact.stdout and "Rows written since: 2" in intact.stdout
    # The newest rows cut back past the checkpoint: the rows left still chain, but the signed row is gone.
    _without_triggers(engine, delete(audit_event).where(audit_event.c.id >= rows[3].id))
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.rows, check.reason, check.broken_id, check.checkpoint_row) == (
        3, "checkpoint_row", covered.id, covered.audit_id)
    broken = _verify_command(database_url, RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert broken.returncode == 1
    assert f"checkpoint 1 signed row {covered.audit_id}, which is missing or has changed since" in broken.stdout


def _expect(done: subprocess.CompletedProcess) -> str:
    """The ID:HASH that `audit checkpoint` printed, to pass back to `verify --expect`."""
    assert done.returncode == 0, done.stderr
    (found,) = re.findall(r"--expect ([0-9]+:[0-9a-f]{64})$", done.stdout, re.MULTILINE)
    return found


def test_the_latest_checkpoints_and_their_rows_removed_fail_an_expected_row(engine, database_url):
    """The owner may remove the latest checkpoints and the rows they cover from the tail: the rest holds, but not the
    row whose id and hash the checkpoint's printed line kept outside the database."""
    variables = {"RELAIS_AUDIT_KEY": AUDIT_KEY}
    _record(engine, 2)
    first = _expect(_command(database_url, "audit", "checkpoint", **variables))
    _record(engine, 2)
    second = _expect(_command(database_url, "audit", "checkpoint", **variables))
    rows = _rows(engine)
    assert second == f"{rows[4].id}:{rows[4].row_hash}" and first == f"{rows[1].id}:{rows[1].row_hash}"
    both = ("--expect", first, "--expect", second)
    assert _command(database_url, "audit", "verify", *both, **variables).returncode == 0
    _without_triggers(engine, delete(audit_checkpoint).where(audit_checkpoint.c.id == 2), table="audit_checkpoint")
    _without_triggers(engine, delete(audit_event).where(audit_event.c.id > rows[2].id))
    assert _verify_command(database_url, **variables).returncode == 0
    removed = _command(database_url, "audit", "verify", *both, **variables)
    assert removed.returncode == 1
    assert f"Row {rows[4].id} expected (--expect) is missing or differs" in removed.stdout
    wrong = _command(database_url, "audit", "verify", "--expect", f"{rows[1].id}:{'a' * 64}", **variables)
    assert wrong.returncode == 1 and f"Row {rows[1].id} expected" in wrong.stdout
    assert _command(database_url, "audit", "verify", "--expect", "2:nothex").returncode == 2


def test_an_expected_row_destroyed_by_a_signed_retention_is_covered(engine, database_url):
    long_ago = datetime.now(UTC) - timedelta(days=800)
    _old_rows(engine, long_ago, long_ago + timedelta(hours=1))
    variables = {"RELAIS_AUDIT_KEY": AUDIT_KEY, "RELAIS_USER": "dpo"}
    checkpointed = _expect(_command(database_url, "audit", "checkpoint", **variables))
    first = _rows(engine)[0]
    for arguments in (("--set-period", "audit", "1"), ("--older-than", "1", "--audit")):
        assert _command(database_url, "retention", *arguments, **variables).returncode == 0
    covered = _command(database_url, "audit", "verify", "--expect", checkpointed, "--expect",
                       f"{first.id}:{first.row_hash}", **variables)
    assert covered.returncode == 0, covered.stdout
    # The anchor kept the last destroyed row's hash: another hash for it is not covered.
    wrong = _command(database_url, "audit", "verify", "--expect", f"{checkpointed.split(':')[0]}:{'a' * 64}",
                     **variables)
    assert wrong.returncode == 1 and "expected (--expect) is missing or differs" in wrong.stdout


def test_rows_after_the_latest_checkpoint_can_still_go_unseen(engine):
    """What checkpoints cannot do, stated by `verify`: the rows after the latest one are covered by none."""
    _record(engine, 2)
    _checkpoint(engine)
    _record(engine, 2)
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.reason, check.rows_after_checkpoint) == (None, 2)
    _without_triggers(engine, delete(audit_event).where(audit_event.c.id > check.latest_checkpoint.audit_id))
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.reason, check.rows, check.rows_after_checkpoint) == (None, 2, 0)


def test_the_checkpoint_command_needs_a_strong_key_and_an_intact_chain(engine, database_url):
    _record(engine, 2)
    for variables, words in (({}, "RELAIS_AUDIT_KEY is not set"), ({"RELAIS_AUDIT_KEY": "x" * 40}, "too easy"),
                             ({"RELAIS_AUDIT_KEY": "REPLACE ME: python -c 'import secrets; print(secrets."
                               "token_urlsafe(48))'"}, "published value"),
                             ({"RELAIS_AUDIT_KEY": TEST_PSEUDONYM_KEY}, "also a pseudonym key")):
        refused = _command(database_url, "audit", "checkpoint", **variables)
        assert refused.returncode == 2 and words in refused.stderr and "token_urlsafe(48)" in refused.stderr
    done = _command(database_url, "audit", "checkpoint", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert done.returncode == 0, done.stderr
    last = _rows(engine)[1]
    assert f"Checkpoint 1 signed: row {last.id}, hash {last.row_hash}, 2 rows." in done.stdout
    with engine.connect() as connection:
        (checkpoint,) = connection.execute(select(audit_checkpoint)).all()
    assert checkpoint.signature == checkpoint_signature(AUDIT_KEY, checkpoint._asdict())
    assert _rows(engine)[-1].action == "checkpoint"
    _without_triggers(engine, update(audit_event).where(audit_event.c.id == last.id).values(page="definitions"))
    refused = _command(database_url, "audit", "checkpoint", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert refused.returncode == 1 and "no checkpoint is signed" in refused.stderr
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(audit_checkpoint)) == 1


def test_audit_retention_needs_the_key_and_an_intact_chain(engine, database_url):
    _old_rows(engine, datetime.now(UTC) - timedelta(days=800))
    _record(engine, 1)
    assert _command(database_url, "retention", "--set-period", "audit", "1").returncode == 0
    unkeyed = _command(database_url, "retention", "--older-than", "1", "--audit")
    assert unkeyed.returncode == 2 and "RELAIS_AUDIT_KEY is not set" in unkeyed.stderr
    _without_triggers(engine, update(audit_event).where(audit_event.c.id == _rows(engine)[1].id)
                      .values(subject="mallory"))
    broken = _command(database_url, "retention", "--older-than", "1", "--audit", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert broken.returncode == 1 and "nothing is destroyed" in broken.stderr
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(destruction_record)) == 0
    with pytest.raises(ValueError, match="signed"), engine.begin() as connection:
        record_destruction(connection, destroy_audit(connection, date.today() + timedelta(days=1)), 1, "dpo", "root")


def test_a_download_is_recorded_when_its_file_is_made_not_when_offered(engine, database_url, monkeypatch):
    import time

    from auth import session
    from auth.viewer import viewer_from_claims
    from dashboard.web.audit import audited_file

    monkeypatch.setenv("DATABASE_URL", database_url)
    claims = {"sub": "dora", "roles": ["director"], "police_services": ["SPS"], "iat": int(time.time())}
    # A download is made only while its sign-in is honoured (auth/session.py): here, a sign-in of a moment ago.
    monkeypatch.setattr(session, "_claims", lambda: claims)
    monkeypatch.setattr(session, "_memory", session.SessionMemory)
    viewer = viewer_from_claims(claims)
    make = audited_file(lambda: b"a;b\n1;2\n", viewer, "report", {"file": "rapport.csv"})
    assert _rows(engine) == []
    assert make() == b"a;b\n1;2\n"
    (row,) = [row for row in _rows(engine) if row.action == "export"]
    assert (row.subject, row.roles, row.services, row.action, row.page) == ("dora", "director", "SPS", "export",
                                                                           "report")
    assert '"file": "rapport.csv"' in row.filters


def test_metrics_and_import_runs_are_audited_with_who_ran_them(engine, database_url, tmp_path):
    import getpass
    import json

    from tests.test_import import INTERVENTION, csv_bytes

    path = tmp_path / "interventions.csv"
    path.write_bytes(csv_bytes([INTERVENTION, {**INTERVENTION, "event_id": "E2", "municipality_code": "9999"}]))
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_USER": "clerk@riprsl"}
    run = [sys.executable, "-m", "dashboard"]
    imported = subprocess.run([*run, "import", "interventions", str(path), "--service", "RIPRSL", "--skip-invalid",
                               "--rejects", str(tmp_path / "rejects.csv")], cwd=PROJECT_ROOT, env=environment,
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    printed = subprocess.run([*run, "metrics", "--from", "2024-05-01", "--to", "2024-05-31", "--json"],
                             cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    rows = _rows(engine)
    assert [(row.action, row.subject, row.roles, row.services) for row in rows] == [
        ("import", "clerk@riprsl", "command", "*"), ("metrics", "clerk@riprsl", "command", "*")]
    detail = json.loads(rows[0].detail)
    assert (detail["os_user"], detail["relais_user"], detail["status"], detail["accepted"], detail["rejected"]) == (
        getpass.getuser(), "clerk@riprsl", "partial", 1, 1)
    assert json.loads(rows[0].filters) == {"kind": "interventions", "file": "interventions.csv"}
    assert json.loads(rows[1].filters)["from"] == "2024-05-01" and json.loads(rows[1].detail)["interventions"] == 1
    assert verify_chain(engine).rows == 2


def test_refused_runs_are_audited_too(engine, database_url, tmp_path):
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_USER": "clerk", "RELAIS_LANGUAGE": "en"}
    run = [sys.executable, "-m", "dashboard"]
    runs = [
        [*run, "import", "interventions", str(tmp_path / "i.csv")],  # the database knows two services
        [*run, "import", "interventions", str(tmp_path / "missing.csv"), "--service", "SPS"],
        [*run, "metrics", "--from", "2024-01-01", "--to", "2024-01-31", "--service", "NOPE"],
    ]
    for command_line in runs:
        done = subprocess.run(command_line, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, done.stderr
    rows = _rows(engine)
    assert [(row.action, row.subject, json.loads(row.detail)["status"]) for row in rows] == [
        ("import", "clerk", "refused"), ("import", "clerk", "refused"), ("metrics", "clerk", "refused")]
    assert json.loads(rows[1].detail)["reason"] == "no_file"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_metrics_refuses_dates_no_record_can_have(engine, database_url, day):
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en"}
    done = subprocess.run([sys.executable, "-m", "dashboard", "metrics", "--from", day, "--to", day, "--json"],
                          cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "date out of range" in done.stderr and "Traceback" not in done.stderr


def test_the_audit_page_shows_each_rows_detail(engine, database_url, monkeypatch):
    from tests.test_app import app_for

    record_event(engine, subject="clerk", roles=("command",), services="*", action="retention",
                 filters={"kind": "audit"}, detail={"audit_rows": 12, "cutoff": "2025-12-07", "status": "refusé"})
    test = app_for({"sub": "root", "roles": ["admin"], "police_services": ["*"]}, database_url, monkeypatch,
                   script=str(PROJECT_ROOT / "pages" / "audit.py"))
    assert not test.exception
    shown = test.dataframe[0].value
    assert list(shown.columns)[-2:] == ["Filtres", "Détail"]
    details = dict(zip(shown["Action"], shown["Détail"], strict=True))
    assert json.loads(details["destruction (conservation)"]) == {"audit_rows": 12, "cutoff": "2025-12-07",
                                                                  "status": "refusé"}
    assert "signed_in_at" in json.loads(details["connexion"])
    # The administrator's own search of the trail has filters and no detail: an empty cell, not "None".
    assert details["recherche dans le journal"] == ""
