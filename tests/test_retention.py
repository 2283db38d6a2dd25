"""Retention destroys what is older than the organisation keeps, never by default, and records the destruction;
audit rows have their own period and their chain still verifies after it; the periods are recorded in the database,
and the environment may only lengthen them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import exc, func, select, text

from dashboard.settings import PROJECT_ROOT
from queries.audit import destruction_signature, record_event, verify_chain
from queries.localtime import LOCAL_TIMEZONE
from queries.retention import destroy_audit, destroy_data, record_destruction, record_period, retention_cutoff
from queries.schema import (
    audit_event,
    destruction_record,
    import_batch,
    intervention,
    outreach_attempt,
    retention_period,
)
from tests.hand_made import load_hand_made

AUDIT_KEY = "tests-only audit key, never a real one: 7Qx9-LmZ2pRt4vWb8NcKd3Hs"


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))


@pytest.mark.parametrize(("today", "years", "cutoff"), [(date(2026, 12, 4), 5, date(2021, 12, 4)),
                                                        (date(2028, 2, 29), 1, date(2027, 3, 1))])
def test_retention_cutoff(today, years, cutoff):
    assert retention_cutoff(today, years) == cutoff


def test_destroy_data_before_a_cutoff(engine):
    """tests/hand_made.py by hand: before 10 March 2024 (local) are E0, E1, E6, E15 and the 2023 ones E8, E9, E11;
    their attempts are A1 and A2 (E0), A3 and A4 (E1), A7 (E6), A10 (E15). E2, at 02:30 on the 10th, stays."""
    load_hand_made(engine)
    with engine.begin() as connection:
        destruction = destroy_data(connection, date(2024, 3, 10))
    assert (destruction.interventions, destruction.attempts, destruction.import_batches) == (7, 6, 0)
    with engine.connect() as connection:
        kept = set(connection.scalars(select(intervention.c.event_id)))
        attempts = set(connection.scalars(select(outreach_attempt.c.attempt_id)))
    assert kept == {"E2", "E3", "E4", "E5", "E7", "E10", "E12", "E13", "E14"}
    assert attempts == {"A5", "A6", "A8", "A9"}
    # The batches that wrote the rows kept are kept; they are not older than the cutoff anyway.
    assert count(engine, import_batch) == 2


def _retention(database_url: str, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", "RELAIS_USER": "dpo",
                   **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", "retention", *arguments], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)


def _set_period(engine, kind: str, years: int) -> None:
    with engine.begin() as connection:
        record_period(connection, kind, years, "dpo", "root")


def test_nothing_is_destroyed_without_the_organisations_period(engine, database_url):
    load_hand_made(engine)
    # The environment alone never allows a destruction: whoever sets it could destroy the trail.
    unset = _retention(database_url, "--older-than", "1", RELAIS_RETENTION_YEARS="1")
    assert unset.returncode == 2 and "`retention --set-period data YEARS`" in unset.stderr
    _set_period(engine, "data", 5)
    younger = _retention(database_url, "--older-than", "2")
    assert younger.returncode == 2 and "shorter than the retention period (5 years)" in younger.stderr
    assert count(engine, intervention) == 16


@pytest.mark.parametrize(("variable", "period"), [("1", 5), ("8", 8), ("", 5), ("x", 5)])
def test_the_environment_only_lengthens_the_recorded_period(engine, database_url, variable, period):
    _set_period(engine, "audit", 5)
    shorter = _retention(database_url, "--older-than", str(period - 1), "--audit", "--dry-run",
                         RELAIS_AUDIT_RETENTION_YEARS=variable, RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert shorter.returncode == 2 and f"shorter than the retention period ({period} years)" in shorter.stderr
    allowed = _retention(database_url, "--older-than", str(period), "--audit", "--dry-run",
                         RELAIS_AUDIT_RETENTION_YEARS=variable, RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert allowed.returncode == 0, allowed.stderr


def test_the_period_is_recorded_by_a_command_and_shortened_only_when_asked(engine, database_url):
    first = _retention(database_url, "--set-period", "data", "7")
    assert first.returncode == 0 and "Retention period of interventions recorded: 7 years." in first.stdout
    longer = _retention(database_url, "--set-period", "data", "10")
    assert longer.returncode == 0 and "10 years (instead of 7)" in longer.stdout
    shorter = _retention(database_url, "--set-period", "data", "2")
    assert shorter.returncode == 2 and "run again with --shorten" in shorter.stderr
    same = _retention(database_url, "--set-period", "data", "10")
    assert same.returncode == 0 and "already 10 years" in same.stdout
    shortened = _retention(database_url, "--set-period", "data", "6", "--shorten")
    assert shortened.returncode == 0 and "6 years (instead of 10)" in shortened.stdout
    audit = _retention(database_url, "--set-period", "audit", "10")
    assert audit.returncode == 0 and "Retention period of the audit trail recorded: 10 years." in audit.stdout
    with engine.connect() as connection:
        history = connection.execute(select(retention_period.c.kind, retention_period.c.years,
                                            retention_period.c.set_by).order_by(retention_period.c.id)).all()
        rows = connection.execute(select(audit_event.c.action, audit_event.c.filters, audit_event.c.detail)
                                  .order_by(audit_event.c.id)).all()
    assert history == [("data", 7, "dpo"), ("data", 10, "dpo"), ("data", 6, "dpo"), ("audit", 10, "dpo")]
    runs = [(action, json.loads(filters)["years"], json.loads(detail)["status"]) for action, filters, detail in rows]
    assert runs == [("retention_period", 7, "recorded"), ("retention_period", 10, "recorded"),
                    ("retention_period", 2, "refused"), ("retention_period", 6, "recorded"),
                    ("retention_period", 10, "recorded")]
    # The history is evidence too: nobody edits or removes a period once recorded.
    statements = [retention_period.update().values(years=1), retention_period.delete()]
    if engine.dialect.name == "postgresql":
        statements.append(text("TRUNCATE retention_period"))
    for statement in statements:
        with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)


@pytest.mark.parametrize("arguments", [("--older-than", "99999"), ("--older-than", "0"), ("--older-than", "-3"),
                                       ("--older-than", "two"), ("--set-period", "data", "99999"),
                                       ("--set-period", "logs", "5"), ("--older-than", "3", "--shorten")])
def test_out_of_range_years_are_usage_errors(engine, database_url, arguments):
    _set_period(engine, "data", 1)
    done = _retention(database_url, *arguments)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("from 1 to 150" in done.stderr or "data (the interventions) or audit" in done.stderr
            or "--shorten goes only with --set-period" in done.stderr)


def test_a_dry_run_counts_and_destroys_nothing_then_the_run_is_recorded(engine, database_url):
    load_hand_made(engine)
    years = datetime.now(LOCAL_TIMEZONE).year - 2023  # every 2023 intervention is older than this many years
    _set_period(engine, "data", years)
    dry = _retention(database_url, "--older-than", str(years), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Dry run, nothing destroyed: 3 interventions, 0 contact attempts" in dry.stdout
    assert count(engine, intervention) == 16 and count(engine, destruction_record) == 0
    done = _retention(database_url, "--older-than", str(years))
    assert done.returncode == 0, done.stderr
    assert "Destroyed: 3 interventions, 0 contact attempts" in done.stdout
    assert count(engine, intervention) == 13
    with engine.connect() as connection:
        record = connection.execute(select(destruction_record)).one()
        actions = list(connection.scalars(select(audit_event.c.action).order_by(audit_event.c.id)))
    assert (record.kind, record.run_by, record.older_than_years, record.interventions, record.attempts) == (
        "data", "dpo", years, 3, 0)
    assert record.cutoff_date == retention_cutoff(datetime.now(LOCAL_TIMEZONE).date(), years)
    assert (record.audit_anchor, record.signature) == (None, None)
    assert actions == ["retention", "retention"]


def _past_the_triggers(engine, statement) -> None:
    """What the owner or someone with the file can do: write to destruction_record past its append-only guard."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.execute(statement)
            return
        triggers = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'destruction_record'").all()
        for name, _sql in triggers:
            connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        connection.execute(statement)
        for _name, sql in triggers:
            connection.exec_driver_sql(sql)


def test_a_data_destruction_is_signed_with_the_key_and_verify_checks_it(engine, database_url):
    """Law 25 evidence: with the key set, a data destruction is signed too, and an altered or unsigned one after it
    is reported by `audit verify`."""
    load_hand_made(engine)
    years = datetime.now(LOCAL_TIMEZONE).year - 2023
    _set_period(engine, "data", years)
    done = _retention(database_url, "--older-than", str(years), RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert done.returncode == 0, done.stderr
    with engine.connect() as connection:
        record = connection.execute(select(destruction_record)).one()
    assert (record.kind, record.interventions) == ("data", 3)
    assert record.signature == destruction_signature(AUDIT_KEY, record._asdict())
    assert verify_chain(engine, AUDIT_KEY).reason is None
    _past_the_triggers(engine, destruction_record.update().values(interventions=1))
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.reason, check.broken_id) == ("destruction_signature", record.id)
    verified = _audit_verify(database_url, RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert verified.returncode == 1
    assert f"Destruction record {record.id} forged or altered" in verified.stdout
    # Put back as signed, then a record without a signature after it: reported too.
    _past_the_triggers(engine, destruction_record.update().values(interventions=3))
    with engine.begin() as connection:
        record_destruction(connection, destroy_data(connection, date(1999, 1, 1)), 30, "mallory", "root")
        unsigned = connection.scalar(select(func.max(destruction_record.c.id)))
    assert (verify_chain(engine, AUDIT_KEY).reason, verify_chain(engine, AUDIT_KEY).broken_id) == (
        "destruction_signature", unsigned)


def _audit_verify(database_url: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", "audit", "verify"], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)


def test_audit_retention_keeps_the_chain_verifiable(engine):
    for index in range(3):
        record_event(engine, subject=f"old{index}", roles=("captain",), action="view")
    tomorrow = datetime.now(LOCAL_TIMEZONE).date() + timedelta(days=1)
    with engine.begin() as connection:
        destruction = destroy_audit(connection, tomorrow)
        record_destruction(connection, destruction, 1, "dpo", "root", AUDIT_KEY)
    assert destruction.audit_rows == 3 and count(engine, audit_event) == 0
    for index in range(2):
        record_event(engine, subject=f"new{index}", roles=("captain",), action="view")
    check = verify_chain(engine, AUDIT_KEY)
    assert (check.rows, check.broken_id, check.reason, check.start_id) == (2, None, None, destruction.audit_last_id)
    # Deleting rows without a destruction record still breaks the chain.
    with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
        connection.execute(audit_event.delete())


def test_a_destruction_record_cannot_be_edited_or_removed(engine):
    with engine.begin() as connection:
        record_destruction(connection, destroy_data(connection, date(2000, 1, 1)), 25, "dpo", "root")
    with engine.connect() as connection:
        record = connection.execute(select(destruction_record)).one()._asdict()
    replace = destruction_record.insert().values({**record, "run_by": "mallory"})
    statements = [destruction_record.update().values(run_by="mallory"), destruction_record.delete()]
    if engine.dialect.name == "postgresql":
        statements.append(text("TRUNCATE destruction_record"))
    else:
        statements.append(replace.prefix_with("OR REPLACE"))
    for statement in statements:
        with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    with engine.connect() as connection:
        assert connection.execute(select(destruction_record.c.run_by)).scalars().all() == ["dpo"]


def _triggers(engine) -> list[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return sorted(connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        return sorted(connection.scalars(text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'")))


def test_a_dry_run_of_audit_retention_leaves_every_guard_in_place(engine, database_url):
    for index in range(2):
        record_event(engine, subject=f"old{index}", roles=("captain",), action="view")
    guards = _triggers(engine)
    tomorrow = datetime.now(LOCAL_TIMEZONE).date() + timedelta(days=1)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        assert destroy_audit(connection, tomorrow).audit_rows == 2
        raise RuntimeError("rolled back, as a dry run is")
    assert _triggers(engine) == guards and count(engine, audit_event) == 2
    with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(audit_event.delete())
    _set_period(engine, "audit", 1)
    dry = _retention(database_url, "--older-than", "1", "--audit", "--dry-run", RELAIS_AUDIT_KEY=AUDIT_KEY)
    assert dry.returncode == 0, dry.stderr
    assert _triggers(engine) == guards
