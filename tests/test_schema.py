"""The migrations match the schema module, the reference data loads, and the audit table is append-only."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import exc, func, select, update

from queries.audit import record_event
from queries.migrate import upgrade_to_head
from queries.reference import load_reference
from queries.schema import audit_event, membership, metadata, municipality, police_service


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
