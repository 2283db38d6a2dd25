"""The queue page with AppTest: each role and scope, the clock, the form and its refusals, the audit row, and the
figures of the other pages moving at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard.figures import short_label
from dashboard.i18n import number, t
from dashboard.settings import PROJECT_ROOT
from dashboard.web import queue_view
from queries.localtime import LOCAL_TIMEZONE
from queries.schema import audit_event, outreach_attempt
from tests.queue_data import load_queue_data
from tests.test_app import APP, AUTH, PAGES_DIR, app_for, titles

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture
def queued(engine, monkeypatch):
    """The hand-made queue moved to NOW, and the page's clock stopped there (the clock's edges: test_queue.py)."""
    monkeypatch.setattr(queue_view, "_now", lambda: NOW)
    return load_queue_data(engine, NOW)


def worker(*services: str) -> dict:
    return {"sub": "anne", "roles": ["worker"], "police_services": list(services)}


def table(test: AppTest, index: int = 0):
    return test.dataframe[index].value


def test_the_queue_is_the_workers_home_with_the_oldest_arrest_first(queued, database_url, monkeypatch):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    assert not test.exception and titles(test) == [t("page.queue", "fr")]
    offenders, victims = table(test, 0), table(test, 1)
    assert list(offenders["Dossier"]) == ["Q3", "Q4", "Q2", "Q1"]
    assert list(offenders["Délai"]) == ["25 h 00 · en retard", "24 h 00 · bientôt dû",
                                        "20 h 00 · bientôt dû", "2 h 00 · à temps"]
    assert list(offenders["Interdit de contact"]) == ["Non", "Non", "Oui", "Non"]
    assert list(offenders["Interventions en 12 mois"]) == [0, 0, 0, 1]
    assert list(offenders["Tentatives"]) == [1, 0, 1, 0]
    assert list(victims["Dossier"]) == ["Q5", "Q3", "Q4", "Q2", "Q8", "Q7", "Q10"]
    tiles = [(metric.label, metric.value) for metric in test.metric]
    assert tiles[:2] == [("En attente", "4"), ("En retard", "1")]
    assert tiles[3:5] == [("En attente", "7"), ("En retard", "0")]  # victims: 72 h target


def test_a_saguenay_worker_never_sees_the_regies_files(queued, database_url, monkeypatch):
    test = app_for(worker("SPS"), database_url, monkeypatch)
    assert list(table(test)["Dossier"]) == ["Q9"]
    shown = {value for frame in test.dataframe for value in frame.value["Dossier"]}
    assert shown == {"Q9"}


def test_a_director_sees_how_long_the_queue_is_not_its_files(queued, database_url, monkeypatch):
    test = app_for({"sub": "dora", "roles": ["director"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    test.switch_page(str(PAGES_DIR / "queue.py")).run()
    assert not test.exception and titles(test) == [t("page.queue", "fr")]
    assert len(test.dataframe) == 0
    assert [(metric.label, metric.value) for metric in test.metric][:2] == [("En attente", "4"), ("En retard", "1")]
    assert test.info[0].value == t("queue.director", "fr")


def test_a_captain_cannot_open_the_queue(queued, database_url, monkeypatch):
    captain = {"sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}
    test = app_for(captain, database_url, monkeypatch, script=str(PAGES_DIR / "queue.py"))
    assert not test.exception and titles(test) == [] and len(test.dataframe) == 0 and len(test.metric) == 0


def _recorded(engine, event_id: str) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(select(outreach_attempt.c.outcome, outreach_attempt.c.recorded_by).where(
            outreach_attempt.c.event_id == event_id, outreach_attempt.c.recorded_by.is_not(None))).all()


def test_recording_an_attempt_takes_the_man_out_of_the_queue_and_moves_the_outreach_figures(
        queued, database_url, monkeypatch):
    director = {"sub": "dora", "roles": ["director"], "police_services": ["RIPRSL"]}
    monkeypatch.setenv("DATABASE_URL", database_url)
    outreach = AppTest.from_file(str(PAGES_DIR / "outreach.py"), default_timeout=60)
    outreach.secrets["auth"] = AUTH
    outreach.user = {"is_logged_in": True, "iat": int(datetime.now(UTC).timestamp()), **director}
    today = NOW.astimezone(LOCAL_TIMEZONE).date()
    outreach.query_params.update({"period": "custom", "from": (today - timedelta(days=14)).isoformat(),
                                  "to": today.isoformat()})
    outreach.run()
    reach = short_label("reach_rate", "fr")
    before = {metric.label: metric.value for metric in outreach.metric}[reach]

    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    test.selectbox(key="queue_case_offender").set_value("Q4").run()
    test.selectbox(key="new_offender_outcome").set_value("accepted")
    test.selectbox(key="new_offender_referral").set_value("men_program")
    test.button(key="FormSubmitter:attempt_offender-Enregistrer la tentative").click().run()
    assert not test.exception and not test.error
    assert _recorded(queued, "Q4") == [("accepted", "anne")]
    assert list(table(test)["Dossier"]) == ["Q3", "Q2", "Q1"]
    with queued.connect() as connection:
        row = connection.execute(select(audit_event).where(audit_event.c.action == "attempt")).one()
    assert (row.subject, row.services, json.loads(row.detail)["outcome"]) == ("anne", "RIPRSL", "accepted")

    # The same process, the next rerun: the director's figures include it without waiting for the cache to expire.
    outreach.run()
    after = {metric.label: metric.value for metric in outreach.metric}[reach]
    # By hand: of the 7 arrests of the last 14 days (Q1–Q8 but Q6; Q9 is the Saguenay's), Q5 was reached; now Q4 too.
    assert (before, after) == ("14 %", "29 %")


def test_a_refused_attempt_says_why_and_writes_nothing(queued, database_url, monkeypatch):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    test.selectbox(key="queue_case_offender").set_value("Q3").run()
    arrest = (NOW - timedelta(hours=25)).astimezone(LOCAL_TIMEZONE)
    before_arrest = arrest - timedelta(minutes=1)
    test.date_input(key="new_offender_date").set_value(before_arrest.date())
    test.time_input(key="new_offender_time").set_value(before_arrest.time())
    test.button(key="FormSubmitter:attempt_offender-Enregistrer la tentative").click().run()
    assert not test.exception
    assert t("queue.form.refused", "fr") in test.error[0].value
    assert t("import.reason.attempt_before_intervention", "fr") in test.error[0].value
    assert _recorded(queued, "Q3") == []


def test_closing_a_case_needs_a_confirmation(queued, database_url, monkeypatch):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    test.selectbox(key="queue_case_offender").set_value("Q1").run()
    assert test.button(key="close_offender").disabled
    test.checkbox(key="close_confirm_offender").check().run()
    test.button(key="close_offender").click().run()
    assert not test.exception
    assert list(table(test)["Dossier"]) == ["Q3", "Q4", "Q2"]


def test_a_worker_corrects_then_withdraws_her_attempt(queued, database_url, monkeypatch):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    test.selectbox(key="queue_case_offender").set_value("Q1").run()
    test.button(key="FormSubmitter:attempt_offender-Enregistrer la tentative").click().run()
    assert _recorded(queued, "Q1") == [("no_answer", "anne")]
    assert len(test.selectbox(key="recent_attempt").options) == 1
    with queued.connect() as connection:
        attempt_id = connection.scalar(select(outreach_attempt.c.attempt_id).where(
            outreach_attempt.c.recorded_by == "anne"))
    test.selectbox(key="recent_attempt").set_value(attempt_id).run()
    test.selectbox(key=f"fix_{attempt_id}_outcome").set_value("declined")
    test.button(key="FormSubmitter:correct_attempt-Corriger la tentative").click().run()
    assert not test.exception and _recorded(queued, "Q1") == [("declined", "anne")]
    test.selectbox(key="recent_attempt").set_value(attempt_id).run()
    test.button(key="FormSubmitter:correct_attempt-Retirer la tentative").click().run()
    assert not test.exception and _recorded(queued, "Q1") == []
    with queued.connect() as connection:
        actions = list(connection.scalars(select(audit_event.c.action).order_by(audit_event.c.id)))
    assert [action for action in actions if action.startswith("attempt")] == [
        "attempt", "attempt_corrected", "attempt_withdrawn"]


def test_a_write_by_another_process_shows_on_the_next_rerun(queued, database_url, monkeypatch, tmp_path):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    assert "Q4" in set(table(test)["Dossier"])
    arrest = (NOW - timedelta(hours=24)).astimezone(UTC) + timedelta(minutes=5)
    path = tmp_path / "outreach.csv"
    path.write_text("attempt_id,police_service,event_id,attempted_at,subject_role,outcome\n"
                    f"X1,RIPRSL,Q4,{arrest.isoformat()},offender,declined\n", encoding="utf-8")
    environment = {**os.environ, "DATABASE_URL": database_url}
    imported = subprocess.run([sys.executable, "-m", "dashboard", "import", "outreach", str(path), "--service",
                               "RIPRSL"], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True,
                              timeout=120)
    assert imported.returncode == 0, imported.stderr
    test.run()
    assert list(table(test)["Dossier"]) == ["Q3", "Q2", "Q1"]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_queue_speaks_both_languages(queued, database_url, monkeypatch, language):
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(APP, default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {"is_logged_in": True, "iat": int(datetime.now(UTC).timestamp()), **worker("RIPRSL")}
    test.query_params["lang"] = language
    test.run()
    assert not test.exception and titles(test) == [t("page.queue", language)]
    assert [tab.label for tab in test.tabs] == [t("queue.tab.offender", language), t("queue.tab.victim", language)]
    assert test.metric[0].label == t("queue.tile.waiting", language)
    assert test.metric[0].value == number(4, language)


def test_the_chosen_case_stays_chosen_while_the_clock_turns(queued, database_url, monkeypatch):
    """The queue refreshes every minute and the browser sends back the label of the case she chose: the labels stay
    the same, so her choice and the form she is filling stay on screen (with the time waited in them, a new minute
    lost both)."""
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    test.selectbox(key="queue_case_offender").set_value("Q4").run()
    labels = test.selectbox(key="queue_case_offender").options
    monkeypatch.setattr(queue_view, "_now", lambda: NOW + timedelta(minutes=1))
    test.run()  # the minute's refresh
    assert test.selectbox(key="queue_case_offender").options == labels
    assert test.selectbox(key="queue_case_offender").value == "Q4"
    shown = table(test).set_index("Dossier")
    label = next(label for label in labels if label.startswith("Q4 · "))
    assert label == f"Q4 · {shown.loc['Q4', 'Municipalité']} · {shown.loc['Q4', 'Arrestation']}"
    test.selectbox(key="new_offender_outcome").set_value("accepted")
    test.button(key="FormSubmitter:attempt_offender-Enregistrer la tentative").click().run()
    assert not test.exception and not test.error
    assert _recorded(queued, "Q4") == [("accepted", "anne")]
