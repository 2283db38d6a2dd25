"""The administrator's Data page with AppTest: an upload checked whole with nothing written, then imported on a click
(all of it or its valid rows), audited, idempotent, confined to administrators and their services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard.commands import serve
from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.i18n import t
from dashboard.ingest import uploads
from dashboard.ingest.hand_entry import CaseEntry, enter_case
from dashboard.ingest.importer import check_file, import_file, rejects_csv
from dashboard.ingest.worker_log import Recorder
from dashboard.web.data_view import PROGRESS_STEPS, ProgressBar
from queries.filters import Scope
from queries.localtime import LOCAL_TIMEZONE
from queries.schema import audit_event, import_batch, intervention, pseudonym_check
from tests.test_app import PAGES_DIR, app_for

ADMIN = {"sub": "admin-1", "name": "Administratrice", "roles": ["admin"], "police_services": ["*"]}
HEADER = "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban\n"
VALID = [
    "U1,RIPRSL,57040,2026-11-01 22:15,oui,2026-11-01 23:00,K1,non\n",
    "U2,RIPRSL,57040,2026-11-02 10:00,non,,K2,non\n",
    "U4,RIPRSL,57005,2026-11-04 10:00,non,,,non\n",
]
# Line 4 as a spreadsheet numbers it (the header is line 1): a municipality code of four digits.
INVALID = "U3,RIPRSL,5704,2026-11-03 10:00,non,,K3,non\n"
WITH_PROBLEM = (HEADER + VALID[0] + VALID[1] + INVALID + VALID[2]).encode()
CLEAN = (HEADER + "".join(VALID)).encode()
ADMIN_SCOPE = Scope(all_services=True, roles=frozenset({"admin"}))


def _count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))


def _batches(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(import_batch).order_by(import_batch.c.id)).all()


def _imports_audited(engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.subject, audit_event.c.page, audit_event.c.detail)
                                  .where(audit_event.c.action == "import").order_by(audit_event.c.id)).all()
    return [{"subject": row.subject, "page": row.page, **json.loads(row.detail)} for row in rows]


def _button(test: AppTest, label_key: str):
    (button,) = [button for button in test.button if button.label == t(label_key, "fr")]
    return button


def _uploader(test: AppTest, generation: int = 0):
    """The Data page's uploader (its key changes after each import), not the page's other ones."""
    return test.file_uploader(key=f"data_upload_{generation}")


def _uploaded(test: AppTest, data: bytes, name: str = "export.csv") -> AppTest:
    _uploader(test).upload(name, data, "text/csv")
    return test.run()


def _table(test: AppTest, column: str):
    """The one table with this column: the problems (Raison) or the history (Canal)."""
    (table,) = [frame.value for frame in test.dataframe if column in frame.value.columns]
    return table


def _tiles(test: AppTest) -> list[str]:
    labels = [t(f"data.upload.tile.{name}", "fr") for name in ("read", "valid", "rejected", "problems")]
    return [metric.value for metric in test.metric if metric.label in labels]


@pytest.fixture
def admin_page(engine, database_url, monkeypatch):
    """The app as an administrator of every service: her home page is Data."""
    test = app_for(ADMIN, database_url, monkeypatch)
    assert not test.exception and [title.value for title in test.title] == [t("page.data", "fr")]
    return test


def test_a_file_with_an_invalid_row_is_checked_and_nothing_is_written_before_the_click(engine, admin_page):
    test = _uploaded(admin_page, WITH_PROBLEM)
    assert not test.exception
    shown = _table(test, "Raison")
    assert list(shown.columns) == ["Ligne", "Colonne", "Valeur", "Raison"]
    assert shown.values.tolist() == [[4, "municipality_code", "5704", t("import.reason.municipality_code", "fr")]]
    assert _tiles(test) == ["4", "3", "1", "1"]
    assert _count(engine, intervention) == 0 and _count(engine, import_batch) == 0
    # The check is audited (it shows the file's values), as an import that was only checked.
    (checked,) = _imports_audited(engine)
    assert (checked["status"], checked["valid"], checked["rejected"], checked["channel"], checked["service"]) == (
        "checked", 3, 1, "upload", "RIPRSL")
    # All or nothing is refused at once; the valid rows may go.
    assert _button(test, "data.upload.import").disabled
    assert not _button(test, "data.upload.import_valid").disabled

    _button(test, "data.upload.import_valid").click()
    test.run()
    assert not test.exception
    assert _count(engine, intervention) == 3
    (batch,) = _batches(engine)
    assert (batch.channel, batch.police_service, batch.status, batch.imported_by) == (
        "upload", "RIPRSL", "partial", "admin-1")
    assert (batch.rows_read, batch.rows_accepted, batch.rows_rejected) == (4, 3, 1)
    imported = _imports_audited(engine)[-1]
    assert imported["subject"] == "admin-1" and imported["page"] == "data"
    assert (imported["status"], imported["accepted"], imported["rejected"], imported["batch_id"]) == (
        "partial", 3, 1, batch.id)
    assert imported["file_sha256"] == batch.file_sha256 and imported["channel"] == "upload"
    # The page says what it did, forgets the file, and lists the batch in the history.
    assert [success.value for success in test.success] == [t("data.upload.done", "fr", file="export.csv",
                                                             accepted="3", new="3", replaced="0", rejected="1")]
    assert _uploader(test, 1).value is None and not _tiles(test)
    row = _table(test, "Canal").iloc[0]
    assert (row["Canal"], row["Service"], row["Résultat"], row["Acceptées"], row["Refusées"]) == (
        "Téléversement", "RIPRSL", "Partielle", 3, 1)
    assert row["SHA-256"] == batch.file_sha256[:8] + "…"


def test_a_clean_file_is_imported_whole(engine, admin_page):
    test = _uploaded(admin_page, CLEAN, "propre.csv")
    assert [success.value for success in test.success] == [t("data.upload.no_problem", "fr", rows="3")]
    assert _button(test, "data.upload.import_valid").disabled
    _button(test, "data.upload.import").click()
    test.run()
    assert not test.exception and _count(engine, intervention) == 3
    (batch,) = _batches(engine)
    assert (batch.status, batch.channel, batch.rows_accepted, batch.rows_rejected) == ("imported", "upload", 3, 0)


def test_all_or_nothing_refuses_a_file_with_problems(engine):
    admin = uploads.Uploader("admin-1", ADMIN_SCOPE)
    report = uploads.import_upload(engine, "interventions", WITH_PROBLEM, "export.csv", admin, "RIPRSL",
                                   skip_invalid=False, token=uploads.new_token())
    assert (report.status, report.written, len(report.rejected)) == ("rejected", False, 1)
    assert _count(engine, intervention) == 0
    # The refused attempt is a batch of no row, as for the command.
    assert [(batch.status, batch.rows_accepted, batch.channel) for batch in _batches(engine)] == [
        ("rejected", 0, "upload")]


def test_the_same_token_imports_once(engine):
    admin, token = uploads.Uploader("admin-1", ADMIN_SCOPE), uploads.new_token()
    first = uploads.import_upload(engine, "interventions", CLEAN, "a.csv", admin, "RIPRSL", skip_invalid=True,
                                  token=token)
    again = uploads.import_upload(engine, "interventions", CLEAN, "a.csv", admin, "RIPRSL", skip_invalid=True,
                                  token=token)
    assert (again.status, again.rows_read, again.accepted, again.replaced, again.rejected_count, again.batch_id) == (
        "imported", 3, 3, 0, 0, first.batch_id)
    assert len(_batches(engine)) == 1
    assert [entry["status"] for entry in _imports_audited(engine)] == ["imported"]


def test_a_remembered_import_keeps_its_counts_and_no_row_value(engine, admin_page):
    test = _uploaded(admin_page, WITH_PROBLEM)
    _button(test, "data.upload.import_valid").click()
    test.run()
    done = [t("data.upload.done", "fr", file="export.csv", accepted="3", new="3", replaced="0", rejected="1")]
    assert [success.value for success in test.success] == done
    token, kept = next(reversed(uploads._done.items()))
    assert (kept.rows_read, kept.accepted, kept.replaced, kept.rejected_count, kept.valid) == (4, 3, 0, 1, 3)
    assert kept.problems == [] and kept.rejected == []
    assert not any(value in repr(kept) for value in ("U1", "U3", "5704", "K1", "K3", "2026-11-03"))
    # A second click on the same checked file: nothing more written, the same counts said.
    again = uploads.import_upload(engine, "interventions", WITH_PROBLEM, "export.csv",
                                  uploads.Uploader("admin-1", ADMIN_SCOPE), "RIPRSL", skip_invalid=True, token=token)
    assert again is kept and len(_batches(engine)) == 1 and _count(engine, intervention) == 3
    test.session_state["data_last_import"] = again
    test.run()
    assert not test.exception and [success.value for success in test.success] == done


@pytest.mark.parametrize("scope", [Scope.of("RIPRSL", role="captain"), Scope.of("RIPRSL", role="worker"),
                                   Scope(all_services=True, roles=frozenset({"director"})),
                                   Scope.of("SPS", role="admin")])
def test_only_an_administrator_of_the_service_may_check_or_import(engine, scope):
    someone = uploads.Uploader("someone", scope)
    with pytest.raises(PermissionError):
        uploads.check_upload(engine, "interventions", CLEAN, "a.csv", someone, "RIPRSL")
    with pytest.raises(PermissionError):
        uploads.import_upload(engine, "interventions", CLEAN, "a.csv", someone, "RIPRSL", skip_invalid=True,
                              token=uploads.new_token())
    assert _count(engine, intervention) == 0 and _count(engine, import_batch) == 0
    assert _imports_audited(engine) == []


def test_a_captain_gets_nothing_of_the_page(engine, database_url, monkeypatch):
    captain = {"sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}
    test = app_for(captain, database_url, monkeypatch, script=str(PAGES_DIR / "data.py"))
    assert not test.exception and not test.title and not test.file_uploader and not test.dataframe
    with engine.connect() as connection:
        refused = connection.execute(select(audit_event.c.subject, audit_event.c.page)
                                     .where(audit_event.c.action == "refused")).all()
    assert [tuple(row) for row in refused] == [("c", "data")]


def test_an_administrator_of_one_service_imports_for_that_service_only(engine, database_url, monkeypatch):
    test = app_for({**ADMIN, "police_services": ["SPS"]}, database_url, monkeypatch)
    (service,) = [box for box in test.selectbox if box.label == t("data.upload.service", "fr")]
    assert service.options == ["SPS · Service de police de Saguenay"]
    test = _uploaded(test, CLEAN)
    # Her file of the régie's rows: each is refused for its service.
    assert _tiles(test) == ["3", "0", "3", "3"]
    assert _button(test, "data.upload.import_valid").disabled and _button(test, "data.upload.import").disabled


def test_the_upload_limit_is_the_configured_one_in_the_browser_and_on_the_server(engine, database_url, monkeypatch):
    monkeypatch.setenv("RELAIS_UPLOAD_MAX_MB", "3")
    test = app_for(ADMIN, database_url, monkeypatch)
    assert _uploader(test).proto.max_upload_size_mb == 3
    command = serve.app_command(8555)
    assert command[command.index("--server.maxUploadSize") + 1] == "3"


def test_checking_writes_nothing_not_even_the_pseudonyms_key_fingerprint(engine):
    report = check_file(engine, "interventions", WITH_PROBLEM, "export.csv", service="RIPRSL")
    assert (report.status, report.rows_read, report.valid, report.written) == ("checked", 4, 3, False)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(pseudonym_check)) == 0
    assert _count(engine, import_batch) == 0 and _count(engine, intervention) == 0
    lines = rejects_csv(report).decode("utf-8-sig").splitlines()
    assert lines == [HEADER.strip() + ",line,reason",
                     "U3,RIPRSL,5704,2026-11-03 10:00,non,,,non,4,"
                     + t("import.rejects.reason", column="municipality_code",
                         reason=t("import.reason.municipality_code"))]


class _Element:
    def __init__(self) -> None:
        self.drawn: list[tuple[float, str]] = []

    def progress(self, share: float, text: str) -> None:
        self.drawn.append((share, text))


def test_the_progress_bar_follows_the_rows_in_at_most_a_hundred_redraws():
    element = _Element()
    rows = list(range(100_000))
    assert list(ProgressBar(element, rows, None, "Vérification")) == rows
    assert len(element.drawn) == PROGRESS_STEPS + 1
    assert element.drawn[0] == (0.0, "Vérification") and element.drawn[-1] == (1.0, "Vérification")
    written = _Element()
    with ProgressBar(written, None, 12_000, "Écriture") as bar:
        for _chunk in range(3):
            bar.update(5_000)
    assert [share for share, _text in written.drawn] == [0.0, 5_000 / 12_000, 10_000 / 12_000, 1.0]


def test_the_page_lists_late_services_freshness_and_old_hand_entries_without_their_event_number(engine, database_url,
                                                                                                 monkeypatch):
    """The administrator reads at the top which services are late, then each one's freshness, then the hand entries
    no police file has confirmed after RELAIS_UNCONFIRMED_DAYS, each by service, municipality, who and age."""
    now = datetime.now(UTC)
    # A RIPRSL extract of now: the régie is fresh; the Saguenay has never sent anything.
    assert import_file(engine, "interventions", CLEAN, "x.csv", service="RIPRSL", channel="upload").written
    anne = Recorder("anne", Scope.of("RIPRSL", role="worker"))
    for event_id, days in (("H-OLD", 9.5), ("H-NEW", 2)):
        entered = now - timedelta(days=days)
        local = (entered - timedelta(hours=2)).astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M")
        enter_case(engine, CaseEntry("RIPRSL", event_id, "57005", local, False, ""), anne, entered)
    test = app_for(ADMIN, database_url, monkeypatch)
    assert not test.exception
    late = [warning.value for warning in test.warning if warning.value.startswith(("Dernières", "Aucune donnée"))]
    assert len(late) == 1 and "SPS" in late[0]
    (freshness,) = [table.value for table in test.table]
    assert "SPS" in freshness.to_csv() and "RIPRSL" in freshness.to_csv()
    (unconfirmed,) = [frame.value for frame in test.dataframe if "Saisi par" in frame.value.columns]
    assert unconfirmed[["Service", "Municipalité", "Saisi par", "Jours"]].values.tolist() == [
        ["RIPRSL", "Chambly", "anne", "9"]]
    assert "H-OLD" not in unconfirmed.to_csv()
    assert [len(day) for day in unconfirmed["Saisi le"]] == [10]  # the day, not the minute


def test_in_the_demo_database_an_upload_is_demo_data_and_the_page_says_so(engine, database_url, monkeypatch):
    """The demo's administrator can try the page: her file joins the demo data (its channel still says upload)."""
    demo_row = (HEADER + "D1,RIPRSL,57040,2026-11-01 10:00,non,,,non\n").encode()
    assert import_file(engine, "interventions", demo_row, "demo.csv", demo=True,
                       pseudonym_keys=DEMO_PSEUDONYM_KEYS).written
    test = _uploaded(app_for(ADMIN, database_url, monkeypatch), WITH_PROBLEM)
    assert not test.exception
    assert [info.value for info in test.info] == [t("data.upload.demo", "fr")]
    _button(test, "data.upload.import_valid").click()
    test.run()
    assert not test.exception
    with engine.connect() as connection:
        demo_rows = connection.scalar(select(func.count()).select_from(intervention).where(intervention.c.demo))
        upload = connection.execute(select(import_batch).where(import_batch.c.file_name == "export.csv")).one()
    assert demo_rows == 4 and (upload.demo, upload.channel, upload.status) == (True, "upload", "partial")


def test_the_history_says_several_services_for_a_police_file_of_several_and_reference_for_reference_data():
    from dashboard.web.data_view import COLUMN_WIDTHS, history_table

    moment = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    rows = [{**dict.fromkeys(COLUMN_WIDTHS, ""), "started_at": moment, "channel": "demo", "kind": kind,
             "police_service": None, "status": "imported", "file_sha256": "a" * 64}
            for kind in ("interventions", "municipalities")]
    shown = history_table(pd.DataFrame(rows))
    assert shown["Service"].tolist() == ["plusieurs", "— (référence)"]
