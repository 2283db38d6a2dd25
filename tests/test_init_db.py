"""`python -m dashboard init-db` migrates, loads the reference data, and audits what it did."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from dashboard.commands.init_db import run_init_db_command, schema_revision
from dashboard.database import build_engine
from dashboard.settings import PROJECT_ROOT
from queries import migrate
from queries.audit import verify_chain
from queries.reference import REFERENCE_DIR
from queries.schema import audit_event

HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
REFERENCE_FILES = {name: hashlib.sha256((REFERENCE_DIR / name).read_bytes()).hexdigest()
                   for name in ("municipalities.csv", "organisations.csv", "police_services.csv")}


def init_db_rows(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(audit_event).where(audit_event.c.action == "init_db")
                                  .order_by(audit_event.c.id)).all()


def test_a_new_database_is_created_and_its_creation_audited(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    environment = {**os.environ, "DATABASE_URL": url, "RELAIS_USER": "admin@relais", "RELAIS_LANGUAGE": "en"}
    done = subprocess.run([sys.executable, "-m", "dashboard", "init-db"], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 police services, 18 municipalities" in done.stdout
    engine = build_engine(url)
    try:
        (row,) = init_db_rows(engine)
        assert (row.subject, row.roles, row.services, row.filters) == ("admin@relais", "command", "*", None)
        detail = json.loads(row.detail)
        assert detail.pop("os_user")
        assert detail == {"relais_user": "admin@relais", "status": "done", "schema_from": None, "schema_to": HEAD,
                          "police_services": 2, "municipalities": 18, "organisations": 6,
                          "reference_files_sha256": REFERENCE_FILES}
        assert verify_chain(engine).rows == 1
    finally:
        engine.dispose()


def test_an_upgrade_is_audited_after_the_migrations_on_both_databases(engine, capsys):
    assert run_init_db_command(engine) == 0
    (row,) = init_db_rows(engine)
    detail = json.loads(row.detail)
    assert (detail["status"], detail["schema_from"], detail["schema_to"]) == ("done", HEAD, HEAD)
    assert (detail["police_services"], detail["municipalities"]) == (2, 18)
    assert "18" in capsys.readouterr().out


def test_a_failure_after_the_migrations_is_audited_with_its_type(engine, monkeypatch):
    from dashboard.commands import init_db

    def broken(_engine):
        raise FileNotFoundError("reference_data/municipalities.csv")

    monkeypatch.setattr(init_db, "load_reference", broken)
    with pytest.raises(FileNotFoundError):
        run_init_db_command(engine)
    (row,) = init_db_rows(engine)
    detail = json.loads(row.detail)
    assert {key: detail[key] for key in ("status", "schema_from", "schema_to", "error")} == {
        "status": "failed", "schema_from": HEAD, "schema_to": HEAD, "error": "FileNotFoundError"}
    assert schema_revision(engine) == HEAD
