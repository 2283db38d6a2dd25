"""The audit trail is append-only on both databases, chained by hash, verified by a command, and its PostgreSQL
role layout leaves the app only INSERT and SELECT on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, delete, exc, func, insert, select, text, update

from dashboard.database import build_engine
from dashboard.scratch import scratch_postgres_url
from dashboard.settings import PROJECT_ROOT
from queries.audit import GENESIS_HASH, chained_hash, record_event, verify_chain
from queries.migrate import alembic_config, upgrade_to_head
from queries.schema import audit_event
from tests.backends import empty_database

ROLES_SCRIPT = PROJECT_ROOT / "queries" / "sql" / "postgresql_roles.sql"


def _record(engine, count: int, subject: str = "alice") -> None:
    for index in range(count):
        record_event(engine, subject=subject, roles=("captain",), services="RIPRSL", action="view",
                     page="overview", filters={"n": index})


def _rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(audit_event).order_by(audit_event.c.id)).all()


def _without_triggers(engine, statement) -> None:
    """What someone with the file or a superuser could do: change the table past its triggers."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.execute(statement)
        else:
            names = [row[0] for row in connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")]
            saved = [row[0] for row in connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")]
            for name in names:
                connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
            connection.execute(statement)
            for sql in saved:
                connection.exec_driver_sql(sql)


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


def _verify_command(database_url: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en"}
    return subprocess.run([sys.executable, "-m", "dashboard", "audit", "verify"], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


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


def test_the_app_role_may_only_insert_and_select_audit_rows():
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
        script = subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-h", superuser.url.host, "-p", str(superuser.url.port),
             "-U", superuser.url.username, "-d", database, "-f", str(ROLES_SCRIPT)],
            capture_output=True, text=True, timeout=60)
        assert script.returncode == 0, script.stderr
        app = build_engine(superuser.url.set(username="relais_app").render_as_string(hide_password=False))
        try:
            _record(app, 2)
            assert verify_chain(app).rows == 2
            for statement in ("UPDATE audit_event SET subject = 'mallory'", "DELETE FROM audit_event",
                              "TRUNCATE audit_event", "ALTER TABLE audit_event DISABLE TRIGGER ALL",
                              "DROP TRIGGER audit_event_append_only ON audit_event",
                              "UPDATE destruction_record SET run_by = 'mallory'", "DELETE FROM destruction_record",
                              "TRUNCATE destruction_record",
                              "INSERT INTO destruction_record (run_at, run_by, os_user, kind, older_than_years,"
                              " cutoff_date, interventions, attempts, audit_rows, import_batches, audit_anchor)"
                              " VALUES (now(), 'x', 'x', 'audit', 1, '2000-01-01', 0, 0, 0, 0, 'forged')"):
                with pytest.raises(exc.ProgrammingError, match="permission denied|must be owner"), \
                        app.begin() as connection:
                    connection.exec_driver_sql(statement)
            # The data tables stay writable: the importer and the worker's form need them.
            with app.begin() as connection:
                connection.exec_driver_sql("DELETE FROM intervention")
            with app.connect() as connection:
                assert connection.scalar(select(func.count()).select_from(audit_event)) == 2
        finally:
            app.dispose()
            owner.dispose()
            superuser.dispose()


def test_a_download_is_recorded_when_its_file_is_made_not_when_offered(engine, database_url, monkeypatch):
    from auth.viewer import viewer_from_claims
    from dashboard.web.audit import audited_file

    monkeypatch.setenv("DATABASE_URL", database_url)
    viewer = viewer_from_claims({"sub": "dora", "roles": ["director"], "police_services": ["SPS"]})
    make = audited_file(lambda: b"a;b\n1;2\n", viewer, "report", {"file": "rapport.csv"})
    assert _rows(engine) == []
    assert make() == b"a;b\n1;2\n"
    (row,) = _rows(engine)
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
