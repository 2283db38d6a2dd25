"""The queue page with AppTest: each role and scope, the clock, the form and its refusals, the audit row, and the
figures of the other pages moving at once."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from streamlit.runtime.fragment import MemoryFragmentStorage
from streamlit.runtime.scriptrunner import RerunData
from streamlit.testing.v1 import AppTest, local_script_runner

from auth import session
from dashboard.figures import short_label
from dashboard.i18n import number, t
from dashboard.settings import PROJECT_ROOT
from dashboard.web import queue_view
from queries.localtime import LOCAL_TIMEZONE
from queries.schema import audit_event, case_closure, outreach_attempt
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


def submit_button(test: AppTest, role: str = "offender"):
    """The drawn attempt form's button (its key holds the form's token)."""
    (button,) = [button for button in test.button
                 if button.label == t("queue.form.submit", "fr") and button.form_id == f"attempt_{role}"]
    return button


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
    submit_button(test).click().run()
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
    submit_button(test).click().run()
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
    submit_button(test).click().run()
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
    submit_button(test).click().run()
    assert not test.exception and not test.error
    assert _recorded(queued, "Q4") == [("accepted", "anne")]


def test_three_clicks_on_the_same_form_store_one_attempt(queued, database_url, monkeypatch):
    """The browser sends each click on the same drawn form with that form's button: the first stores the attempt,
    and the others, which reach the page once it has drawn the next form, store nothing."""
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    test.selectbox(key="queue_case_offender").set_value("Q4").run()
    test.selectbox(key="new_offender_outcome").set_value("no_answer")
    submit = submit_button(test)
    for _click in range(3):
        submit.click().run()  # the same element, of the form as drawn before the first click
        assert not test.exception and not test.error
    assert _recorded(queued, "Q4") == [("no_answer", "anne")]
    with queued.connect() as connection:
        assert list(connection.scalars(select(audit_event.c.action).where(
            audit_event.c.action.like("attempt%")))) == ["attempt"]
    # The next form is a new attempt.
    assert submit_button(test).key != submit.key
    submit_button(test).click().run()
    assert _recorded(queued, "Q4") == [("no_answer", "anne"), ("no_answer", "anne")]


@pytest.fixture
def queue_fragments(monkeypatch) -> dict[str, None]:
    """The ids of the fragments the page registers, in order: the offenders' queue, then the victims'."""
    registered: dict[str, None] = {}
    register = MemoryFragmentStorage.register

    def registering(storage, fragment_id, *args, **options):
        registered[fragment_id] = None
        return register(storage, fragment_id, *args, **options)

    monkeypatch.setattr(MemoryFragmentStorage, "register", registering)
    return registered


def run_fragment(test: AppTest, fragment_id: str, by_timer: bool, monkeypatch, element=None) -> AppTest:
    """Run one fragment alone, as the browser asks: its run_every timer (is_auto_rerun), or a click inside it."""
    with monkeypatch.context() as patch:
        patch.setattr(local_script_runner, "RerunData",
                      functools.partial(RerunData, fragment_id=fragment_id, is_auto_rerun=by_timer))
        (element or test).run()
    return test


def idle_since(test: AppTest, seconds: float) -> float:
    """As if the worker's last click was this long ago, in this session and in this server process."""
    moment = time.time() - seconds
    test.session_state[session.MEMORY_KEY].last_activity = moment
    session._last_seen[(test.user["sub"], float(test.user["iat"]))] = moment
    return moment


def _actions(engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(audit_event.c.action).order_by(audit_event.c.id)))


def test_the_queues_refresh_is_not_activity_and_stops_once_the_session_is_idle(
        queued, database_url, monkeypatch, queue_fragments):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    offenders = next(iter(queue_fragments))
    last_click = idle_since(test, 59 * 60)
    run_fragment(test, offenders, True, monkeypatch)
    assert not test.exception and list(table(test)["Dossier"]) == ["Q3", "Q4", "Q2", "Q1"]
    # Refreshed, but the idle clock did not move: a queue left open on a screen still goes idle.
    assert test.session_state[session.MEMORY_KEY].last_activity == last_click
    assert max(session._last_seen.values()) == last_click
    idle_since(test, 61 * 60)
    run_fragment(test, offenders, True, monkeypatch)
    assert not test.exception and titles(test) == ["Relais"] and "60 minutes" in test.markdown[0].value
    assert len(test.dataframe) == 0 and [button.label for button in test.button] == ["Se connecter"]
    assert _actions(queued).count("session_refused") == 1


def test_a_click_inside_the_queue_is_activity(queued, database_url, monkeypatch, queue_fragments):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    last_click = idle_since(test, 59 * 60)
    choice = test.selectbox(key="queue_case_offender").set_value("Q4")
    run_fragment(test, next(iter(queue_fragments)), False, monkeypatch, element=choice)
    assert not test.exception and test.selectbox(key="queue_case_offender").value == "Q4"
    assert test.session_state[session.MEMORY_KEY].last_activity > last_click + 59 * 60 - 5


def _submit(test: AppTest):
    test.selectbox(key="new_offender_outcome").set_value("accepted")
    return submit_button(test)


def _close(test: AppTest):
    return test.button(key="close_offender")


@pytest.mark.parametrize("write", [_submit, _close])
@pytest.mark.parametrize(("limit", "value", "reason"), [("RELAIS_SESSION_HOURS", "0.00001", "expired"),
                                                         ("RELAIS_IDLE_MINUTES", "0.001", "idle")])
def test_a_form_drawn_before_the_session_ended_writes_nothing(
        queued, database_url, monkeypatch, queue_fragments, limit, value, reason, write):
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    test.selectbox(key="queue_case_offender").set_value("Q4").run()
    test.checkbox(key="close_confirm_offender").check().run()
    # The limit passes while the form is on screen (a sign-in 0.036 s long, or 0.06 s idle); then she clicks.
    monkeypatch.setenv(limit, value)
    time.sleep(0.1)
    run_fragment(test, next(iter(queue_fragments)), False, monkeypatch, element=write(test).click())
    assert not test.exception and titles(test) == ["Relais"] and len(test.dataframe) == 0
    assert _recorded(queued, "Q4") == []
    with queued.connect() as connection:
        assert connection.scalar(select(case_closure.c.id).where(case_closure.c.closed_by == "anne")) is None
        refusals = list(connection.scalars(select(audit_event.c.detail).where(
            audit_event.c.action == "session_refused")))
    assert [action for action in _actions(queued) if action not in ("sign_in", "view")] == ["session_refused"]
    assert [json.loads(detail) for detail in refusals] == [{"reason": reason}]


def test_an_open_queue_is_read_again_every_half_minute_by_default(queued, database_url, monkeypatch):
    """A file dropped in the watched folder is stored about a second after it lands: read every 30 s, the open queue
    shows its arrests within the issue's 60 s."""
    monkeypatch.delenv("RELAIS_QUEUE_REFRESH_SECONDS", raising=False)
    assert queue_view.refresh_seconds() == 30
    test = app_for(worker("RIPRSL"), database_url, monkeypatch)
    assert any("toutes les 30 s" in caption.value for caption in test.caption)
