"""The migrations match the schema module, the reference data loads, and the audit table is append-only."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import exc, func, select, text, update

from queries.audit import record_event
from queries.migrate import upgrade, upgrade_to_head
from queries.reference import load_reference
from queries.schema import audit_event, membership, metadata, municipality, police_service
from tests.backends import empty_database


def test_migrations_produce_the_declared_schema(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_upgrade_and_reference_load_are_repeatable(engine):
    upgrade_to_head(engine)
    counts = load_reference(engine)
    assert (counts.police_services, counts.municipalities, counts.memberships) == (2, 18, 18)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(membership)) == 18
        assert connection.scalar(
            select(func.sum(municipality.c.population_2021)).where(
                municipality.c.code.in_(
                    select(membership.c.municipality_code).where(membership.c.police_service == "RIPRSL")
                )
            )
        ) == 214_345
        saguenay = connection.execute(select(municipality).where(municipality.c.code == "94068")).one()
        assert (saguenay.name, saguenay.population_2021) == ("Saguenay", 144_723)
        assert connection.scalar(select(police_service.c.name_fr).where(police_service.c.code == "SPS")) == (
            "Service de police de Saguenay"
        )


def test_audit_rows_cannot_be_changed_or_deleted(engine):
    record_event(engine, subject="alice", roles=("captain",), action="view")
    with pytest.raises(exc.DatabaseError), engine.begin() as connection:
        connection.execute(update(audit_event).values(subject="mallory"))
    with pytest.raises(exc.DatabaseError), engine.begin() as connection:
        connection.execute(audit_event.delete())
    with engine.connect() as connection:
        assert connection.scalar(select(audit_event.c.subject)) == "alice"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_a_database_with_attempts_keeps_every_row(backend, tmp_path):
    """Alembic rebuilds SQLite tables to alter them: the cascade from intervention must not empty outreach_attempt."""

    def check(engine) -> None:
        upgrade(engine, "0002")
        load_reference(engine)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO intervention (id, police_service, event_id, municipality_code, occurred_at, occurred_us,"
                " occurred_date, occurred_week, arrest, arrested_at, arrested_us, arrested_date, arrested_week,"
                " subject_key, contact_ban) VALUES (1, 'RIPRSL', 'E1', '57040', '2024-05-01 14:00:00+00:00',"
                " 1714572000000000, '2024-05-01', '2024-W18', :yes, '2024-05-01 15:00:00+00:00', 1714575600000000,"
                " '2024-05-01', '2024-W18', NULL, :no)"), {"yes": True, "no": False})
            connection.execute(text(
                "INSERT INTO outreach_attempt (attempt_id, intervention_id, police_service, event_id, attempted_at,"
                " attempted_us, attempted_date, subject_role, outcome) VALUES ('A1', 1, 'RIPRSL', 'E1',"
                " '2024-05-02 15:00:00+00:00', 1714662000000000, '2024-05-02', 'offender', 'accepted')"))
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT attempt_id, outcome FROM outreach_attempt")).all() == [
                ("A1", "accepted")]
            assert connection.scalar(text("SELECT count(*) FROM intervention")) == 1
            if backend == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    with empty_database(backend, tmp_path) as engine:
        check(engine)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_to_0014_names_each_earlier_batch_by_its_service_and_channel(backend, tmp_path):
    """A batch imported before 0014 gets the service of the rows it brought, and the command (or demo) channel."""

    def check(engine) -> None:
        upgrade(engine, "0013")
        load_reference(engine)
        with engine.begin() as connection:
            for batch_id, demo in ((1, False), (2, True), (3, False)):
                connection.execute(text(
                    "INSERT INTO import_batch (id, kind, file_name, file_sha256, imported_by, started_at, finished_at,"
                    " status, rows_read, rows_accepted, rows_rejected, demo) VALUES (:id, 'interventions', 'f.csv',"
                    " :sha, 'x', '2024-05-01 14:00:00+00:00', '2024-05-01 14:00:00+00:00', 'imported', 1, 1, 0,"
                    " :demo)"), {"id": batch_id, "sha": str(batch_id) * 64, "demo": demo})
            for batch_id, service, municipality_code in ((1, "SPS", "94068"), (2, "RIPRSL", "57040")):
                connection.execute(text(
                    "INSERT INTO intervention (police_service, event_id, municipality_code, occurred_at, occurred_us,"
                    " occurred_date, occurred_week, arrest, subject_key, contact_ban, batch_id, demo) VALUES"
                    " (:service, :event, :municipality, '2024-05-01 14:00:00+00:00', 1714572000000000, '2024-05-01',"
                    " '2024-W18', :no, NULL, :no, :batch, :demo)"),
                    {"service": service, "event": f"E{batch_id}", "municipality": municipality_code, "no": False,
                     "batch": batch_id, "demo": batch_id == 2})
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, police_service, channel FROM import_batch ORDER BY id")).all()
        # Batch 3 brought no row: its service is unknown, not guessed.
        assert [tuple(row) for row in rows] == [(1, "SPS", "command"), (2, "RIPRSL", "demo"), (3, None, "command")]

    with empty_database(backend, tmp_path) as engine:
        check(engine)
