"""Freshness: each police service's latest import and intervention, worked out by hand on both databases; the warning
at the top of the queue and the Overview for a viewer whose service is late, and only for the services of the
viewer's scope; the Data page's table; one e-mail to the administrators per late spell, through a real SMTP server."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import insert, select, update
from streamlit.testing.v1 import AppTest

from dashboard.commands import freshness as freshness_command
from dashboard.commands.freshness import announce_stale, freshness_line, spell, stale_message
from dashboard.i18n import elapsed, t
from dashboard.ingest.importer import import_file
from dashboard.settings import PROJECT_ROOT
from dashboard.web import freshness_view
from queries.filters import Scope
from queries.freshness import service_freshness, stale_services
from queries.schema import audit_event, import_batch, intervention, stale_notice
from tests.test_alerts import inbox  # noqa: F401 (fixture: an SMTP server on 127.0.0.1 keeping what it is handed)
from tests.test_app import APP, AUTH, PAGES_DIR, app_for, signed_in, titles

# Seen at 17:00 UTC on 20 November 2025 (12:00 in Quebec, EST).
NOW = datetime(2025, 11, 20, 17, 0, tzinfo=UTC)
MUNICIPALITIES = {"RIPRSL": "57040", "SPS": "94068"}
_events = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_cache():
    """AppTest shares this process's Streamlit cache, and each test's database is new: start it empty."""
    st.cache_data.clear()


def arrive(engine, service: str | None, finished_at: datetime, *occurred: tuple[str, datetime],
           channel: str = "command") -> int:
    """A police file of interventions (service, occurred_at) imported through the importer, finished at a known time."""
    lines = ["event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban"]
    for code, moment in occurred:
        at = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
        lines.append(f"F{next(_events)},{code},{MUNICIPALITIES[code]},{at},oui,{at},K{next(_events)},non")
    report = import_file(engine, "interventions", ("\n".join(lines) + "\n").encode(), "interventions.csv",
                         imported_by="test", service=service, channel=channel)
    assert report.problems == [] and report.written
    with engine.begin() as connection:
        connection.execute(update(import_batch).where(import_batch.c.id == report.batch_id)
                           .values(finished_at=finished_at))
    return report.batch_id


def batch(engine, service: str | None, finished_at: datetime, *, kind: str = "interventions",
          status: str = "imported", channel: str | None = "command") -> None:
    """A batch row alone, as an import that wrote nothing (refused, duplicate) or of another kind leaves it."""
    with engine.begin() as connection:
        connection.execute(insert(import_batch).values(
            kind=kind, file_name="f.csv", file_sha256="0" * 64, imported_by="test", started_at=finished_at,
            finished_at=finished_at, status=status, rows_read=1, rows_accepted=0, rows_rejected=0,
            police_service=service, channel=channel))


def hours_before(hours: float, now: datetime = NOW) -> datetime:
    return now - timedelta(hours=hours)


@pytest.fixture
def arrived(engine):
    """RIPRSL's latest police file finished 21 h before NOW, SPS's 31 h before; hand entries, refused files and
    outreach files (one of them a duplicate) after them, which are not police data arriving."""
    arrive(engine, "RIPRSL", hours_before(21), ("RIPRSL", hours_before(26)), ("RIPRSL", hours_before(22.5)))
    arrive(engine, "SPS", hours_before(31), ("SPS", hours_before(42)), channel="upload")
    # A case the worker entered by hand 3 h ago, from a report of an arrest 5 h ago: not the police's file.
    arrive(engine, "RIPRSL", hours_before(3), ("RIPRSL", hours_before(5)), channel="form")
    with engine.begin() as connection:
        connection.execute(update(intervention).where(intervention.c.occurred_at == hours_before(5))
                           .values(entered_by="anne", entered_at=hours_before(3)))
    batch(engine, "RIPRSL", hours_before(2), kind="outreach")
    batch(engine, "RIPRSL", hours_before(1.5), status="rejected")
    batch(engine, "RIPRSL", hours_before(1), kind="outreach", status="duplicate", channel="drop_folder")
    batch(engine, "SPS", hours_before(0.5), status="failed", channel="upload")
    return engine


def test_each_services_latest_import_and_intervention(arrived):
    frame = service_freshness(arrived, None, Scope.everything(), NOW)
    assert list(frame["code"]) == ["RIPRSL", "SPS"]
    assert list(frame["last_import_at"]) == [hours_before(21), hours_before(31)]
    assert list(frame["hours_since_import"]) == [21.0, 31.0]
    assert list(frame["last_intervention_at"]) == [hours_before(22.5), hours_before(42)]
    assert list(frame["hours_since_intervention"]) == [22.5, 42.0]
    assert list(frame["name_fr"]) == ["Régie intermunicipale de police Richelieu–Saint-Laurent",
                                      "Service de police de Saguenay"]


def test_a_police_file_delivered_again_unchanged_is_data_arriving(arrived):
    """A quiet day's export identical to the last one is recorded as a duplicate: the export still ran on time."""
    batch(arrived, "SPS", hours_before(2), status="duplicate", channel="drop_folder")
    frame = service_freshness(arrived, None, Scope.everything(), NOW).set_index("code")
    assert frame.loc["SPS", "hours_since_import"] == 2.0 and frame.loc["RIPRSL", "hours_since_import"] == 21.0


def test_a_hand_entry_confirmed_by_a_police_file_is_the_police_data(arrived):
    with arrived.begin() as connection:
        connection.execute(update(intervention).where(intervention.c.entered_by == "anne")
                           .values(confirmed_at=hours_before(1)))
    frame = service_freshness(arrived, None, Scope.everything(), NOW)
    assert list(frame["hours_since_intervention"]) == [5.0, 42.0]
    assert list(frame["hours_since_import"]) == [21.0, 31.0]  # the hand entry's own batch still does not count


def test_late_means_no_import_for_the_set_hours_or_more(arrived):
    assert list(stale_services(arrived, None, Scope.everything(), NOW, 26)["code"]) == ["SPS"]
    assert list(stale_services(arrived, None, Scope.everything(), NOW, 31.5)["code"]) == []
    # Exactly 21 h without an import is 21 h without one: late, the longest late first.
    assert list(stale_services(arrived, None, Scope.everything(), NOW, 21)["code"]) == ["SPS", "RIPRSL"]


def test_a_service_that_never_sent_anything_is_late_first(engine):
    arrive(engine, "RIPRSL", hours_before(30), ("RIPRSL", hours_before(40)))
    late = stale_services(engine, None, Scope.everything(), NOW, 26)
    assert list(late["code"]) == ["SPS", "RIPRSL"]
    assert late["last_import_at"].isna().tolist() == [True, False]
    assert late["last_intervention_at"].isna().tolist() == [True, False]
    assert late["hours_since_import"].tolist()[1] == 30.0


def test_a_file_of_several_services_is_each_of_theirs(arrived):
    """The demo's files (and a file imported unconfined) hold every service's rows: their batch has no service."""
    arrive(arrived, None, hours_before(4), ("RIPRSL", hours_before(6)), ("SPS", hours_before(7)))
    frame = service_freshness(arrived, None, Scope.everything(), NOW)
    assert list(frame["hours_since_import"]) == [4.0, 4.0]
    assert list(frame["hours_since_intervention"]) == [6.0, 7.0]


@pytest.mark.parametrize(("scope", "codes"), [
    (Scope.of("SPS"), ["SPS"]),
    (Scope.of("RIPRSL", role="worker"), ["RIPRSL"]),
    (Scope.of("RIPRSL", "SPS", role="director"), ["RIPRSL", "SPS"]),
    (Scope(roles=frozenset({"captain"})), []),
])
def test_a_viewer_reads_the_freshness_of_their_own_services_only(arrived, scope, codes):
    assert list(service_freshness(arrived, None, scope, NOW)["code"]) == codes
    assert list(stale_services(arrived, None, scope, NOW, 26)["code"]) == [code for code in codes if code == "SPS"]


def test_a_funder_alone_or_a_scope_without_role_reads_no_freshness(arrived):
    for scope in (Scope.of("SPS", role="funder"), Scope(services=frozenset({"SPS"}))):
        with pytest.raises(PermissionError):
            service_freshness(arrived, None, scope, NOW)


@pytest.mark.parametrize(("hours", "french", "english"), [
    (0.99, "moins d'une heure", "less than an hour"), (-0.01, "moins d'une heure", "less than an hour"),
    (31.99, "31 h", "31 h"), (47.99, "47 h", "47 h"), (48, "2 jours", "2 days"), (1000, "41 jours", "41 days"),
])
def test_time_since_in_words(hours, french, english):
    assert (elapsed(hours, "fr"), elapsed(hours, "en")) == (french, english)


# The pages, at this minute: the app's clock stopped there.
PAGE_NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture
def page_clock(monkeypatch):
    monkeypatch.setattr(freshness_view, "_now", lambda: PAGE_NOW)


def sent(engine, riprsl_hours: float | None, sps_hours: float | None):
    """Each service's latest police file finished that many hours before PAGE_NOW (None: never), each with an
    arrest an hour before."""
    for service, hours in (("RIPRSL", riprsl_hours), ("SPS", sps_hours)):
        if hours is not None:
            arrive(engine, service, hours_before(hours, PAGE_NOW), (service, hours_before(hours + 1, PAGE_NOW)))
    return engine


def warnings(test: AppTest) -> list[str]:
    return [warning.value for warning in test.warning]


def person(role: str, *services: str) -> dict:
    return {"sub": "p", "roles": [role], "police_services": list(services)}


def test_the_queue_says_at_the_top_that_the_workers_service_is_late(engine, database_url, monkeypatch, page_clock):
    sent(engine, 31.4, 2)
    test = app_for(person("worker", "RIPRSL"), database_url, monkeypatch)
    assert not test.exception and titles(test) == [t("page.queue", "fr")]
    assert warnings(test) == ["Dernières données du service RIPRSL : il y a 31 h (attendues au moins toutes les "
                              "26 h) ; des arrestations récentes peuvent manquer."]


def test_a_fresh_service_shows_no_warning(engine, database_url, monkeypatch, page_clock):
    sent(engine, 25.9, 31)
    test = app_for(person("worker", "RIPRSL"), database_url, monkeypatch)
    assert not test.exception and titles(test) == [t("page.queue", "fr")] and warnings(test) == []


def test_a_saguenay_worker_is_not_warned_about_the_regie(engine, database_url, monkeypatch, page_clock):
    sent(engine, 31, 3)
    test = app_for(person("worker", "SPS"), database_url, monkeypatch)
    assert not test.exception and titles(test) == [t("page.queue", "fr")] and warnings(test) == []


def test_the_overview_says_it_to_the_captain_in_his_language(engine, database_url, monkeypatch, page_clock):
    sent(engine, 50, None)
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(APP, default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), **person("captain", "RIPRSL", "SPS")}
    test.query_params["lang"] = "en"
    test.run()
    assert not test.exception and titles(test) == [t("page.overview", "en")]
    assert warnings(test) == [
        "No data received from SPS: its arrests do not appear here yet.",
        "Latest data from RIPRSL: 2 days ago (expected at least every 26 h); recent arrests may be missing.",
    ]


def test_a_captain_whose_service_is_late_is_told_on_the_overview(engine, database_url, monkeypatch, page_clock):
    sent(engine, 2, 27)
    test = app_for(person("captain", "SPS"), database_url, monkeypatch)
    assert not test.exception and titles(test) == [t("page.overview", "fr")]
    assert warnings(test) == ["Dernières données du service SPS : il y a 27 h (attendues au moins toutes les 26 h) ; "
                              "des arrestations récentes peuvent manquer."]


def test_the_deployments_hours_decide_and_a_new_import_ends_the_warning(engine, database_url, monkeypatch,
                                                                         page_clock):
    sent(engine, 10, 2)
    monkeypatch.setenv("RELAIS_STALE_HOURS", "8")
    test = app_for(person("captain", "RIPRSL"), database_url, monkeypatch,
                   script=str(PAGES_DIR / "overview.py"))
    assert warnings(test) == ["Dernières données du service RIPRSL : il y a 10 h (attendues au moins toutes les 8 h) "
                              "; des arrestations récentes peuvent manquer."]
    # The import bumps the data version: the next rerun reads the freshness again, within the same minute.
    sent(engine, 0.5, None)
    test.run()
    assert not test.exception and warnings(test) == []


def table_script(claims: dict) -> None:
    """The Data page's part: the freshness table of a viewer."""
    from auth.viewer import viewer_from_claims
    from dashboard.web.freshness_view import freshness_table

    freshness_table(viewer_from_claims(claims))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_data_pages_table_in_local_time_with_the_late_ones_in_words(arrived, database_url, monkeypatch,
                                                                        language):
    monkeypatch.setattr(freshness_view, "_now", lambda: NOW)
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_function(table_script, args=({"sub": "a", "roles": ["admin"], "police_services": ["*"]},),
                                 default_timeout=60)
    test.query_params["lang"] = language
    test.run()
    assert not test.exception
    shown = test.table[0].value
    # NOW is 12:00 in Quebec (EST): 21 h before is 15:00 the day before, 31 h before is 05:00.
    expected = {
        "fr": [["Régie intermunicipale de police Richelieu–Saint-Laurent (RIPRSL)", "19 nov. 2025, 15 h 00", "21 h",
                "19 nov. 2025, 13 h 30", "22 h", "À jour"],
               ["Service de police de Saguenay (SPS)", "19 nov. 2025, 05 h 00", "31 h", "18 nov. 2025, 18 h 00",
                "42 h", "En retard : aucune importation depuis 31 h"]],
        "en": [["Richelieu–Saint-Laurent Intermunicipal Police Board (RIPRSL)", "Nov 19, 2025, 3:00\u202fp.m.",
                "21 h", "Nov 19, 2025, 1:30\u202fp.m.", "22 h", "Up to date"],
               ["Saguenay Police Service (SPS)", "Nov 19, 2025, 5:00\u202fa.m.", "31 h", "Nov 18, 2025, 6:00\u202fp.m.",
                "42 h", "Late: no import for 31 h"]],
    }[language]
    assert shown.values.tolist() == expected
    assert list(shown.columns) == [t(f"freshness.column.{name}", language) for name in
                                   ("service", "last_import", "import_age", "last_intervention", "intervention_age",
                                    "status")]
    assert test.subheader[0].value == t("freshness.title", language)


def test_the_table_says_never_for_a_service_that_sent_nothing(engine, database_url, monkeypatch):
    arrive(engine, "RIPRSL", hours_before(3), ("RIPRSL", hours_before(4)))
    monkeypatch.setattr(freshness_view, "_now", lambda: NOW)
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_function(table_script, args=(person("admin", "*"),), default_timeout=60).run()
    assert test.table[0].value.values.tolist()[1] == ["Service de police de Saguenay (SPS)", "jamais", "", "jamais",
                                                      "", "En retard : aucune donnée reçue"]


# One e-mail per late spell.
ADMINS = "admin1@relais.test, admin2@relais.test"


@pytest.fixture
def mailing(inbox, monkeypatch):  # noqa: F811
    controller, handler = inbox
    monkeypatch.setenv("RELAIS_ADMIN_EMAILS", ADMINS)
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")
    monkeypatch.setenv("RELAIS_APP_URL", "https://relais.example/")
    return handler


def notices(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(select(stale_notice.c.police_service, stale_notice.c.spell, stale_notice.c.recipients)
                                  .order_by(stale_notice.c.id)).all()


def test_the_administrators_get_one_e_mail_per_late_spell(arrived, mailing):
    assert announce_stale(arrived, NOW) == 1
    assert [recipients for recipients, _message in mailing.messages] == [["admin1@relais.test"],
                                                                         ["admin2@relais.test"]]
    message = mailing.messages[0][1]
    assert message["Subject"] == "Relais : données du service SPS en retard / Relais: SPS data late"
    body = message.get_content()
    assert ("Le service Service de police de Saguenay (SPS) n'a transmis aucune donnée depuis 31 h (dernière "
            "importation : 19 nov. 2025, 05 h 00, heure locale).") in body
    assert "Saguenay Police Service (SPS) has sent no data for 31 h (latest import: Nov 19, 2025, 5:00" in body
    assert body.count("https://relais.example/data") == 2
    assert body.index("Le service") < body.index("Saguenay Police Service (SPS) has")
    assert notices(arrived) == [("SPS", "2025-11-19T10:00:00+00:00", 2)]
    # An hour later the spell goes on: nothing more.
    assert announce_stale(arrived, NOW + timedelta(hours=1)) == 0 and len(mailing.messages) == 2
    # A new file ends the spell; once it is late in turn, that new spell is announced.
    arrive(arrived, "SPS", NOW + timedelta(hours=2), ("SPS", NOW))
    assert announce_stale(arrived, NOW + timedelta(hours=3)) == 0 and len(mailing.messages) == 2
    assert announce_stale(arrived, NOW + timedelta(hours=28)) == 2  # RIPRSL's spell too, 49 h by then
    assert len(mailing.messages) == 6
    assert notices(arrived)[1:] == [("RIPRSL", "2025-11-19T20:00:00+00:00", 2),
                                    ("SPS", "2025-11-20T19:00:00+00:00", 2)]
    with arrived.connect() as connection:
        sends = connection.execute(select(audit_event.c.detail).where(audit_event.c.action == "admin_mail")).scalars()
        assert sum('"stale_data"' in detail and '"SPS"' in detail for detail in sends) == 4


def test_a_spell_another_process_announced_meanwhile_is_not_mailed_again(arrived, mailing, monkeypatch):
    with arrived.begin() as connection:
        connection.execute(insert(stale_notice).values(police_service="SPS", spell=spell(hours_before(31)),
                                                       notified_at=NOW, recipients=2))
    # Read before the other process's insert: only the unique (service, spell) stands between the two.
    monkeypatch.setattr(freshness_command, "announced_spells", lambda *_: set())
    assert announce_stale(arrived, NOW) == 0 and mailing.messages == []


def test_a_never_seen_service_is_announced_once_as_never(engine, mailing):
    assert announce_stale(engine, NOW) == 2
    assert {(code, name) for code, name, _ in notices(engine)} == {("RIPRSL", "never"), ("SPS", "never")}
    bodies = [message.get_content() for _to, message in mailing.messages]
    assert any("Le service Service de police de Saguenay (SPS) n'a encore transmis aucune donnée." in body
               and "Saguenay Police Service (SPS) has not sent any data yet." in body for body in bodies)
    assert announce_stale(engine, NOW + timedelta(days=3)) == 0 and len(mailing.messages) == 4


def test_without_addresses_nothing_is_recorded_so_the_spell_waits_for_them(arrived, monkeypatch):
    monkeypatch.delenv("RELAIS_ADMIN_EMAILS", raising=False)
    assert announce_stale(arrived, NOW) == 0 and notices(arrived) == []


def test_the_e_mail_names_the_service_and_the_hours_only(arrived):
    late = stale_services(arrived, None, Scope.everything(), NOW, 26)
    subject, body = stale_message(next(late.itertuples(index=False)), "https://relais.example")
    with arrived.connect() as connection:
        events = connection.execute(select(intervention.c.event_id, intervention.c.subject_key)).all()
    assert events and not any(value in body or value in subject for row in events for value in row)


def _freshness(database_url: str, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_USER": "cron", **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", "freshness", *arguments], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def test_the_command_prints_each_service_and_exits_1_while_one_is_late(engine, database_url):
    now = datetime.now(UTC)
    arrive(engine, "RIPRSL", now - timedelta(hours=3, minutes=10), ("RIPRSL", now - timedelta(hours=5)))
    done = _freshness(database_url, RELAIS_LANGUAGE="en")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("RIPRSL: latest import ") and "(3 h ago) · latest intervention " in lines[0]
    assert lines[0].endswith("(5 h ago) · Up to date")
    assert lines[1] == "SPS: latest import never · latest intervention never · Late: no data received"
    arrive(engine, "SPS", now - timedelta(minutes=5), ("SPS", now - timedelta(hours=1)))
    done = _freshness(database_url)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[1]
    assert line.startswith("SPS : dernière importation ") and "(il y a moins d'une heure) · dernière" in line
    assert line.endswith("(il y a 1 h) · À jour")
    with engine.connect() as connection:
        runs = connection.execute(select(audit_event.c.detail).where(audit_event.c.action == "freshness")).scalars()
        assert [('"late": ["SPS"]' in detail, '"announced": 0' in detail) for detail in runs] == [(True, True),
                                                                                                (False, True)]


def test_the_command_sends_once_per_spell(engine, database_url, mailing):
    arrive(engine, "RIPRSL", datetime.now(UTC) - timedelta(hours=40), ("RIPRSL", datetime.now(UTC)
                                                                        - timedelta(hours=41)))
    variables = {name: os.environ[name] for name in ("RELAIS_ADMIN_EMAILS", "RELAIS_SMTP_URL", "RELAIS_APP_URL")}
    first = _freshness(database_url, "--send", RELAIS_LANGUAGE="en", **variables)
    assert first.returncode == 1 and first.stdout.splitlines()[-1] == "Late spells announced to the administrators: 2."
    second = _freshness(database_url, "--send", RELAIS_LANGUAGE="en", **variables)
    assert second.stdout.splitlines()[-1] == "Late spells announced to the administrators: 0."
    assert len(mailing.messages) == 4  # RIPRSL's spell and SPS's (never), to each of the two


def test_send_without_addresses_is_a_usage_error(engine, database_url):
    done = _freshness(database_url, "--send", RELAIS_LANGUAGE="en", RELAIS_ADMIN_EMAILS="")
    assert done.returncode == 2 and "RELAIS_ADMIN_EMAILS" in done.stderr and done.stdout == ""


def test_the_command_line_in_both_languages():
    row = pd.DataFrame({"code": ["SPS"], "last_import_at": [pd.Timestamp(NOW - timedelta(hours=31))],
                        "last_intervention_at": [pd.NaT], "hours_since_import": [31.0],
                        "hours_since_intervention": [float("nan")]}).iloc[0]
    assert freshness_line(row, "fr") == ("SPS : dernière importation 19 nov. 2025, 05 h 00 (il y a 31 h) · "
                                         "dernière intervention jamais · En retard : aucune importation depuis 31 h")
    assert freshness_line(row, "en") == ("SPS: latest import Nov 19, 2025, 5:00\u202fa.m. (31 h ago) · latest "
                                         "intervention never · Late: no import for 31 h")


def test_a_late_spell_whose_e_mail_reached_nobody_is_announced_at_the_next_check(arrived, inbox,  # noqa: F811
                                                                                  monkeypatch):
    from dashboard.commands.serve import free_port

    controller, handler = inbox
    monkeypatch.setenv("RELAIS_ADMIN_EMAILS", ADMINS)
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{free_port()}")  # nothing listens there
    assert announce_stale(arrived, NOW) == 0
    assert notices(arrived) == []
    monkeypatch.setenv("RELAIS_SMTP_URL", f"smtp+plain://127.0.0.1:{controller.port}")
    assert announce_stale(arrived, NOW + timedelta(minutes=5)) == 1
    assert len(handler.messages) == 2 and [code for code, _spell, _count in notices(arrived)] == ["SPS"]
