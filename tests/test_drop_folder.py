"""`python -m dashboard ingest`: files dropped in incoming/<SERVICE>/<kind>/ end done, failed or duplicate, with their
report (and rejects) beside them, only once whole; every file audited, a failed one e-mailed to the administrators
(aiosmtpd on 127.0.0.1); the watcher stops on SIGTERM with status 0; the demo's watcher puts new arrests on the
worker's queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.commands.demo_data import run_demo_data_command
from dashboard.commands.ingest import DropFolder, run_ingest_command
from dashboard.commands.serve import running_watcher
from dashboard.demo.data import NEW_ARRESTS_FILE, new_arrests_file
from dashboard.settings import PROJECT_ROOT
from queries.filters import MetricFilter, Period, Scope
from queries.localtime import epoch_microseconds
from queries.queue import QueueRules, waiting_cases
from queries.schema import audit_event, import_batch, intervention, outreach_attempt
from tests.test_alerts import inbox  # noqa: F401 (fixture: an SMTP server on 127.0.0.1)

HEADER = "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key\n"
# Three interventions of the RIPRSL in Beloeil (57040) and Chambly (57005), two of them arrests.
GOOD = HEADER + ("E1,RIPRSL,57040,2024-03-01 10:00,oui,2024-03-01 11:00,S-1\n"
                 "E2,riprsl,57005,2024-03-02 22:30,non,,\n"
                 "E3,RIPRSL,57040,2024-03-03 08:00,true,2024-03-03 08:45,S-1\n")
# Line 3's arrest is not a yes/no value and its subject key looks like a name; line 4 names a municipality of another
# service.
BAD = HEADER + ("B1,RIPRSL,57040,2024-03-01 10:00,oui,2024-03-01 11:00,S-2\n"
                "B2,RIPRSL,57040,2024-03-01 10:00,peut-être,,Tremblay Jean\n"
                "B3,RIPRSL,94068,2024-03-01 10:00,non,,\n"
                "B4,RIPRSL,57005,2024-03-04 10:00,non,,\n")
OUTREACH = ("attempt_id,police_service,event_id,attempted_at,subject_role,outcome\n"
            "A1,RIPRSL,E1,2024-03-01 15:00,offender,accepted\n")
INTERVENTIONS = Path("RIPRSL") / "interventions"
SETTLE = 0.3


def drop(root: Path, where: Path | str, name: str, text: str, *, age: float = 0.0) -> Path:
    """A file written whole into incoming/<where>/, dated `age` seconds ago (oldest first is by that date)."""
    folder = root / "incoming" / where
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def files(folder: Path) -> list[str]:
    """The names in a folder, the timestamp prefix cut off, sorted."""
    return sorted(path.name.split("_", 1)[1] for path in folder.iterdir()) if folder.exists() else []


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def batches(engine) -> list[tuple]:
    columns = (import_batch.c.kind, import_batch.c.file_name, import_batch.c.status, import_batch.c.channel,
               import_batch.c.police_service, import_batch.c.rows_accepted, import_batch.c.rows_rejected)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(*columns).order_by(import_batch.c.id))]


def ingest_audit(engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.filters, audit_event.c.detail)
                                  .where(audit_event.c.action == "ingest").order_by(audit_event.c.id))
        return [{**json.loads(filters), **json.loads(detail)} for filters, detail in rows]


def once(engine, root: Path, **options) -> int:
    return run_ingest_command(engine, root, True, settle=SETTLE, **options)


def test_whole_files_are_imported_oldest_first_and_moved_to_done_with_their_report(engine, tmp_path, capsys):
    # The outreach file names E1, which the interventions file brings: the older is taken first, as it must be.
    drop(tmp_path, INTERVENTIONS, "interventions.csv", GOOD, age=60)
    drop(tmp_path, "riprsl/outreach", "outreach.csv", OUTREACH, age=30)
    assert once(engine, tmp_path) == 0
    assert files(tmp_path / "done") == ["RIPRSL_interventions_interventions.csv",
                                        "RIPRSL_interventions_interventions.csv.report.txt",
                                        "riprsl_outreach_outreach.csv", "riprsl_outreach_outreach.csv.report.txt"]
    assert list((tmp_path / "incoming").rglob("*.csv")) == [] and files(tmp_path / "failed") == []
    assert (count(engine, intervention), count(engine, outreach_attempt)) == (3, 1)
    assert batches(engine) == [("interventions", "interventions.csv", "imported", "drop_folder", "RIPRSL", 3, 0),
                               ("outreach", "outreach.csv", "imported", "drop_folder", "RIPRSL", 1, 0)]
    report = next((tmp_path / "done").glob("*interventions.csv.report.txt")).read_text(encoding="utf-8")
    assert "Importé : interventions.csv (service RIPRSL, interventions)." in report
    assert "Lignes lues : 3 ; importées : 3 (3 nouvelles, 0 remplacées) ; rejetées : 0." in report
    assert "Rows read: 3; imported: 3 (3 new, 0 replaced); rejected: 0." in report
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == ["importé", "importé"]
    assert printed[0].split()[1] == "RIPRSL/interventions/interventions.csv"
    audited = ingest_audit(engine)
    assert [(row["kind"], row["service"], row["outcome"], row["accepted"], row["rejected"]) for row in audited] == [
        ("interventions", "RIPRSL", "done", 3, 0), ("outreach", "RIPRSL", "done", 1, 0)]
    assert all(len(row["file_sha256"]) == 64 and row["channel"] == "drop_folder" for row in audited)


def test_a_file_with_an_invalid_row_fails_whole_with_every_problem_reported(engine, tmp_path):
    drop(tmp_path, INTERVENTIONS, "bad.csv", BAD)
    assert once(engine, tmp_path) == 1
    assert files(tmp_path / "failed") == ["RIPRSL_interventions_bad.csv", "RIPRSL_interventions_bad.csv.report.txt"]
    assert count(engine, intervention) == 0
    assert batches(engine) == [("interventions", "bad.csv", "rejected", "drop_folder", "RIPRSL", 0, 2)]
    report = next((tmp_path / "failed").glob("*.report.txt")).read_text(encoding="utf-8")
    assert "Refusé : bad.csv (service RIPRSL, interventions). Rien n'a été écrit." in report
    assert "Rows read: 4; imported: 0 (0 new, 0 replaced); rejected: 2." in report
    table = report.split("\n\n")[-1].splitlines()
    assert [line.split()[:2] for line in table[1:]] == [["3", "arrest"], ["3", "subject_key"],
                                                         ["4", "municipality_code"]]
    assert "peut-être" in table[1] and "94068" in table[3]  # the report, unlike the e-mail, shows the values
    assert "Tremblay" not in report  # a subject key refused or not is never repeated
    assert ingest_audit(engine)[0]["outcome"] == "failed"


def test_with_skip_invalid_the_valid_rows_are_written_and_the_rejects_set_beside(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("RELAIS_INGEST_SKIP_INVALID", "yes")
    drop(tmp_path, INTERVENTIONS, "bad.csv", BAD)
    assert once(engine, tmp_path) == 0
    assert files(tmp_path / "done") == ["RIPRSL_interventions_bad.csv", "RIPRSL_interventions_bad.csv.rejects.csv",
                                        "RIPRSL_interventions_bad.csv.report.txt"]
    with engine.connect() as connection:
        assert sorted(connection.execute(select(intervention.c.event_id)).scalars()) == ["B1", "B4"]
    assert batches(engine) == [("interventions", "bad.csv", "partial", "drop_folder", "RIPRSL", 2, 2)]
    rejects = next((tmp_path / "done").glob("*.rejects.csv")).read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in rejects] == ["event_id", "B2", "B3"]
    assert oct(next((tmp_path / "done").glob("*.rejects.csv")).stat().st_mode & 0o777) == "0o600"
    assert [(row["outcome"], row["accepted"], row["rejected"]) for row in ingest_audit(engine)] == [("done", 2, 2)]


def test_the_same_bytes_again_are_a_duplicate_moved_to_done_and_nothing_is_imported_twice(engine, tmp_path):
    drop(tmp_path, INTERVENTIONS, "monday.csv", GOOD, age=60)
    drop(tmp_path, INTERVENTIONS, "tuesday.csv", GOOD, age=30)
    assert once(engine, tmp_path) == 0
    assert count(engine, intervention) == 3
    assert batches(engine) == [("interventions", "monday.csv", "imported", "drop_folder", "RIPRSL", 3, 0),
                               ("interventions", "tuesday.csv", "duplicate", "drop_folder", "RIPRSL", 0, 0)]
    assert files(tmp_path / "done") == ["RIPRSL_interventions_monday.csv", "RIPRSL_interventions_monday.csv.report.txt",
                                        "RIPRSL_interventions_tuesday.csv",
                                        "RIPRSL_interventions_tuesday.csv.report.txt"]
    audited = ingest_audit(engine)
    assert [row["outcome"] for row in audited] == ["done", "duplicate"]
    assert audited[1]["file_sha256"] == audited[0]["file_sha256"] and audited[1]["duplicate_of"]
    # The same name a third time, in the same second: a name of its own in done/, nothing overwritten.
    drop(tmp_path, INTERVENTIONS, "monday.csv", GOOD)
    assert once(engine, tmp_path) == 0
    assert files(tmp_path / "done").count("RIPRSL_interventions_monday.csv") == 2
    assert count(engine, intervention) == 3


def test_part_files_hidden_files_and_misplaced_files_are_left_alone(engine, tmp_path, capsys):
    part = drop(tmp_path, INTERVENTIONS, "big.csv.part", GOOD)
    hidden = drop(tmp_path, INTERVENTIONS, ".big.csv", GOOD)
    stray = drop(tmp_path, "", "loose.csv", GOOD)
    deep = drop(tmp_path, "RIPRSL/interventions/2024", "deep.csv", GOOD)
    assert once(engine, tmp_path) == 0
    assert all(path.exists() for path in (part, hidden, stray, deep))
    assert count(engine, intervention) == 0 and batches(engine) == [] and ingest_audit(engine) == []
    warned = capsys.readouterr().err
    assert "ignoré : loose.csv" in warned and "ignoré : RIPRSL/interventions/2024/deep.csv" in warned
    assert ".big.csv" not in warned and "big.csv.part" not in warned
    part.rename(part.with_suffix(""))  # the copy is over: the sender renames it
    assert once(engine, tmp_path) == 0 and count(engine, intervention) == 3


def test_a_growing_file_waits_until_two_looks_see_it_unchanged(engine, tmp_path):
    path = drop(tmp_path, INTERVENTIONS, "growing.csv", HEADER)
    folder = DropFolder(engine, tmp_path)
    assert folder.ready() == ([], 1)  # first seen
    with path.open("a", encoding="utf-8") as handle:
        handle.write(GOOD.removeprefix(HEADER))
    assert folder.ready() == ([], 1)  # grew since
    steady, waiting = folder.ready()
    assert [arrival.path for arrival in steady] == [path] and waiting == 0
    # --once looks twice, SETTLE apart: a file written to in between is left for the next run.
    growing = drop(tmp_path, INTERVENTIONS, "still.csv", HEADER)
    writer = threading.Timer(SETTLE / 3, lambda: growing.write_text(GOOD, encoding="utf-8"))
    writer.start()
    assert once(engine, tmp_path) == 0
    writer.join()
    assert growing.exists() and count(engine, intervention) == 3  # growing.csv, taken: the same rows
    assert [row["file"] for row in ingest_audit(engine)] == ["growing.csv"]


def test_an_unknown_service_folder_or_a_kind_not_importable_yet_fails_with_its_reason(engine, tmp_path):
    drop(tmp_path, "SPVM/interventions", "a.csv", GOOD, age=30)
    drop(tmp_path, "SPS/referrals", "b.csv", "referral_id\nR1\n", age=20)
    drop(tmp_path, "SPS/arrests", "c.csv", GOOD, age=10)
    assert once(engine, tmp_path) == 1
    failed = tmp_path / "failed"
    assert files(failed) == ["SPS_arrests_c.csv", "SPS_arrests_c.csv.report.txt", "SPS_referrals_b.csv",
                             "SPS_referrals_b.csv.report.txt", "SPVM_interventions_a.csv",
                             "SPVM_interventions_a.csv.report.txt"]
    reports = {path.name.split("_", 1)[1]: path.read_text(encoding="utf-8") for path in failed.glob("*.report.txt")}
    assert ("Unknown service folder: SPVM (known services: RIPRSL, SPS)."
            in reports["SPVM_interventions_a.csv.report.txt"])
    assert ("Cette version de Relais ne sait pas encore importer les fichiers referrals."
            in reports["SPS_referrals_b.csv.report.txt"])
    assert "Unknown kind of file: arrests" in reports["SPS_arrests_c.csv.report.txt"]
    assert count(engine, intervention) == 0
    assert [(row["file"], row["outcome"], row["service"]) for row in ingest_audit(engine)] == [
        ("a.csv", "failed", None), ("b.csv", "failed", "SPS"), ("c.csv", "failed", "SPS")]


def test_a_database_error_leaves_the_file_in_incoming_and_is_audited(engine, tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from dashboard.commands import ingest

    def refused(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    path = drop(tmp_path, INTERVENTIONS, "a.csv", GOOD)
    with monkeypatch.context() as patched:
        patched.setattr(ingest, "import_file", refused)
        assert once(engine, tmp_path) == 1
    assert path.exists() and files(tmp_path / "done") == [] and files(tmp_path / "failed") == []
    assert [(row["outcome"], row["error"]) for row in ingest_audit(engine)] == [("left", "OperationalError")]
    assert once(engine, tmp_path) == 0 and count(engine, intervention) == 3  # taken again


def test_a_failed_file_is_mailed_to_the_administrators_without_its_values(engine, tmp_path, monkeypatch,
                                                                          inbox):  # noqa: F811
    controller, handler = inbox
    monkeypatch.setenv("RELAIS_ADMIN_EMAILS", "admin@relais.test, dpo@relais.test")
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")
    monkeypatch.setenv("RELAIS_ALERT_FROM", "relais@relais.test")
    drop(tmp_path, INTERVENTIONS, "bad.csv", BAD)
    assert once(engine, tmp_path) == 1
    assert sorted(to for recipients, _message in handler.messages for to in recipients) == [
        "admin@relais.test", "dpo@relais.test"]
    message = handler.messages[0][1]
    assert message["Subject"] == "Relais : fichier refusé (RIPRSL, bad.csv) / Relais: file refused (RIPRSL, bad.csv)"
    body = message.get_content()
    assert "Refusé : bad.csv (service RIPRSL, interventions)." in body and "Refused: bad.csv" in body
    assert "Rows read: 4; imported: 0 (0 new, 0 replaced); rejected: 2." in body
    assert "  ligne 3, colonne arrest : valeur oui/non invalide" in body
    assert "  line 4, column municipality_code: " in body
    # Never a row's values: neither the refused ones nor the subject key beside them.
    assert not any(value in body for value in ("peut-être", "94068", "Tremblay", "B2", "2024-03-01"))
    with engine.connect() as connection:
        mailed = [json.loads(detail) for detail in connection.execute(
            select(audit_event.c.detail).where(audit_event.c.action == "admin_mail")).scalars()]
    assert sorted((row["to"], row["status"], row["file"], row["service"]) for row in mailed) == [
        ("admin@relais.test", "sent", "bad.csv", "RIPRSL"), ("dpo@relais.test", "sent", "bad.csv", "RIPRSL")]
    # A file that is done is no news.
    drop(tmp_path, INTERVENTIONS, "good.csv", GOOD)
    assert once(engine, tmp_path) == 0 and len(handler.messages) == 2


def _watcher(database_url: str, root: Path, *extra: str) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "dashboard", "ingest", str(root), *extra], cwd=PROJECT_ROOT,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _arrived(folder: Path, name: str, seconds: float = 60) -> float:
    """Seconds until a file ending with `name` is in folder (raises after `seconds`)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if folder.exists() and any(path.name.endswith(name) for path in folder.iterdir()):
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"{name} never reached {folder}")


@pytest.mark.parametrize("poll", [None, "0.5"])
def test_the_watcher_takes_a_dropped_file_and_stops_cleanly_on_sigterm(database_url, engine, tmp_path, poll):
    process = _watcher(database_url, tmp_path, *(["--poll", poll] if poll else []))
    try:
        assert process.stdout.readline().startswith("Watching ")
        path = drop(tmp_path, INTERVENTIONS, "live.csv.part", GOOD)
        path.rename(path.with_suffix(""))  # the sender's last step
        latency = _arrived(tmp_path / "done", "live.csv.report.txt")
        assert count(engine, intervention) == 3
        assert latency < 10, latency
    finally:
        process.send_signal(signal.SIGTERM)
        output, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "imported  RIPRSL/interventions/live.csv → done/" in output and "Watching stopped." in output


def test_the_demo_watcher_puts_new_arrests_on_the_workers_queue(database_url, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("RELAIS_PSEUDONYM_KEYS")  # the demo imports under the demo's own key
    now = datetime.now(UTC)
    with running_watcher(tmp_path) as example:
        assert example == tmp_path / "incoming" / "RIPRSL" / "interventions"
        (example / NEW_ARRESTS_FILE).write_bytes(new_arrests_file(now))
        _arrived(tmp_path / "done", NEW_ARRESTS_FILE + ".report.txt")
    today = now.date()
    flt = MetricFilter(Period(today - timedelta(days=14), today))
    queue = waiting_cases(engine, flt, Scope.of("RIPRSL", role="worker"), "offender",
                          epoch_microseconds(datetime.now(UTC)), QueueRules())
    assert len([event for event in queue["event_id"] if event.startswith("DEMO-RIPRSL-NEW-")]) == 3
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).where(intervention.c.demo)).scalar_one() == 3


def test_demo_data_writes_new_arrests_that_dropped_in_demo_mode_join_the_demo_data(engine, tmp_path):
    assert run_demo_data_command(engine, 42, tmp_path / "csv", end=date(2019, 1, 31)) == 0
    written = (tmp_path / "csv" / NEW_ARRESTS_FILE).read_text(encoding="utf-8").splitlines()
    rows = [line.split(",") for line in written[1:]]
    assert written[0] == HEADER.strip() + ",contact_ban" and len(rows) == 3
    # Arrests of the last hours, under event numbers the demo files never use: new cases, not replacements.
    assert all(row[0].startswith("DEMO-RIPRSL-NEW-") and row[1] == "RIPRSL" and row[4] == "true" for row in rows)
    loaded = count(engine, intervention)
    folder = tmp_path / "drop" / "incoming" / INTERVENTIONS
    folder.mkdir(parents=True)
    (folder / NEW_ARRESTS_FILE).write_text("\n".join(written) + "\n", encoding="utf-8")
    assert run_ingest_command(engine, tmp_path / "drop", True, settle=SETTLE, demo=True) == 0
    assert count(engine, intervention) == loaded + 3
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).where(~intervention.c.demo)).scalar_one() == 0


def test_without_addresses_or_a_relay_no_mail_is_sent_and_it_says_so(engine, monkeypatch, capsys, inbox):  # noqa: F811
    from dashboard.commands.admin_mail import mail_admins

    controller, handler = inbox
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")
    assert mail_admins(engine, "Sujet", "Corps", {"file": "a.csv"}) == 0  # RELAIS_ADMIN_EMAILS unset
    monkeypatch.setenv("RELAIS_ADMIN_EMAILS", "admin@relais.test")
    monkeypatch.delenv("RELAIS_SMTP_URL")
    assert mail_admins(engine, "Sujet", "Corps", {"file": "a.csv"}) == 0
    assert capsys.readouterr().out.count("Aucun courriel envoyé (RELAIS_ADMIN_EMAILS ou RELAIS_SMTP_URL") == 2
    assert handler.messages == []
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")
    assert mail_admins(engine, "Sujet", "Corps", {"file": "a.csv"}) == 1 and len(handler.messages) == 1


def test_the_running_watcher_e_mails_the_administrators_when_a_service_stops_sending(engine, tmp_path, inbox,  # noqa: F811
                                                                                     monkeypatch):
    """No deployment should need a second scheduler: the watcher itself announces each late spell, once."""
    controller, handler = inbox
    monkeypatch.setenv("RELAIS_ADMIN_EMAILS", "admin@relais.test")
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")
    # Both services have never sent anything: two late spells, each announced once however often the watcher looks.
    monkeypatch.setattr("dashboard.commands.ingest.STALE_CHECK_SECONDS", 0.2)
    monkeypatch.setattr("dashboard.commands.ingest.RESCAN_SECONDS", 0.2)
    stop = threading.Event()
    watcher = threading.Thread(target=run_ingest_command, args=(engine, tmp_path, False),
                               kwargs={"settle": SETTLE, "stop": stop})
    watcher.start()
    try:
        deadline = time.monotonic() + 20
        while len(handler.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # several more checks: none may send again
    finally:
        stop.set()
        watcher.join(timeout=30)
    subjects = sorted(message["Subject"] for _recipients, message in handler.messages)
    assert len(subjects) == 2 and "RIPRSL" in subjects[0] + subjects[1] and "SPS" in subjects[0] + subjects[1]


@pytest.mark.parametrize("kind", ["IntegrityError", "DataError", "ProgrammingError"])
def test_a_database_error_of_the_file_sets_it_aside_and_mails_the_administrators(engine, tmp_path, monkeypatch, kind,
                                                                                 inbox):  # noqa: F811
    from sqlalchemy import exc

    from dashboard.commands import ingest

    controller, handler = inbox
    monkeypatch.setenv("RELAIS_ADMIN_EMAILS", "admin@relais.test")
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")

    def refused(*_args, **_kwargs):
        raise getattr(exc, kind)("INSERT", {}, Exception("duplicate key value (event_id)=(E1)"))

    path = drop(tmp_path, INTERVENTIONS, "a.csv", GOOD)
    with monkeypatch.context() as patched:
        patched.setattr(ingest, "import_file", refused)
        assert once(engine, tmp_path) == 1
    assert not path.exists() and files(tmp_path / "failed") == ["RIPRSL_interventions_a.csv",
                                                                 "RIPRSL_interventions_a.csv.report.txt"]
    report = next((tmp_path / "failed").glob("*.report.txt")).read_text(encoding="utf-8")
    assert f"The database refused the import ({kind}); the file is set aside and will not be taken again." in report
    assert "E1" not in report  # the driver's message may quote a row: never written
    assert [(row["outcome"], row["error"], row["reason"]) for row in ingest_audit(engine)] == [
        ("failed", kind, "database_refused")]
    assert len(handler.messages) == 1
    message = handler.messages[0][1]
    assert message["Subject"] == "Relais : fichier refusé (RIPRSL, a.csv) / Relais: file refused (RIPRSL, a.csv)"
    assert f"La base de données a refusé l'importation ({kind})" in message.get_content()
    assert "E1" not in message.get_content()
    # Never taken again: the next run finds nothing.
    assert once(engine, tmp_path) == 0 and len(ingest_audit(engine)) == 1


@pytest.mark.parametrize("kind", ["OperationalError", "InterfaceError"])
def test_an_unreachable_database_leaves_the_file_retried_ever_later_and_mailed_once(engine, tmp_path, monkeypatch,
                                                                                    kind, inbox):  # noqa: F811
    from sqlalchemy import exc

    from dashboard.commands import ingest
    from dashboard.commands.ingest import process_ready

    controller, handler = inbox
    monkeypatch.setenv("RELAIS_ADMIN_EMAILS", "admin@relais.test")
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")

    def unreachable(*_args, **_kwargs):
        raise getattr(exc, kind)("INSERT", {}, Exception("server closed the connection"))

    now = [1000.0]
    folder = DropFolder(engine, tmp_path, clock=lambda: now[0])
    folder.prepare()
    path = drop(tmp_path, INTERVENTIONS, "a.csv", GOOD)
    # Tried at once, then after 5, 10, 20, 40, 80, 160 s, then every 300 s at most.
    tried_at = []
    with monkeypatch.context() as patched:
        patched.setattr(ingest, "import_file", unreachable)
        for _second in range(700):
            troubled, _waiting = process_ready(folder, threading.Event(), 0)
            if troubled:
                tried_at.append(now[0] - 1000.0)
            now[0] += 1.0
    assert tried_at == [0, 5, 15, 35, 75, 155, 315, 615]
    assert path.exists() and files(tmp_path / "failed") == [] and files(tmp_path / "done") == []
    audited = ingest_audit(engine)
    assert [(row["outcome"], row["error"], row["tries"], row["retry_seconds"]) for row in audited] == [
        ("left", kind, tries, delay) for tries, delay in enumerate((5, 10, 20, 40, 80, 160, 300, 300), start=1)]
    # Mailed once, at the fifth failure in a row.
    assert len(handler.messages) == 1
    message = handler.messages[0][1]
    assert message["Subject"] == ("Relais : base de données injoignable, fichier en attente (RIPRSL, a.csv) / "
                                  "Relais: database unreachable, file waiting (RIPRSL, a.csv)")
    body = message.get_content()
    assert "5 tries in a row failed; the next in 80 s, then at most every 300 s." in body
    assert "The file stays in incoming/; it will be imported as soon as the database answers." in body
    # The database is back: the file is imported at its next try, and its count of failures forgotten.
    now[0] = 1000.0 + 915
    assert process_ready(folder, threading.Event(), 0) == (0, 0)
    assert not path.exists() and count(engine, intervention) == 3 and folder.tries == {} and folder.retry_at == {}
    assert len(handler.messages) == 1


def test_a_symbolic_link_or_a_pipe_in_incoming_is_never_read_linked_or_moved(engine, tmp_path, capsys):
    from dashboard.commands.ingest import process_ready

    outside = tmp_path / "elsewhere" / "secret.csv"
    outside.parent.mkdir()
    outside.write_text(GOOD, encoding="utf-8")
    before = outside.stat()
    root = tmp_path / "drop"
    folder = DropFolder(engine, root)
    folder.prepare()
    (root / "incoming" / INTERVENTIONS).mkdir(parents=True)
    link = root / "incoming" / INTERVENTIONS / "link.csv"
    link.symlink_to(outside)
    pipe = root / "incoming" / INTERVENTIONS / "pipe.csv"
    os.mkfifo(pipe)
    for _look in range(3):
        assert process_ready(folder, threading.Event(), 0) == (0, 0)
    assert link.is_symlink() and link.readlink() == outside and pipe.exists()
    after = outside.stat()
    assert outside.read_text(encoding="utf-8") == GOOD and after.st_nlink == 1 and after.st_ino == before.st_ino
    assert files(root / "done") == [] and files(root / "failed") == []
    assert count(engine, intervention) == 0 and batches(engine) == [] and ingest_audit(engine) == []
    warned = capsys.readouterr().err.splitlines()
    assert sorted(warned) == [
        "ignoré : RIPRSL/interventions/link.csv (pas un fichier ordinaire : lien symbolique, tube ou périphérique, "
        "jamais lu ; déposer le fichier lui-même)",
        "ignoré : RIPRSL/interventions/pipe.csv (pas un fichier ordinaire : lien symbolique, tube ou périphérique, "
        "jamais lu ; déposer le fichier lui-même)"]
