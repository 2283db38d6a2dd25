"""Subject keys are stored as keyed pseudonyms: repeats still link, the raw value is never stored, refused values
are not kept, imports need a secret, stored keys are converted by a migration and can be re-keyed."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import date

import pytest
from alembic import command
from sqlalchemy import select, text

from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.ingest.importer import import_file, write_rejects
from dashboard.ingest.problems import InvalidValue
from dashboard.ingest.pseudonyms import PseudonymKeyError, checked_secrets, normalised_subject_key, pseudonym
from dashboard.secret_strength import SECRET_RECIPE
from dashboard.settings import PROJECT_ROOT
from queries.filters import MetricFilter, Period, Scope
from queries.interventions import intervention_totals
from queries.migrate import alembic_config, upgrade_to_head
from queries.reference import load_reference
from queries.schema import import_batch, intervention
from tests.backends import empty_database
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.test_import import INTERVENTION, csv_bytes

NEW_KEY = "the rotated pseudonym key of the tests 9876543210"


def by_hand(raw: str, *secrets: str) -> str:
    digest = raw
    for secret in secrets or (TEST_PSEUDONYM_KEY,):
        digest = hmac.new(secret.encode(), digest.encode(), hashlib.sha256).hexdigest()
    return digest


def keys_of(engine) -> list[str | None]:
    with engine.connect() as connection:
        return list(connection.scalars(select(intervention.c.subject_key).order_by(intervention.c.id)))


@pytest.mark.parametrize(("raw", "normalised"), [("k-1", "K-1"), ("  2024/00123 ", "2024/00123"), ("ＡＢ１", "AB1"),
                                                 ("a.b:c#d_e", "A.B:C#D_E")])
def test_normalised_subject_keys(raw, normalised):
    assert normalised_subject_key(raw) == normalised


@pytest.mark.parametrize("raw", ["Jean Tremblay", "é123", "K" * 65, "K;1", "<script>"])
def test_subject_keys_that_are_not_record_numbers_are_refused(raw):
    with pytest.raises(InvalidValue):
        normalised_subject_key(raw)


def test_a_pseudonym_is_the_hmac_of_the_normalised_key_under_each_secret_in_turn():
    assert pseudonym("K1", (TEST_PSEUDONYM_KEY,)) == by_hand("K1")
    assert pseudonym("K1", (TEST_PSEUDONYM_KEY, NEW_KEY)) == by_hand("K1", TEST_PSEUDONYM_KEY, NEW_KEY)


def test_stored_keys_are_pseudonyms_and_repeats_still_link(engine):
    rows = [{**INTERVENTION, "event_id": "E1", "subject_key": " k1 ", "occurred_at": "2024-05-01 10:00",
             "arrest": "non", "arrested_at": ""},
            {**INTERVENTION, "event_id": "E2", "subject_key": "K1", "occurred_at": "2024-05-20 10:00",
             "arrest": "non", "arrested_at": ""}]
    report = import_file(engine, "interventions", csv_bytes(rows), "interventions.csv")
    assert report.status == "imported"
    assert keys_of(engine) == [by_hand("K1"), by_hand("K1")]
    with engine.connect() as connection:
        every_text = " ".join(str(value) for row in connection.execute(select(intervention)) for value in row)
    assert " k1 " not in every_text and "K1," not in every_text
    totals = intervention_totals(engine, MetricFilter(Period(date(2024, 5, 1), date(2024, 5, 31))), Scope.everything())
    assert (totals.total, totals.repeat) == (2, 1)


def test_a_refused_subject_key_is_kept_nowhere(engine, tmp_path):
    rows = [{**INTERVENTION, "event_id": "E1", "subject_key": "Jean Tremblay"},
            {**INTERVENTION, "event_id": "E2", "subject_key": "K2"}]
    report = import_file(engine, "interventions", csv_bytes(rows), "interventions.csv", skip_invalid=True)
    assert (report.status, report.accepted) == ("partial", 1)
    assert [(problem.line, problem.column, problem.value) for problem in report.problems] == [(2, "subject_key", "")]
    rejects = tmp_path / "rejects.csv"
    write_rejects(report, rejects)
    assert "Tremblay" not in rejects.read_text(encoding="utf-8-sig")
    assert "E1" in rejects.read_text(encoding="utf-8-sig")
    with engine.connect() as connection:
        recorded = connection.scalar(select(import_batch.c.problems))
    assert "Tremblay" not in recorded and json.loads(recorded)[0]["column"] == "subject_key"


@pytest.mark.parametrize("line", ["E1,RIPRSL,57040,2024-05-01 22:15,true,2024-05-01 23:00,Tremblay, Jean,false",
                                  "E1,RIPRSL,57040,2024-05-01 22:15,true,Tremblay,false"])
def test_no_piece_of_a_subject_key_is_kept_from_a_row_that_does_not_line_up(engine, tmp_path, line):
    """An unquoted comma shifts "Jean" into contact_ban; a lost field moves "Tremblay" into arrested_at."""
    header = "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban"
    good = "E2,RIPRSL,57040,2024-05-01 22:15,true,2024-05-01 23:00,K2,false"
    data = "\n".join([header, line, good]).encode()
    report = import_file(engine, "interventions", data, "interventions.csv", skip_invalid=True)
    assert (report.status, report.accepted) == ("partial", 1)
    assert [problem.value for problem in report.problems] == [""] * len(report.problems)
    rejects = tmp_path / "rejects.csv"
    write_rejects(report, rejects)
    written = rejects.read_text(encoding="utf-8-sig")
    assert "Jean" not in written and "Tremblay" not in written
    assert written.splitlines()[1].startswith(",,,,,,")  # the line and the reasons remain
    with engine.connect() as connection:
        recorded = connection.scalar(select(import_batch.c.problems))
    assert "Jean" not in recorded and "Tremblay" not in recorded


@pytest.mark.parametrize(
    ("secret", "words"),
    [("", "aucune clé"),
     ("too short", "moins de 128 bits"),
     ("k" * 40, "moins de 128 bits"),
     (f"{TEST_PSEUDONYM_KEY},{'k' * 40}", "moins de 128 bits"),
     (DEMO_PSEUDONYM_KEYS[0], "valeur publiée"),
     # The demo's key is public however it is listed: with spaces around it, last of a chain.
     (f"{TEST_PSEUDONYM_KEY}, {DEMO_PSEUDONYM_KEYS[0]} ", "valeur publiée")],
)
def test_interventions_are_not_imported_without_a_secret_that_cannot_be_guessed(engine, monkeypatch, secret, words):
    monkeypatch.setenv("RELAIS_PSEUDONYM_KEYS", secret)
    report = import_file(engine, "interventions", csv_bytes([INTERVENTION]), "interventions.csv")
    assert (report.status, report.file_problem, report.written) == ("rejected", True, False)
    assert words in report.problems[0].reason and SECRET_RECIPE in report.problems[0].reason
    assert keys_of(engine) == []


def test_the_demo_key_pseudonymises_demo_rows_only(engine):
    demo_row = {**INTERVENTION, "event_id": "DEMO-1", "subject_key": "S-0000001"}
    real = import_file(engine, "interventions", csv_bytes([demo_row]), "real.csv", pseudonym_keys=DEMO_PSEUDONYM_KEYS)
    assert (real.status, real.file_problem) == ("rejected", True) and "valeur publiée" in real.problems[0].reason
    weak_demo = import_file(engine, "interventions", csv_bytes([demo_row]), "demo.csv", demo=True,
                            pseudonym_keys=("k" * 40,))
    assert (weak_demo.status, weak_demo.file_problem) == ("rejected", True)
    demo = import_file(engine, "interventions", csv_bytes([demo_row]), "demo.csv", demo=True,
                       pseudonym_keys=DEMO_PSEUDONYM_KEYS)
    assert (demo.status, demo.problems) == ("imported", [])
    assert keys_of(engine) == [by_hand("S-0000001", *DEMO_PSEUDONYM_KEYS)]
    with engine.connect() as connection:
        assert list(connection.scalars(select(intervention.c.demo))) == [True]


def _at_revision(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _with_raw_keys(engine) -> None:
    _at_revision(engine, "0004")
    load_reference(engine)
    with engine.begin() as connection:
        for event_id, key, demo in (("E1", " k1 ", False), ("E2", "K1", False), ("E3", None, False),
                                    ("DEMO-1", "S-0000001", True)):
            connection.execute(text(
                "INSERT INTO intervention (police_service, event_id, municipality_code, occurred_at, occurred_us,"
                " occurred_date, occurred_week, arrest, subject_key, contact_ban, demo)"
                " VALUES ('RIPRSL', :event, '57040', '2024-05-01 14:00:00', 1714572000000000, '2024-05-01',"
                " '2024-W18', :no, :key, :no, :demo)"), {"event": event_id, "key": key, "no": False, "demo": demo})


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_converts_stored_keys(backend, tmp_path, monkeypatch):
    def check(engine) -> None:
        _with_raw_keys(engine)
        monkeypatch.setenv("RELAIS_PSEUDONYM_KEYS", "")
        with pytest.raises(RuntimeError, match="RELAIS_PSEUDONYM_KEYS is missing"):
            upgrade_to_head(engine)
        assert keys_of(engine) == [" k1 ", "K1", None, "S-0000001"]
        monkeypatch.setenv("RELAIS_PSEUDONYM_KEYS", TEST_PSEUDONYM_KEY)
        upgrade_to_head(engine)
        assert keys_of(engine) == [by_hand("K1"), by_hand("K1"), None, by_hand("S-0000001", *DEMO_PSEUDONYM_KEYS)]

    with empty_database(backend, tmp_path) as engine:
        check(engine)


def _rekey(database_url: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", "rekey"], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_rekeying_keeps_links_under_the_longer_chain_of_secrets(engine, database_url, monkeypatch):
    rows = [{**INTERVENTION, "event_id": event, "subject_key": key} for event, key in (("E1", "K1"), ("E2", "K2"))]
    import_file(engine, "interventions", csv_bytes(rows), "interventions.csv")
    refused = _rekey(database_url)
    assert refused.returncode == 2 and "RELAIS_NEW_PSEUDONYM_KEY" in refused.stderr
    done = _rekey(database_url, RELAIS_NEW_PSEUDONYM_KEY=NEW_KEY)
    assert done.returncode == 0, done.stderr
    assert "2 subject keys (on 2 interventions)" in done.stdout
    assert keys_of(engine) == [by_hand("K1", TEST_PSEUDONYM_KEY, NEW_KEY), by_hand("K2", TEST_PSEUDONYM_KEY, NEW_KEY)]
    # With the new key appended, a later file's K1 links to the stored one.
    monkeypatch.setenv("RELAIS_PSEUDONYM_KEYS", f"{TEST_PSEUDONYM_KEY},{NEW_KEY}")
    import_file(engine, "interventions", csv_bytes([{**INTERVENTION, "event_id": "E3", "subject_key": "k1"}]), "x.csv")
    assert keys_of(engine)[2] == keys_of(engine)[0]
    chain = f"{TEST_PSEUDONYM_KEY},{NEW_KEY}"
    again = _rekey(database_url, RELAIS_NEW_PSEUDONYM_KEY=NEW_KEY, RELAIS_PSEUDONYM_KEYS=chain)
    assert again.returncode == 2 and "already in RELAIS_PSEUDONYM_KEYS" in again.stderr


def test_a_rekey_run_twice_or_an_import_under_the_old_chain_is_refused(engine, database_url, monkeypatch):
    """Run twice with unchanged settings, the new secret would be applied twice; a file under the old chain alone
    would give known subjects new pseudonyms. Both silently broke the links between repeat subjects."""
    import_file(engine, "interventions", csv_bytes([{**INTERVENTION, "event_id": "E1", "subject_key": "K1"}]), "a.csv")
    assert _rekey(database_url, RELAIS_NEW_PSEUDONYM_KEY=NEW_KEY).returncode == 0
    twice = _rekey(database_url, RELAIS_NEW_PSEUDONYM_KEY=NEW_KEY)
    assert twice.returncode == 2 and "is not the chain of the stored pseudonyms" in twice.stderr
    assert keys_of(engine) == [by_hand("K1", TEST_PSEUDONYM_KEY, NEW_KEY)]
    later = csv_bytes([{**INTERVENTION, "event_id": "E2", "subject_key": "K1"}])
    old_chain = import_file(engine, "interventions", later, "b.csv")
    assert (old_chain.status, old_chain.file_problem) == ("rejected", True)
    assert "RELAIS_PSEUDONYM_KEYS" in old_chain.problems[0].reason and len(keys_of(engine)) == 1
    monkeypatch.setenv("RELAIS_PSEUDONYM_KEYS", f"{TEST_PSEUDONYM_KEY},{NEW_KEY}")
    linked = import_file(engine, "interventions", later, "b.csv")
    assert linked.problems == [] and keys_of(engine) == [by_hand("K1", TEST_PSEUDONYM_KEY, NEW_KEY)] * 2


@pytest.mark.parametrize(
    ("variables", "words"),
    [({"RELAIS_NEW_PSEUDONYM_KEY": "k" * 40}, "fewer than 128 bits"),
     ({"RELAIS_NEW_PSEUDONYM_KEY": DEMO_PSEUDONYM_KEYS[0]}, "published value"),
     ({"RELAIS_NEW_PSEUDONYM_KEY": "Relais-SPVM-Quebec-2026!Relais-SPVM-Quebec-2026!!"}, "fewer than 128 bits")],
)
def test_rekey_refuses_a_key_that_can_be_guessed(engine, database_url, variables, words):
    import_file(engine, "interventions", csv_bytes([{**INTERVENTION, "event_id": "E1", "subject_key": "K1"}]), "a.csv")
    refused = _rekey(database_url, **variables)
    assert refused.returncode == 2 and words in refused.stderr and SECRET_RECIPE in refused.stderr
    assert keys_of(engine) == [by_hand("K1")]
    assert "the new key (RELAIS_NEW_PSEUDONYM_KEY)" in refused.stderr
    assert variables["RELAIS_NEW_PSEUDONYM_KEY"] not in refused.stderr


def test_a_weak_older_key_is_rotated_out_of_and_imports_go_on_under_the_stronger_chain(engine, database_url,
                                                                                       monkeypatch):
    """The chain's secrecy rests on its newest key: a deployment whose older key is weak rotates out of it with
    rekey (refused before, as the import was), and imports under the chain the rotation gives."""
    weak = "k" * 40
    done = _rekey(database_url, RELAIS_PSEUDONYM_KEYS=weak, RELAIS_NEW_PSEUDONYM_KEY=NEW_KEY)
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("RELAIS_PSEUDONYM_KEYS", f"{weak},{NEW_KEY}")
    report = import_file(engine, "interventions", csv_bytes([{**INTERVENTION, "subject_key": "K1"}]), "a.csv")
    assert (report.status, report.problems) == ("imported", [])
    assert keys_of(engine) == [by_hand("K1", weak, NEW_KEY)]


@pytest.mark.parametrize(
    ("chain", "words"),
    [((TEST_PSEUDONYM_KEY, "k" * 40), "the newest pseudonym key (the last of RELAIS_PSEUDONYM_KEYS)"),
     ((TEST_PSEUDONYM_KEY, DEMO_PSEUDONYM_KEYS[0]), "published value"),
     ((TEST_PSEUDONYM_KEY, "python -c 'import secrets; print(secrets.token_hex(32))'"), "published value")],
)
def test_the_newest_key_must_be_strong_and_not_public(engine, monkeypatch, chain, words):
    monkeypatch.setenv("RELAIS_LANGUAGE", "en")
    report = import_file(engine, "interventions", csv_bytes([INTERVENTION]), "a.csv", pseudonym_keys=chain)
    assert (report.status, report.problems[0].reason.count(SECRET_RECIPE)) == ("rejected", 1)
    reason = report.problems[0].reason
    assert words in reason and not any(key in reason for key in chain)
    with pytest.raises(PseudonymKeyError) as refused:
        checked_secrets(chain)
    assert refused.value.position == 2


@pytest.mark.parametrize("older", [DEMO_PSEUDONYM_KEYS[0], "k" * 40])
def test_an_older_public_or_weak_key_under_a_strong_newest_one_imports_real_rows(engine, older):
    """A deployment that once used the demo's key for real rows rotates out of it, and imports again."""
    chain = (older, TEST_PSEUDONYM_KEY)
    assert checked_secrets(chain) == chain
    report = import_file(engine, "interventions", csv_bytes([{**INTERVENTION, "subject_key": "K1"}]), "a.csv",
                         pseudonym_keys=chain)
    assert (report.status, report.problems) == ("imported", [])
    assert keys_of(engine) == [by_hand("K1", *chain)]
