"""Importing interventions and outreach files: every contract rule, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import exc, insert, select, update

from dashboard.i18n import t
from dashboard.ingest import importer
from dashboard.ingest.importer import import_file, write_rejects
from queries.schema import import_batch, intervention, membership, outreach_attempt
from tests.conftest import TEST_PSEUDONYM_KEY

PROJECT_ROOT = Path(__file__).resolve().parent.parent

INTERVENTION = {
    "event_id": "E1",
    "police_service": "RIPRSL",
    "municipality_code": "57040",
    "occurred_at": "2024-05-01 22:15",
    "arrest": "true",
    "arrested_at": "2024-05-01 23:00",
    "subject_key": "K1",
    "contact_ban": "false",
}
ATTEMPT = {
    "attempt_id": "A1",
    "police_service": "RIPRSL",
    "event_id": "E1",
    "attempted_at": "2024-05-02 09:00",
    "subject_role": "offender",
    "outcome": "accepted",
    "channel": "phone",
    "referral": "men_program",
}


def keyed(subject_key: str) -> str:
    """The stored pseudonym of a subject key under the tests' secret, computed here with hmac itself."""
    return hmac.new(TEST_PSEUDONYM_KEY.encode(), subject_key.encode(), hashlib.sha256).hexdigest()


def csv_bytes(rows: list[dict[str, str]], delimiter: str = ",") -> bytes:
    output = io.StringIO()
    writer = csv.DictWriter(output, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return output.getvalue().encode("utf-8")


def import_rows(engine, kind: str, rows: list[dict[str, str]], **options) -> importer.ImportReport:
    return import_file(engine, kind, csv_bytes(rows), f"{kind}.csv", imported_by="tester", **options)


def intervention_row(**changes: str) -> dict[str, str]:
    return INTERVENTION | changes


def attempt_row(**changes: str) -> dict[str, str]:
    return ATTEMPT | changes


def stored(engine, table, *columns: str) -> list[tuple]:
    with engine.connect() as connection:
        return [
            tuple(row) for row in connection.execute(select(*(table.c[name] for name in columns)).order_by(table.c.id))
        ]


def batches(engine) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(import_batch).order_by(import_batch.c.id))]


def counts(batch: dict) -> tuple[str, int, int, int]:
    return batch["status"], batch["rows_read"], batch["rows_accepted"], batch["rows_rejected"]


def problems_of(report) -> list[tuple[int, str, str, str]]:
    return [dataclasses.astuple(problem) for problem in report.problems]


# --- interventions: stored values ---------------------------------------------------------------


def test_valid_intervention_is_stored_with_utc_time_local_date_and_week(engine):
    data = csv_bytes([intervention_row(police_service="riprsl", subject_key="")])
    report = import_file(engine, "interventions", data, "interventions.csv", imported_by="tester")
    assert (report.status, report.rows_read, report.accepted, report.new, report.written) == ("imported", 1, 1, 1, True)
    expected = {
        "police_service": "RIPRSL",
        "event_id": "E1",
        "municipality_code": "57040",
        "occurred_at": datetime(2024, 5, 2, 2, 15, tzinfo=UTC),
        "occurred_us": 1714616100000000,
        "occurred_date": date(2024, 5, 1),
        "occurred_week": "2024-W18",
        "arrest": True,
        "arrested_at": datetime(2024, 5, 2, 3, 0, tzinfo=UTC),
        "arrested_us": 1714618800000000,
        "arrested_date": date(2024, 5, 1),
        "arrested_week": "2024-W18",
        "subject_key": None,
        "contact_ban": False,
        "batch_id": report.batch_id,
    }
    assert stored(engine, intervention, *expected) == [tuple(expected.values())]
    (batch,) = batches(engine)
    assert (batch["id"], batch["kind"], batch["file_name"], batch["imported_by"]) == (
        report.batch_id,
        "interventions",
        "interventions.csv",
        "tester",
    )
    assert (batch["file_sha256"], batch["problems"]) == (hashlib.sha256(data).hexdigest(), "[]")
    assert counts(batch) == ("imported", 1, 1, 0)
    assert batch["started_at"] <= batch["finished_at"]
    assert batch["started_at"].tzinfo is not None


def test_optional_columns_may_be_left_out_of_the_file(engine):
    row = {name: INTERVENTION[name] for name in ("event_id", "police_service", "municipality_code", "occurred_at")}
    report = import_rows(engine, "interventions", [row | {"arrest": "non"}])
    assert report.status == "imported"
    assert stored(engine, intervention, "arrest", "arrested_at", "subject_key", "contact_ban") == [
        (False, None, None, False)
    ]


def test_every_boolean_spelling_is_read(engine):
    spellings = {
        "true": True,
        "FALSE": False,
        "1": True,
        "0": False,
        "Yes": True,
        "no": False,
        "Y": True,
        "n": False,
        "OUI": True,
        "non": False,
        "o": True,
        "N": False,
        "Vrai": True,
        "faux": False,
    }
    rows = [intervention_row(event_id=f"E{index}", contact_ban=text) for index, text in enumerate(spellings)]
    assert import_rows(engine, "interventions", rows).status == "imported"
    assert [ban for (ban,) in stored(engine, intervention, "contact_ban")] == list(spellings.values())


@pytest.mark.parametrize(
    ("text", "utc", "local_day", "week"),
    [
        ("2024-03-10T01:30:00-05:00", datetime(2024, 3, 10, 6, 30, tzinfo=UTC), date(2024, 3, 10), "2024-W10"),
        ("2024-07-01T12:00:00Z", datetime(2024, 7, 1, 12, 0, tzinfo=UTC), date(2024, 7, 1), "2024-W27"),
        ("2024-12-31 23:30", datetime(2025, 1, 1, 4, 30, tzinfo=UTC), date(2024, 12, 31), "2025-W01"),
        # A local time the spring change skips, and one the autumn change repeats: fold=0, not an error.
        ("2024-03-10 02:30", datetime(2024, 3, 10, 7, 30, tzinfo=UTC), date(2024, 3, 10), "2024-W10"),
        ("2024-11-03 01:30", datetime(2024, 11, 3, 5, 30, tzinfo=UTC), date(2024, 11, 3), "2024-W44"),
        (
            "2024-06-30 23:59:59.123456",
            datetime(2024, 7, 1, 3, 59, 59, 123456, tzinfo=UTC),
            date(2024, 6, 30),
            "2024-W26",
        ),
    ],
)
def test_time_zones_are_stored_as_utc_with_the_local_date_and_week(engine, text, utc, local_day, week):
    report = import_rows(engine, "interventions", [intervention_row(occurred_at=text, arrest="non", arrested_at="")])
    assert report.status == "imported"
    expected_us = int(utc.timestamp()) * 1_000_000 + utc.microsecond
    assert stored(engine, intervention, "occurred_at", "occurred_us", "occurred_date", "occurred_week") == [
        (utc, expected_us, local_day, week)
    ]


# --- interventions: one rule at a time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"event_id": ""}, "event_id", ("import.reason.required", {})),
        ({"event_id": "X" * 65}, "event_id", ("import.reason.too_long", {"limit": 64})),
        ({"police_service": ""}, "police_service", ("import.reason.required", {})),
        ({"police_service": "SPVM"}, "police_service", ("import.reason.unknown_service", {})),
        ({"municipality_code": ""}, "municipality_code", ("import.reason.required", {})),
        ({"municipality_code": "5704"}, "municipality_code", ("import.reason.municipality_code", {})),
        ({"municipality_code": "57O40"}, "municipality_code", ("import.reason.municipality_code", {})),
        ({"municipality_code": "94068"}, "municipality_code", ("import.reason.municipality_outside_service", {})),
        ({"municipality_code": "99999"}, "municipality_code", ("import.reason.municipality_outside_service", {})),
        ({"occurred_at": ""}, "occurred_at", ("import.reason.required", {})),
        ({"occurred_at": "2024-05-01"}, "occurred_at", ("import.reason.timestamp", {})),
        ({"occurred_at": "01/05/2024 22:15"}, "occurred_at", ("import.reason.timestamp", {})),
        ({"occurred_at": "2024-02-30 22:15"}, "occurred_at", ("import.reason.timestamp", {})),
        ({"arrest": ""}, "arrest", ("import.reason.required", {})),
        ({"arrest": "peut-être"}, "arrest", ("import.reason.boolean", {})),
        ({"arrested_at": ""}, "arrested_at", ("import.reason.arrested_at_required", {})),
        ({"arrest": "non"}, "arrested_at", ("import.reason.arrested_at_not_empty", {})),
        ({"arrested_at": "demain"}, "arrested_at", ("import.reason.timestamp", {})),
        ({"arrested_at": "2024-05-01 22:14"}, "arrested_at", ("import.reason.arrested_before_occurred", {})),
        ({"contact_ban": "parfois"}, "contact_ban", ("import.reason.boolean", {})),
    ],
)
def test_intervention_rule(engine, changes, column, reason):
    row = intervention_row(**changes)
    report = import_rows(engine, "interventions", [row])
    key, values = reason
    assert problems_of(report) == [(2, column, row[column], t(key, **values))]
    assert (report.status, report.accepted, report.written) == ("rejected", 0, False)
    assert stored(engine, intervention, "id") == []


def test_limits_that_are_still_valid(engine):
    row = intervention_row(event_id="X" * 64, arrested_at=INTERVENTION["occurred_at"])
    assert import_rows(engine, "interventions", [row]).status == "imported"
    assert stored(engine, intervention, "event_id") == [("X" * 64,)]


def test_municipality_is_checked_against_the_service_at_the_local_date(engine):
    with engine.begin() as connection:
        condition = (membership.c.municipality_code == "57040") & (membership.c.police_service == "RIPRSL")
        connection.execute(update(membership).where(condition).values(member_until=date(2020, 12, 31)))
        connection.execute(
            insert(membership).values(municipality_code="57040", police_service="SPS", member_from=date(2021, 1, 1))
        )
    rows = [
        # 03:00 UTC on 1 January is still 31 December in Quebec, when RIPRSL served Beloeil.
        intervention_row(event_id="E1", occurred_at="2021-01-01T03:00:00Z", arrest="non", arrested_at=""),
        intervention_row(event_id="E2", occurred_at="2021-01-01 10:00", arrest="non", arrested_at=""),
        intervention_row(
            event_id="E3", police_service="SPS", occurred_at="2021-01-01 10:00", arrest="non", arrested_at=""
        ),
    ]
    report = import_rows(engine, "interventions", rows, skip_invalid=True)
    reason = t("import.reason.municipality_outside_service")
    assert problems_of(report) == [(3, "municipality_code", "57040", reason)]
    assert stored(engine, intervention, "police_service", "event_id") == [("RIPRSL", "E1"), ("SPS", "E3")]


def test_every_problem_of_every_row_is_reported_in_one_run(engine):
    rows = [
        intervention_row(event_id="E1", police_service="SPVM", occurred_at="hier", arrest="peut-être"),
        intervention_row(event_id="E2"),
        intervention_row(event_id="E3", contact_ban="?"),
    ]
    report = import_rows(engine, "interventions", rows)
    assert [(problem.line, problem.column) for problem in report.problems] == [
        (2, "police_service"),
        (2, "occurred_at"),
        (2, "arrest"),
        (4, "contact_ban"),
    ]
    assert [row.line for row in report.rejected] == [2, 4]
    assert stored(engine, intervention, "id") == []


def test_a_key_repeated_in_the_file_is_refused_after_its_first_line(engine):
    rows = [
        intervention_row(event_id="E1", arrest="?"),
        intervention_row(event_id="E1", police_service="riprsl"),
        intervention_row(event_id="E1", police_service="SPS", municipality_code="94068"),
        intervention_row(event_id="E2"),
        intervention_row(event_id="E1"),
    ]
    report = import_rows(engine, "interventions", rows, skip_invalid=True)
    duplicate = t("import.reason.duplicate_key", line=2)
    assert problems_of(report) == [
        (2, "arrest", "?", t("import.reason.boolean")),
        (3, "event_id", "E1", duplicate),
        (6, "event_id", "E1", duplicate),
    ]
    assert stored(engine, intervention, "police_service", "event_id") == [("SPS", "E1"), ("RIPRSL", "E2")]


# --- the file as a French spreadsheet exports it ------------------------------------------------


FRENCH_EXPORT = (
    "\ufeff Event_ID ;POLICE_SERVICE;Municipality_Code;Occurred_At;Arrest;Arrested_At;"
    "Subject_Key;Contact_Ban;Remarques\r\n"
    "2024-0001;riprsl;57040;2024-05-01 22:15;OUI;2024-05-01 23:00; K1 ;non;appel du voisin, 2e fois\r\n"
    "\r\n"
    ";;;;;;;;\r\n"
    "2024-0002;sps;94068;2024-05-02T08:00:00-04:00;Non;;;Vrai;\r\n"
    "2024-0003;SPS;94068;2024-05-03 08:00;o;;;;\r\n"
)


def test_french_spreadsheet_export_is_read_and_lines_count_skipped_blank_lines(engine, tmp_path):
    report = import_file(engine, "interventions", FRENCH_EXPORT.encode("utf-8"), "export.csv", skip_invalid=True)
    assert (report.delimiter, report.rows_read, report.accepted) == (";", 3, 2)
    assert problems_of(report) == [(6, "arrested_at", "", t("import.reason.arrested_at_required"))]
    assert stored(engine, intervention, "police_service", "event_id", "arrest", "subject_key", "contact_ban") == [
        ("RIPRSL", "2024-0001", True, keyed("K1"), False),
        ("SPS", "2024-0002", False, None, True),
    ]

    rejects = tmp_path / "rejets.csv"
    write_rejects(report, rejects)
    content = rejects.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
    reason = t("import.rejects.reason", column="arrested_at", reason=t("import.reason.arrested_at_required"))
    assert lines == [
        [
            " Event_ID ",
            "POLICE_SERVICE",
            "Municipality_Code",
            "Occurred_At",
            "Arrest",
            "Arrested_At",
            "Subject_Key",
            "Contact_Ban",
            "Remarques",
            "line",
            "reason",
        ],
        ["2024-0003", "SPS", "94068", "2024-05-03 08:00", "o", "", "", "", "", "6", reason],
    ]


def test_rejects_file_joins_the_reasons_of_a_row_and_keeps_every_value(engine, tmp_path):
    data = b"event_id,police_service,municipality_code,occurred_at,arrest\nE1,SPVM,57040,hier,oui,surplus\nE2,SPS\n"
    report = import_file(engine, "interventions", data, "x.csv", skip_invalid=True)
    rejects = tmp_path / "rejects.csv"
    write_rejects(report, rejects)
    lines = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig"), newline="")))
    assert lines[0] == ["event_id", "police_service", "municipality_code", "occurred_at", "arrest", "line", "reason"]
    assert lines[1][:6] == ["E1", "SPVM", "57040", "hier", "oui", "2"]
    assert lines[1][6].split(importer.REASON_SEPARATOR) == [
        t("import.rejects.reason", column="police_service", reason=t("import.reason.unknown_service")),
        t("import.rejects.reason", column="occurred_at", reason=t("import.reason.timestamp")),
        t("import.rejects.reason", column="arrested_at", reason=t("import.reason.arrested_at_required")),
        t("import.reason.extra_values"),
    ]
    assert lines[1][7:] == ["surplus"]
    assert lines[2][:6] == ["E2", "SPS", "", "", "", "3"]


# --- whole-file problems -------------------------------------------------------------------------


WHOLE_FILE_PROBLEMS = {
    "not utf-8": (
        "event_id,police_service,municipality_code,occurred_at,arrest\nE1,RIPRSL,57040,2024-05-01 22:15,non\n"
        "E2,RIPRSL,57040,2024-05-01 22:15,non # Montréal\n".encode("cp1252"),
        [(1, "", "", t("import.file.not_utf8", line=3))],
    ),
    "missing column": (
        b"event_id;police_service;occurred_at;arrest\nE1;RIPRSL;2024-05-01 22:15;non\n",
        [(1, "municipality_code", "", t("import.file.missing_columns"))],
    ),
    "repeated column": (
        b"event_id,police_service,municipality_code,occurred_at,arrest, Arrest\n"
        b"E1,RIPRSL,57040,2024-05-01 22:15,non,oui\n",
        [(1, "arrest", "", t("import.file.repeated_columns"))],
    ),
}


@pytest.mark.parametrize("skip_invalid", [False, True])
@pytest.mark.parametrize("problem", WHOLE_FILE_PROBLEMS)
def test_whole_file_problems_reject_everything_at_line_1(engine, problem, skip_invalid):
    data, expected = WHOLE_FILE_PROBLEMS[problem]
    report = import_file(engine, "interventions", data, "bad.csv", skip_invalid=skip_invalid)
    assert report.file_problem and not report.written
    assert problems_of(report) == expected
    assert stored(engine, intervention, "id") == []
    (batch,) = batches(engine)
    assert counts(batch) == ("rejected", 0, 0, 0)
    assert batch["file_sha256"] == hashlib.sha256(data).hexdigest()


def test_an_invalid_row_rejects_the_file_but_the_attempt_is_recorded(engine):
    report = import_rows(
        engine, "interventions", [intervention_row(event_id="E1"), intervention_row(event_id="E2", arrest="?")]
    )
    assert stored(engine, intervention, "id") == []
    (batch,) = batches(engine)
    assert batch["id"] == report.batch_id
    assert counts(batch) == ("rejected", 2, 0, 1)
    assert json.loads(batch["problems"]) == [
        {"line": 3, "column": "arrest", "value": "?", "reason": t("import.reason.boolean")}
    ]


def test_skip_invalid_writes_the_valid_rows_as_a_partial_batch(engine):
    rows = [
        intervention_row(event_id="E1"),
        intervention_row(event_id="E2", arrest="?"),
        intervention_row(event_id="E3"),
    ]
    report = import_rows(engine, "interventions", rows, skip_invalid=True)
    assert (report.status, report.accepted, len(report.rejected)) == ("partial", 2, 1)
    assert stored(engine, intervention, "event_id", "batch_id") == [("E1", report.batch_id), ("E3", report.batch_id)]
    (batch,) = batches(engine)
    assert counts(batch) == ("partial", 3, 2, 1)


def test_each_batch_keeps_its_police_service_and_the_way_the_file_came(engine):
    """The service a file was confined to (or the one its rows name) and its channel, refused files included."""
    import_rows(engine, "interventions", [intervention_row(event_id="E1")], service="RIPRSL", channel="upload")
    import_rows(engine, "interventions", [intervention_row(event_id="E2")])
    import_rows(engine, "interventions", [intervention_row(event_id="E3", arrest="?")], service="RIPRSL",
                channel="drop_folder")
    assert [(batch["police_service"], batch["channel"], batch["status"]) for batch in batches(engine)] == [
        ("RIPRSL", "upload", "imported"), ("RIPRSL", "command", "imported"), ("RIPRSL", "drop_folder", "rejected")]


# --- re-imports and transactions -----------------------------------------------------------------


def test_reimporting_replaces_rows_by_key_and_keeps_their_ids(engine):
    rows = [intervention_row(event_id="E1"), intervention_row(event_id="E2", arrest="non", arrested_at="")]
    first = import_rows(engine, "interventions", rows)
    assert import_rows(engine, "outreach", [attempt_row()]).status == "imported"
    before = stored(engine, intervention, "id", "event_id", "arrest", "subject_key")

    again = import_rows(engine, "interventions", rows)
    assert (again.accepted, again.new, again.replaced) == (2, 0, 2)
    assert stored(engine, intervention, "id", "event_id", "arrest", "subject_key") == before

    changed = [
        intervention_row(event_id="E1", arrest="non", arrested_at="", subject_key="K9"),
        intervention_row(event_id="E3"),
    ]
    third = import_rows(engine, "interventions", changed)
    assert (third.new, third.replaced) == (1, 1)
    assert stored(engine, intervention, "event_id", "arrest", "arrested_at", "subject_key", "batch_id") == [
        ("E1", False, None, keyed("K9"), third.batch_id),
        ("E2", False, None, keyed("K1"), again.batch_id),
        ("E3", True, datetime(2024, 5, 2, 3, 0, tzinfo=UTC), keyed("K1"), third.batch_id),
    ]
    assert stored(engine, outreach_attempt, "intervention_id") == [(before[0][0],)]
    assert [batch["status"] for batch in batches(engine)] == ["imported"] * 4
    assert first.batch_id < again.batch_id < third.batch_id


def test_a_failure_in_the_middle_of_the_writes_leaves_the_database_as_it_was(engine, monkeypatch):
    rows = [intervention_row(event_id=f"E{index}") for index in range(5)]
    import_rows(engine, "interventions", rows)
    before = stored(engine, intervention, *intervention.c.keys())
    batches_before = batches(engine)

    original = importer.KINDS["interventions"]
    written_chunks = []

    def upsert_then_fail(connection, chunk):
        if written_chunks:
            raise RuntimeError("disk full")
        original.upsert(connection, chunk)
        written_chunks.append(len(chunk))

    monkeypatch.setattr(importer, "WRITE_CHUNK", 2)
    monkeypatch.setitem(importer.KINDS, "interventions", dataclasses.replace(original, upsert=upsert_then_fail))
    changed = [intervention_row(event_id=f"E{index}", subject_key="changed") for index in range(7)]
    with pytest.raises(RuntimeError, match="disk full"):
        import_rows(engine, "interventions", changed)

    assert written_chunks == [2]
    assert stored(engine, intervention, *intervention.c.keys()) == before
    # The run is recorded as failed, with none of its rows.
    *kept, failed = batches(engine)
    assert kept == batches_before and counts(failed) == ("failed", 7, 0, 0)


# --- outreach -------------------------------------------------------------------------------------


@pytest.fixture
def interventions(engine):
    """E1 with an arrest at 23:00 local, E2 without arrest at 10:00 local, both RIPRSL."""
    rows = [
        intervention_row(event_id="E1"),
        intervention_row(event_id="E2", occurred_at="2024-05-03 10:00", arrest="non", arrested_at=""),
    ]
    assert import_rows(engine, "interventions", rows).status == "imported"
    return {event_id: id_ for id_, event_id in stored(engine, intervention, "id", "event_id")}


def test_valid_attempts_are_stored_with_their_intervention_and_lower_case_values(engine, interventions):
    rows = [
        attempt_row(
            attempt_id="A1",
            police_service="riprsl",
            subject_role="OFFENDER",
            outcome="Accepted",
            channel="In_Person",
            referral="THERAPY",
        ),
        attempt_row(
            attempt_id="A2",
            event_id="E2",
            attempted_at="2024-05-03 10:00",
            subject_role="victim",
            outcome="no_answer",
            channel="",
            referral="",
        ),
    ]
    report = import_rows(engine, "outreach", rows)
    assert (report.status, report.accepted) == ("imported", 2)
    expected = [
        {
            "attempt_id": "A1",
            "intervention_id": interventions["E1"],
            "police_service": "RIPRSL",
            "event_id": "E1",
            "attempted_at": datetime(2024, 5, 2, 13, 0, tzinfo=UTC),
            "attempted_us": 1714654800000000,
            "attempted_date": date(2024, 5, 2),
            "subject_role": "offender",
            "outcome": "accepted",
            "channel": "in_person",
            "referral": "therapy",
            "batch_id": report.batch_id,
        },
        {
            "attempt_id": "A2",
            "intervention_id": interventions["E2"],
            "police_service": "RIPRSL",
            "event_id": "E2",
            "attempted_at": datetime(2024, 5, 3, 14, 0, tzinfo=UTC),
            "attempted_us": 1714744800000000,
            "attempted_date": date(2024, 5, 3),
            "subject_role": "victim",
            "outcome": "no_answer",
            "channel": None,
            "referral": None,
            "batch_id": report.batch_id,
        },
    ]
    assert stored(engine, outreach_attempt, *expected[0]) == [tuple(row.values()) for row in expected]


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"attempt_id": ""}, "attempt_id", ("import.reason.required", {})),
        ({"attempt_id": "A" * 65}, "attempt_id", ("import.reason.too_long", {"limit": 64})),
        ({"police_service": "SQ"}, "police_service", ("import.reason.unknown_service", {})),
        ({"event_id": ""}, "event_id", ("import.reason.required", {})),
        ({"event_id": "E404"}, "event_id", ("import.reason.unknown_event", {})),
        ({"police_service": "SPS"}, "event_id", ("import.reason.unknown_event", {})),
        ({"attempted_at": "2024-05-02"}, "attempted_at", ("import.reason.timestamp", {})),
        ({"attempted_at": "2024-05-01 22:59"}, "attempted_at", ("import.reason.attempt_before_intervention", {})),
        (
            {"event_id": "E2", "attempted_at": "2024-05-03 09:59"},
            "attempted_at",
            ("import.reason.attempt_before_intervention", {}),
        ),
        ({"subject_role": ""}, "subject_role", ("import.reason.required", {})),
        ({"subject_role": "witness"}, "subject_role", ("import.reason.choice", {"allowed": "offender, victim"})),
        (
            {"outcome": "maybe"},
            "outcome",
            ("import.reason.choice",
             {"allowed": "no_answer, wrong_number, unsafe_to_leave_message, accepted, declined, already_in_help"}),
        ),
        ({"channel": "fax"}, "channel", ("import.reason.choice", {"allowed": "phone, in_person, sms, other"})),
        (
            {"referral": "yoga"},
            "referral",
            (
                "import.reason.choice",
                {"allowed": "men_program, therapy, addiction, shelter, victim_assistance, legal, other"},
            ),
        ),
    ],
)
def test_outreach_rule(engine, interventions, changes, column, reason):
    row = attempt_row(**changes)
    report = import_rows(engine, "outreach", [row])
    key, values = reason
    assert problems_of(report) == [(2, column, row[column], t(key, **values))]
    assert stored(engine, outreach_attempt, "id") == []


def test_attempts_at_the_arrest_or_intervention_time_are_valid(engine, interventions):
    rows = [
        attempt_row(attempt_id="A1", attempted_at="2024-05-02T03:00:00Z"),
        attempt_row(attempt_id="A2", event_id="E2", attempted_at="2024-05-03 10:00"),
    ]
    assert import_rows(engine, "outreach", rows).status == "imported"
    assert stored(engine, outreach_attempt, "attempt_id") == [("A1",), ("A2",)]


def test_repeated_attempt_ids_and_reimports(engine, interventions):
    rows = [
        attempt_row(attempt_id="A1"),
        attempt_row(attempt_id="A2"),
        attempt_row(attempt_id="A1", outcome="declined"),
    ]
    report = import_rows(engine, "outreach", rows, skip_invalid=True)
    assert problems_of(report) == [(4, "attempt_id", "A1", t("import.reason.duplicate_key", line=2))]

    again = import_rows(
        engine,
        "outreach",
        [attempt_row(attempt_id="A1", outcome="declined", event_id="E2", attempted_at="2024-05-04 10:00")],
    )
    assert (again.new, again.replaced) == (0, 1)
    assert stored(engine, outreach_attempt, "attempt_id", "intervention_id", "outcome") == [
        ("A1", interventions["E2"], "declined"),
        ("A2", interventions["E1"], "accepted"),
    ]


# --- the command line -----------------------------------------------------------------------------


# The command imports one police service's file at a time: the French export, all of it Saguenay's.
SAGUENAY_EXPORT = FRENCH_EXPORT.replace("2024-0001;riprsl;57040;", "2024-0001;sps;94068;")


def run_command(database_url: str, *arguments: str, language: str = "fr",
                service: str | None = "SPS") -> subprocess.CompletedProcess:
    environment = os.environ | {"DATABASE_URL": database_url, "RELAIS_LANGUAGE": language}
    chosen = ("--service", service) if service else ()
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "import", *map(str, arguments), *chosen],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_imports_a_valid_file(engine, database_url, tmp_path):
    path = tmp_path / "interventions.csv"
    path.write_bytes(
        SAGUENAY_EXPORT.encode("utf-8").replace(
            b"2024-0003;SPS;94068;2024-05-03 08:00;o;", b"2024-0003;SPS;94068;2024-05-03 08:00;n;"
        )
    )
    result = run_command(database_url, "interventions", path)
    assert result.returncode == 0, result.stderr
    assert "3 ligne(s) importée(s) (3 nouvelle(s), 0 remplacée(s))" in result.stdout
    assert "Traceback" not in result.stderr
    assert [event_id for (event_id,) in stored(engine, intervention, "event_id")] == [
        "2024-0001",
        "2024-0002",
        "2024-0003",
    ]


def test_command_prints_every_problem_and_writes_nothing(engine, database_url, tmp_path):
    path = tmp_path / "interventions.csv"
    path.write_bytes(SAGUENAY_EXPORT.encode("utf-8").replace(b"2024-05-01 22:15;OUI", b"2024-05-01 22:15;peut-etre"))
    result = run_command(database_url, "interventions", path, language="en")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].split() == ["Line", "Column", "Value", "Reason"]
    assert lines[1].split()[:3] == ["2", "arrest", "peut-etre"]
    assert lines[2].split()[:2] == ["6", "arrested_at"]
    assert "2 problem(s) on 2 row(s); nothing was imported." in result.stderr
    assert stored(engine, intervention, "id") == []


def test_command_skip_invalid_sets_rows_aside(engine, database_url, tmp_path):
    path, rejects = tmp_path / "interventions.csv", tmp_path / "rejects.csv"
    path.write_bytes(SAGUENAY_EXPORT.encode("utf-8"))
    result = run_command(database_url, "interventions", path, "--skip-invalid", "--rejects", rejects)
    assert result.returncode == 0, result.stderr
    assert "2 ligne(s) importée(s)" in result.stdout
    assert f"1 ligne(s) invalide(s) mise(s) de côté dans {rejects}" in result.stdout
    assert rejects.read_text(encoding="utf-8-sig").splitlines()[1].startswith("2024-0003;SPS;94068;")
    assert len(stored(engine, intervention, "id")) == 2


def test_the_rejects_file_is_its_owners_alone_whatever_the_umask(engine, database_url, tmp_path):
    """Refused rows are personal data: 0600 from the start under the usual umask, even over a 0644 file."""
    path, rejects = tmp_path / "interventions.csv", tmp_path / "rejected" / "rejects.csv"
    path.write_bytes(SAGUENAY_EXPORT.encode("utf-8"))
    rejects.parent.mkdir()
    rejects.write_bytes(b"an older run's rejects")
    rejects.chmod(0o644)
    previous = os.umask(0o022)
    try:
        result = run_command(database_url, "interventions", path, "--skip-invalid", "--rejects", rejects)
    finally:
        os.umask(previous)
    assert result.returncode == 0, result.stderr
    assert rejects.stat().st_mode & 0o777 == 0o600
    assert rejects.read_text(encoding="utf-8-sig").splitlines()[1].startswith("2024-0003;SPS;94068;")
    assert [entry.name for entry in rejects.parent.iterdir()] == ["rejects.csv"]


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (("missing-column.csv", "--skip-invalid", "--rejects", "rejects.csv"), 1, "is rejected as a whole"),
        (("does-not-exist.csv",), 2, "file not found"),
        (("interventions.csv", "--skip-invalid"), 2, "--skip-invalid and --rejects go together"),
    ],
)
def test_command_exit_codes(engine, database_url, tmp_path, arguments, exit_code, message):
    (tmp_path / "missing-column.csv").write_bytes(b"event_id,police_service\nE1,SPS\n")
    (tmp_path / "interventions.csv").write_bytes(csv_bytes([INTERVENTION]))
    result = run_command(
        database_url, "interventions", *(tmp_path / a if a.endswith(".csv") else a for a in arguments), language="en"
    )
    assert result.returncode == exit_code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert stored(engine, intervention, "id") == []


def test_a_replacement_cannot_move_the_arrest_after_stored_attempts(engine):
    first = (
        "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at\n"
        "R1,RIPRSL,57040,2024-05-01 20:00,oui,2024-05-01 21:00\n"
    )
    assert import_file(engine, "interventions", first.encode(), "first.csv").written
    attempt = ("attempt_id,police_service,event_id,attempted_at,subject_role,outcome\n"
               "RA1,RIPRSL,R1,2024-05-02 10:00,offender,accepted\n")
    assert import_file(engine, "outreach", attempt.encode(), "outreach.csv").written
    later = first.replace("2024-05-01 21:00", "2024-05-02 12:00")
    report = import_file(engine, "interventions", later.encode(), "later.csv")
    assert not report.written
    assert [(problem.line, problem.column, problem.value) for problem in report.problems] == [
        (2, "arrested_at", "2024-05-02 12:00")
    ]
    earlier = first.replace("2024-05-01 21:00", "2024-05-01 22:00")
    assert import_file(engine, "interventions", earlier.encode(), "earlier.csv").written


SAGUENAY_INTERVENTION = {**INTERVENTION, "police_service": "SPS", "municipality_code": "94068"}


def test_attempt_ids_are_unique_per_service_only(engine):
    """An SPS file's attempt A1 is another attempt than RIPRSL's A1: neither overwrites the other."""
    import_rows(engine, "interventions", [INTERVENTION, SAGUENAY_INTERVENTION])
    import_rows(engine, "outreach", [ATTEMPT])
    saguenay = import_rows(engine, "outreach", [{**ATTEMPT, "police_service": "SPS", "outcome": "declined"}],
                           service="SPS")
    assert (saguenay.status, saguenay.accepted, saguenay.replaced) == ("imported", 1, 0)
    assert stored(engine, outreach_attempt, "police_service", "attempt_id", "outcome") == [
        ("RIPRSL", "A1", "accepted"), ("SPS", "A1", "declined")]
    again = import_rows(engine, "outreach", [{**ATTEMPT, "outcome": "no_answer"}], service="RIPRSL")
    assert (again.accepted, again.replaced) == (1, 1)
    assert stored(engine, outreach_attempt, "police_service", "outcome") == [("RIPRSL", "no_answer"),
                                                                             ("SPS", "declined")]


def test_a_repeated_attempt_id_in_a_file_is_an_error_within_one_service_only():
    file_key = importer.KINDS["outreach"].file_key
    first, other = file_key(ATTEMPT), file_key({**ATTEMPT, "police_service": "sps"})
    assert first == ("RIPRSL", "A1") and other == ("SPS", "A1")


def test_an_import_confined_to_a_service_refuses_rows_of_another(engine):
    report = import_rows(engine, "interventions", [INTERVENTION, SAGUENAY_INTERVENTION], service="SPS")
    assert report.status == "rejected"
    assert [(problem.line, problem.column, problem.value) for problem in report.problems] == [
        (2, "police_service", "RIPRSL")]
    assert "(SPS)" in report.problems[0].reason
    assert stored(engine, intervention, "id") == []


def test_the_command_needs_a_service_when_the_database_knows_several(engine, database_url, tmp_path):
    path = tmp_path / "interventions.csv"
    path.write_bytes(csv_bytes([INTERVENTION, SAGUENAY_INTERVENTION]))
    unsaid = run_command(database_url, "interventions", path, language="en", service=None)
    assert unsaid.returncode == 2
    assert "several police services (RIPRSL, SPS): say whose file this is with --service CODE" in unsaid.stderr
    wrong = run_command(database_url, "interventions", path, language="en", service="riprsl")
    assert wrong.returncode == 1 and "row of another police service than the import's (RIPRSL)" in wrong.stderr
    assert stored(engine, intervention, "id") == []


def test_a_run_the_database_fails_leaves_a_failed_batch_row(engine):
    """Rows refused by the database itself (here a trigger) roll back, and the run is still recorded."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON intervention"
                                       " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        else:
            connection.exec_driver_sql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
                                       " BEGIN RAISE EXCEPTION 'disk on fire'; END $$")
            connection.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON intervention"
                                       " FOR EACH ROW EXECUTE FUNCTION refuse()")
    try:
        with pytest.raises(exc.DatabaseError, match="disk on fire"):
            import_rows(engine, "interventions", [INTERVENTION])
        assert [(batch["status"], batch["rows_read"], batch["rows_accepted"]) for batch in batches(engine)] == [
            ("failed", 1, 0)]
        assert stored(engine, intervention, "id") == []
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse" + (" ON intervention" if engine.dialect.name ==
                                                                 "postgresql" else ""))
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("DROP FUNCTION refuse()")


OUT_OF_RANGE = t("import.reason.timestamp_range", first=date(1900, 1, 1), last=date(2100, 12, 31))
# Every timestamp column of every kind, each with a local date outside 1900-01-01..2100-12-31; year 1 crashed the
# weekly ranges (OverflowError) and year 3000 was stored.
OUT_OF_RANGE_ROWS = [
    ("interventions", "occurred_at", intervention_row(event_id="E9", occurred_at="0001-01-01 00:00", arrest="non",
                                                      arrested_at="")),
    ("interventions", "occurred_at", intervention_row(event_id="E9", occurred_at="0001-01-01T00:00-05:00",
                                                      arrest="non", arrested_at="")),
    ("interventions", "occurred_at", intervention_row(event_id="E9", occurred_at="9999-12-31 23:30", arrest="non",
                                                      arrested_at="")),
    ("interventions", "occurred_at", intervention_row(event_id="E9", occurred_at="1899-12-31 23:59", arrest="non",
                                                      arrested_at="")),
    ("interventions", "arrested_at", intervention_row(event_id="E9", arrested_at="3000-01-01 00:00")),
    ("interventions", "arrested_at", intervention_row(event_id="E9", arrested_at="2100-12-31T23:30-06:00")),
    ("outreach", "attempted_at", attempt_row(attempt_id="A9", attempted_at="0001-01-01 00:00")),
    ("outreach", "attempted_at", attempt_row(attempt_id="A9", attempted_at="2101-01-01 00:00")),
]


@pytest.mark.parametrize(("kind", "column", "row"), OUT_OF_RANGE_ROWS)
def test_timestamps_out_of_range_are_row_problems(engine, interventions, kind, column, row):
    valid = intervention_row(event_id="E8") if kind == "interventions" else attempt_row(attempt_id="A8")
    table = intervention if kind == "interventions" else outreach_attempt
    before = stored(engine, table, "id")
    refused = import_rows(engine, kind, [valid, row])
    assert (refused.status, refused.written) == ("rejected", False)
    assert problems_of(refused) == [(3, column, row[column], OUT_OF_RANGE)]
    assert stored(engine, table, "id") == before
    assert [batch["status"] for batch in batches(engine)][-1] == "rejected"
    # Set aside with --skip-invalid like any other refused row, its line and reason in the rejects file.
    partial = import_rows(engine, kind, [valid, row], skip_invalid=True)
    assert (partial.status, partial.accepted, [rejected.line for rejected in partial.rejected]) == ("partial", 1, [3])
    assert partial.rejected[0].reason == t("import.rejects.reason", column=column, reason=OUT_OF_RANGE)
    assert len(stored(engine, table, "id")) == len(before) + 1


def test_the_first_and_last_local_days_are_imported(engine):
    rows = [intervention_row(event_id="E1", occurred_at="1900-01-01 00:00", arrest="non", arrested_at=""),
            intervention_row(event_id="E2", occurred_at="2100-12-31 23:00", arrested_at="2100-12-31 23:59:59")]
    assert import_rows(engine, "interventions", rows).status == "imported"
    assert stored(engine, intervention, "occurred_date", "occurred_week") == [
        (date(1900, 1, 1), "1900-W01"), (date(2100, 12, 31), "2100-W52")]


def test_the_workers_form_refuses_a_date_out_of_range_as_the_import_does(engine):
    from dashboard.ingest.worker_log import AttemptEntry, AttemptRefused, Recorder, record_attempt
    from queries.filters import Scope
    from tests.queue_data import NOW, load_queue_data

    load_queue_data(engine)
    worker = Recorder("anne", Scope.of("RIPRSL", role="worker"))
    for moment in ("0001-01-01 00:00", "1899-12-31 23:00"):
        entry = AttemptEntry(police_service="RIPRSL", event_id="Q1", attempted_at=moment, subject_role="offender",
                             outcome="no_answer")
        with pytest.raises(AttemptRefused) as refused:
            record_attempt(engine, entry, worker, NOW)
        assert refused.value.problems == [("attempted_at", OUT_OF_RANGE)]


@pytest.mark.parametrize("column", ["event_id", "police_service", "municipality_code", "subject_key", "arrest"])
@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\t", "\n", "\x7f", "\x85"])
def test_control_characters_are_refused_in_every_field(engine, column, character):
    row = intervention_row()
    row[column] = row[column][:1] + character + row[column][1:]
    report = import_rows(engine, "interventions", [row])
    assert report.status == "rejected"
    shown = f"\\x{ord(character):02x}"
    assert [(problem.column, problem.reason) for problem in report.problems] == [
        (column, t("import.reason.control_character"))]
    # A refused subject key is not repeated at all (it may be a name); other values are shown escaped.
    assert report.problems[0].value == ("" if column == "subject_key" else row[column].replace(character, shown))
    assert stored(engine, intervention, "id") == []


# --- the audit of every run, crashed ones included ------------------------------------------------


def command_audit_rows(engine, action: str) -> list[tuple[dict, dict]]:
    """Each audit row of an action: its filters and its detail, without who ran it."""
    from queries.schema import audit_event

    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.filters, audit_event.c.detail)
                                  .where(audit_event.c.action == action).order_by(audit_event.c.id)).all()
    return [(json.loads(filters or "null"), {key: value for key, value in json.loads(detail).items()
                                             if key not in ("os_user", "relais_user")}) for filters, detail in rows]


# What a crash's message may hold: a row's values. The audit keeps the error's type, never its message.
PERSONAL_MESSAGE = "E1, Tremblay, Jean, 2024-05-01"


@pytest.mark.parametrize(("raised", "error", "cause"), [
    (OverflowError(PERSONAL_MESSAGE), "OverflowError", None),
    (exc.IntegrityError("INSERT INTO intervention", {"subject_key": "Tremblay"}, ValueError(PERSONAL_MESSAGE)),
     "IntegrityError", "ValueError"),
])
def test_a_crashed_import_is_audited_as_failed_before_the_error_propagates(engine, tmp_path, monkeypatch, capsys,
                                                                           raised, error, cause):
    from dashboard.commands.imports import run_import_command
    from queries import weekly

    def crash(*_arguments):
        raise raised

    # Where year 1 crashed: the weekly ranges, recomputed inside the import's transaction.
    monkeypatch.setattr(weekly, "refresh_ranges", crash)
    path = tmp_path / "interventions.csv"
    path.write_bytes(csv_bytes([INTERVENTION]))
    if isinstance(raised, exc.SQLAlchemyError):
        assert run_import_command(engine, "interventions", path, False, None, service="RIPRSL") == 1
        assert "Tremblay" in capsys.readouterr().err  # the operator reads the database's message on the terminal
    else:
        with pytest.raises(OverflowError, match="Tremblay"):
            run_import_command(engine, "interventions", path, False, None, service="RIPRSL")
    assert command_audit_rows(engine, "import") == [(
        {"kind": "interventions", "file": "interventions.csv"},
        {"status": "failed", "error": error, **({"cause": cause} if cause else {}),
         "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": len(path.read_bytes())})]
    assert [counts(batch) for batch in batches(engine)] == [("failed", 1, 0, 0)]
    assert stored(engine, intervention, "id") == []


def test_a_row_of_year_1_is_refused_by_the_command_and_its_run_audited(engine, database_url, tmp_path):
    path = tmp_path / "interventions.csv"
    path.write_bytes(csv_bytes([{**SAGUENAY_INTERVENTION, "occurred_at": "0001-01-01 00:00", "arrest": "non",
                                 "arrested_at": ""}]))
    result = run_command(database_url, "interventions", path, language="en")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[1].split()[:3] == ["2", "occurred_at", "0001-01-01"]
    assert "in Quebec time, it must fall from 1900-01-01 to 2100-12-31" in result.stderr
    ((_filters, detail),) = command_audit_rows(engine, "import")
    assert (detail["status"], detail["rows_read"], detail["accepted"], detail["rejected"]) == ("rejected", 1, 0, 1)
    assert detail["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_commands_audit_through_one_function_that_says_a_refused_row(tmp_path, capsys):
    import ast

    from sqlalchemy import create_engine

    from dashboard.commands import audit, demo_data, geo, imports, init_db

    for command in (init_db, demo_data, geo, imports):
        source = Path(command.__file__).read_text(encoding="utf-8")
        assert 't("command.error.audit"' not in source and 't("import.error.audit"' not in source, command.__name__
        assert "def failure_detail" not in source, command.__name__
        called = {node.func.id for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert {"audit_command", "failure_detail"} <= called, command.__name__
    assert imports.failure_detail is audit.failure_detail
    # A database without the audit table refuses the row: said on standard error, in each command's words, not raised.
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    audit.audit_command(empty, "init_db", None, {"status": "done"})
    audit.audit_command(empty, "import", None, {"status": "done"}, refused_words="import.error.audit")
    empty.dispose()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert t("command.error.audit", error="").rstrip() in lines[0] and "audit_event" in lines[0]
    assert t("import.error.audit", error="").rstrip() in lines[1]
