"""The history of imports and the services an administrator imports for, scoped, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from queries import writes
from queries.filters import Scope
from queries.imports import import_history, import_services

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
# (hours after START, service, channel, kind, status, read, accepted, rejected); the NULL service is reference data.
BATCHES = [
    (0, "RIPRSL", "command", "interventions", "imported", 10, 10, 0),
    (1, "SPS", "drop_folder", "interventions", "partial", 8, 7, 1),
    (2, None, "upload", "municipalities", "imported", 17, 17, 0),
    (3, "RIPRSL", "upload", "outreach", "rejected", 5, 0, 2),
    (4, "SPS", "form", "interventions", "imported", 1, 1, 0),
]
EVERYTHING = Scope(all_services=True, roles=frozenset({"admin"}))


@pytest.fixture
def batches(engine):
    with engine.begin() as connection:
        for hours, service, channel, kind, status, read, accepted, rejected in BATCHES:
            started = START + timedelta(hours=hours)
            writes.insert_import_batch(connection, {
                "kind": kind, "file_name": f"{kind}-{hours}.csv", "file_sha256": f"{hours:064d}",
                "imported_by": f"person-{hours}", "started_at": started, "finished_at": started + timedelta(seconds=5),
                "status": status, "rows_read": read, "rows_accepted": accepted, "rows_rejected": rejected,
                "problems": "[]", "demo": False, "police_service": service, "channel": channel,
            })
    return engine


def test_every_service_sees_every_batch_newest_first_with_its_counts(batches):
    frame = import_history(batches, EVERYTHING)
    assert list(frame["file_name"]) == ["interventions-4.csv", "outreach-3.csv", "municipalities-2.csv",
                                        "interventions-1.csv", "interventions-0.csv"]
    assert list(frame["channel"]) == ["form", "upload", "upload", "drop_folder", "command"]
    assert list(frame["police_service"].fillna("-")) == ["SPS", "RIPRSL", "-", "SPS", "RIPRSL"]
    assert list(frame["rows_accepted"]) == [1, 0, 17, 7, 10] and list(frame["rows_rejected"]) == [0, 2, 0, 1, 0]
    assert list(frame["imported_by"]) == ["person-4", "person-3", "person-2", "person-1", "person-0"]
    started = [moment.astimezone(UTC) for moment in frame["started_at"]]
    assert started[0] == START + timedelta(hours=4)
    assert frame["finished_at"].iloc[0].astimezone(UTC) == START + timedelta(hours=4, seconds=5)


def test_one_services_administrator_sees_its_batches_and_no_reference_batch(batches):
    frame = import_history(batches, Scope.of("RIPRSL", role="admin"))
    assert list(frame["file_name"]) == ["outreach-3.csv", "interventions-0.csv"]
    frame = import_history(batches, Scope.of("SPS", "RIPRSL", role="admin"))
    assert list(frame["police_service"]) == ["SPS", "RIPRSL", "SPS", "RIPRSL"]


def test_the_limit_is_applied_in_the_query(batches):
    assert list(import_history(batches, EVERYTHING, limit=2)["file_name"]) == ["interventions-4.csv",
                                                                              "outreach-3.csv"]


@pytest.mark.parametrize("scope", [Scope.of("RIPRSL"), Scope(all_services=True, roles=frozenset({"worker"})),
                                   Scope(services=frozenset({"SPS"}))])
def test_only_administrators_read_the_history(batches, scope):
    with pytest.raises(PermissionError):
        import_history(batches, scope)
    with pytest.raises(PermissionError):
        import_services(batches, scope)


def test_an_administrator_without_a_service_sees_nothing(batches):
    assert import_history(batches, Scope(roles=frozenset({"admin"}))).empty
    assert import_services(batches, Scope(roles=frozenset({"admin"}))).empty


def test_the_services_one_may_import_for(engine):
    assert list(import_services(engine, EVERYTHING)["code"]) == ["RIPRSL", "SPS"]
    assert list(import_services(engine, Scope.of("SPS", role="admin"))["name_en"]) == ["Saguenay Police Service"]
