"""Cases entered by hand: the importer's rules, one transaction with the batch and audit rows, the raw subject key kept
nowhere, deny by default, one case per form, and the police extract that later replaces the entry and keeps its
attempts; the administrators' list of old unconfirmed entries."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dashboard.i18n import t
from dashboard.ingest.hand_entry import CaseEntry, CaseRefused, enter_case, new_form_token
from dashboard.ingest.importer import import_file
from dashboard.ingest.pseudonyms import pseudonym
from dashboard.ingest.worker_log import AttemptEntry, Recorder, record_attempt
from queries.audit import audit_events, without_case_identifiers
from queries.filters import MetricFilter, Period, Scope
from queries.freshness import current_version
from queries.intake import unconfirmed_entries
from queries.localtime import LOCAL_TIMEZONE
from queries.outreach import outreach_summary
from queries.queue import waiting_cases
from queries.schema import DATA_TABLES, audit_event, import_batch, intervention, outreach_attempt, weekly_count
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.queue_data import ANY, NOW, NOW_US, RULES, load_queue_data

ANNE = Recorder("anne", Scope.of("RIPRSL", role="worker"))
SOPHIE = Recorder("sophie", Scope.of("SPS", role="worker"))
ADMIN = Scope(all_services=True, roles=frozenset({"admin"}))
RAW_KEY = "FPS-483920"


@pytest.fixture
def queued(engine):
    return load_queue_data(engine)


def case(event_id: str = "H1", **changes) -> CaseEntry:
    values = {"police_service": "RIPRSL", "event_id": event_id, "municipality_code": "57040",
              "occurred_at": "2024-03-20 09:30", "arrest": True, "arrested_at": "2024-03-20 10:15",
              "contact_ban": True, "subject_key": RAW_KEY}
    return CaseEntry(**{**values, **changes})


def stored(engine, event_id: str = "H1"):
    with engine.connect() as connection:
        return connection.execute(select(intervention).where(intervention.c.event_id == event_id)).first()


def form_batches(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(import_batch).where(import_batch.c.channel == "form")).all()


def actions(engine, action: str = "case_entered") -> list:
    with engine.connect() as connection:
        return connection.execute(select(audit_event).where(audit_event.c.action == action)).all()


def every_stored_text(engine) -> str:
    """Every value of every row of every data table, as text, for a search."""
    with engine.connect() as connection:
        return "\n".join(repr(tuple(row)) for table in DATA_TABLES for row in connection.execute(select(table)))


def queue_of(engine, scope: Scope = ANNE.scope):
    return waiting_cases(engine, ANY, scope, "offender", NOW_US, RULES).set_index("event_id")


def test_a_case_entered_by_hand_is_stored_with_its_batch_and_audit_row_and_enters_the_queue(queued):
    before = current_version(queued)
    assert enter_case(queued, case(), ANNE, NOW) == "H1"
    row = stored(queued)
    assert (row.municipality_code, row.arrest, row.contact_ban) == ("57040", True, True)
    # 09:30 and 10:15 EDT (UTC−4).
    assert (row.occurred_at, row.arrested_at) == (datetime(2024, 3, 20, 13, 30, tzinfo=UTC),
                                                  datetime(2024, 3, 20, 14, 15, tzinfo=UTC))
    assert (row.entered_by, row.entered_at, row.confirmed_at) == ("anne", NOW, None)
    # Pseudonymised as the importer does: normalised, then the HMAC under the configured key.
    assert row.subject_key == pseudonym(RAW_KEY, (TEST_PSEUDONYM_KEY,)) and not row.demo
    (batch,) = form_batches(queued)
    assert (batch.id, batch.kind, batch.police_service, batch.imported_by, batch.status) == (
        row.batch_id, "interventions", "RIPRSL", "anne", "imported")
    assert (batch.rows_read, batch.rows_accepted, batch.rows_rejected, batch.problems) == (1, 1, 0, "[]")
    (audit,) = actions(queued)
    assert (audit.subject, audit.page, audit.services) == ("anne", "queue", "RIPRSL")
    assert json.loads(audit.detail) == {"event_id": "H1", "service": "RIPRSL", "batch": batch.id, "arrest": True}
    # As for a closed case: the administrator reads the row without the event number.
    assert json.loads(without_case_identifiers(audit.detail))["event_id"] == "•••"
    assert current_version(queued) == before + 1
    # In the queue at once, after Q1 (arrested at 10:00), marked as entered by hand; Q1 is not.
    queue = queue_of(queued)
    assert list(queue.index) == ["Q3", "Q4", "Q2", "Q1", "H1"]
    assert (queue.loc["H1", "by_hand"], queue.loc["Q1", "by_hand"]) == (True, False)
    assert queue.loc["H1", "entered_by"] == "anne"
    # The stored weekly counts took it: 2024-W12 in 57040 had Q1, Q4, Q5, Q7, Q8, Q10 (all arrests but Q10); now H1.
    with queued.connect() as connection:
        week = connection.execute(select(weekly_count.c.interventions, weekly_count.c.arrests).where(
            weekly_count.c.police_service == "RIPRSL", weekly_count.c.municipality_code == "57040",
            weekly_count.c.week == "2024-W12")).one()
    assert tuple(week) == (7, 6)


def test_the_typed_subject_key_is_stored_nowhere(queued):
    enter_case(queued, case(subject_key=" fps-483920 "), ANNE, NOW)
    with pytest.raises(CaseRefused) as refused:
        enter_case(queued, case("H2", subject_key="Jean Tremblay", municipality_code="1"), ANNE, NOW)
    text = every_stored_text(queued).upper()
    assert RAW_KEY not in text and "TREMBLAY" not in text
    # Nor a plain hash of it, nor in what the refusal says or what the entry prints.
    assert hashlib.sha256(RAW_KEY.encode()).hexdigest().upper() not in text
    assert "Tremblay" not in str(refused.value) and "Tremblay" not in repr(case(subject_key="Jean Tremblay"))
    assert stored(queued).subject_key == pseudonym(RAW_KEY, (TEST_PSEUDONYM_KEY,))


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"municipality_code": "94068"}, "municipality_code", t("import.reason.municipality_outside_service")),
        ({"municipality_code": "5704"}, "municipality_code", t("import.reason.municipality_code")),
        ({"arrested_at": "2024-03-20 09:00"}, "arrested_at", t("import.reason.arrested_before_occurred")),
        ({"arrested_at": ""}, "arrested_at", t("import.reason.arrested_at_required")),
        ({"occurred_at": "20/03/2024 09:30"}, "occurred_at", t("import.reason.timestamp")),
        ({"event_id": "E" * 65}, "event_id", t("import.reason.too_long", limit=64)),
        ({"event_id": "  "}, "event_id", t("import.reason.required")),
        ({"event_id": "Q1"}, "event_id", t("intake.reason.exists")),
        ({"police_service": "SQ"}, "police_service", t("import.reason.unknown_service")),
        ({"subject_key": "Jean Tremblay"}, "subject_key", t("import.reason.subject_key_characters")),
        ({"arrested_at": "2024-03-20 12:01"}, "arrested_at", t("intake.reason.future")),
        ({"event_id": "H\x00"}, "event_id", t("import.reason.control_character")),
    ],
)
def test_each_rule_of_the_contract_refuses_the_case_and_writes_nothing(queued, changes, field, reason):
    recorder = Recorder("anne", Scope(all_services=True, roles=frozenset({"worker"})))
    before = every_stored_text(queued)
    with pytest.raises(CaseRefused) as refused:
        enter_case(queued, case(**changes), recorder, NOW)
    assert refused.value.problems == [(field, reason)]
    assert every_stored_text(queued) == before


def test_every_problem_is_said_at_once(queued):
    with pytest.raises(CaseRefused) as refused:
        enter_case(queued, case("Q2", municipality_code="94068", occurred_at="2024-03-21 09:00",
                                arrested_at="2024-03-21 08:00"), ANNE, NOW)
    assert refused.value.problems == [
        ("municipality_code", t("import.reason.municipality_outside_service")),
        ("arrested_at", t("import.reason.arrested_before_occurred")),
        ("event_id", t("intake.reason.exists")),
        ("occurred_at", t("intake.reason.future")),
        ("arrested_at", t("intake.reason.future")),
    ]


@pytest.mark.parametrize("recorder", [Recorder("c", Scope.of("RIPRSL", role="captain")),
                                      Recorder("d", Scope.of("RIPRSL", role="director")),
                                      Recorder("a", Scope(all_services=True, roles=frozenset({"admin"}))),
                                      Recorder("s", Scope.of("SPS", role="worker")),
                                      Recorder("n", Scope(roles=frozenset({"worker"})))])
def test_only_a_worker_of_the_service_enters_a_case(queued, recorder):
    with pytest.raises(PermissionError):
        enter_case(queued, case(), recorder, NOW)
    assert stored(queued) is None and form_batches(queued) == [] and actions(queued) == []


def test_the_same_form_submitted_three_times_stores_one_case(queued):
    token = new_form_token()
    assert [enter_case(queued, case(), ANNE, NOW, form_token=token) for _click in range(3)] == ["H1"] * 3
    assert len(form_batches(queued)) == 1 and len(actions(queued)) == 1
    # Another form for the same event is another worker's entry of a case that exists.
    with pytest.raises(CaseRefused) as refused:
        enter_case(queued, case(), Recorder("bea", ANNE.scope), NOW, form_token=new_form_token())
    assert refused.value.problems == [("event_id", t("intake.reason.exists"))]
    with pytest.raises(ValueError):
        enter_case(queued, case("H2"), ANNE, NOW, form_token="not a token")


def test_a_case_stored_between_the_check_and_the_insert_is_refused_not_replaced(queued, monkeypatch):
    """Two workers entering the same event at once: the second insert meets the unique key, and her entry is
    refused rather than replacing the first (an upsert would have)."""
    from dashboard.ingest import hand_entry
    from queries import writes

    enter_case(queued, case(), ANNE, NOW)
    monkeypatch.setattr(writes, "interventions_by_key", lambda connection, keys: {})
    with pytest.raises(CaseRefused) as refused:
        enter_case(queued, case(municipality_code="57005"), Recorder("bea", ANNE.scope), NOW)
    assert refused.value.problems == [("event_id", t("intake.reason.exists"))]
    assert (stored(queued).municipality_code, stored(queued).entered_by) == ("57040", "anne")
    assert len(form_batches(queued)) == 1 and len(actions(queued)) == 1
    assert hand_entry.writes is writes


EXTRACT = """\
event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban
H1,RIPRSL,57005,2024-03-20 09:00,oui,2024-03-20 10:05,{key},non
"""


def test_the_police_extract_replaces_the_hand_entry_and_keeps_its_attempts(queued):
    enter_case(queued, case(), ANNE, NOW)
    hand = stored(queued)
    attempt_id = record_attempt(queued, AttemptEntry("RIPRSL", "H1", "2024-03-20 10:45", "offender", "no_answer",
                                                     "phone"), ANNE, NOW)
    report = import_file(queued, "interventions", EXTRACT.format(key=RAW_KEY).encode(), "extract.csv",
                         imported_by="cron", service="RIPRSL")
    assert report.written and report.replaced == 1
    row = stored(queued)
    assert row.id == hand.id and row.batch_id == report.batch_id
    # The extract's values: another municipality, 09:00 and 10:05 EDT, no contact ban.
    assert (row.municipality_code, row.contact_ban) == ("57005", False)
    assert (row.occurred_at, row.arrested_at) == (datetime(2024, 3, 20, 13, 0, tzinfo=UTC),
                                                  datetime(2024, 3, 20, 14, 5, tzinfo=UTC))
    # Who entered it stays known, now confirmed by the extract's batch.
    assert (row.entered_by, row.entered_at) == ("anne", NOW) and row.confirmed_at is not None
    with queued.connect() as connection:
        attached = connection.execute(select(outreach_attempt.c.attempt_id, outreach_attempt.c.intervention_id).where(
            outreach_attempt.c.event_id == "H1")).all()
    assert attached == [(attempt_id, hand.id)]
    queue = queue_of(queued)
    # Arrested at 10:05 now, after Q1's 10:00; no longer marked; one attempt so far.
    assert list(queue.index) == ["Q3", "Q4", "Q2", "Q1", "H1"]
    assert (queue.loc["H1", "by_hand"], queue.loc["H1", "attempts"], queue.loc["H1", "municipality"]) == (
        False, 1, queue.loc["Q2", "municipality"])


LATER_EXTRACT = """\
event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban
H1,RIPRSL,57005,2024-03-20 09:30,oui,2024-03-20 10:45,{key},non
N1,RIPRSL,57005,2024-03-20 10:00,oui,2024-03-20 11:00,FPS-111111,non
"""


def test_an_extract_moving_the_arrest_after_an_attempt_on_the_hand_entry_wins_and_counts_it_at_the_arrest(queued):
    enter_case(queued, case(), ANNE, NOW)
    hand = stored(queued)
    attempt_id = record_attempt(queued, AttemptEntry("RIPRSL", "H1", "2024-03-20 10:30", "offender", "accepted",
                                                     "phone"), ANNE, NOW)
    report = import_file(queued, "interventions", LATER_EXTRACT.format(key=RAW_KEY).encode(), "extract.csv",
                         imported_by="cron", service="RIPRSL")
    # The whole file, its new arrest N1 with it.
    assert (report.status, report.problems, report.accepted, report.replaced) == ("imported", [], 2, 1)
    row = stored(queued)
    arrested = datetime(2024, 3, 20, 14, 45, tzinfo=UTC)
    assert (row.id, row.municipality_code, row.arrested_at) == (hand.id, "57005", arrested)
    assert row.confirmed_at is not None and stored(queued, "N1").arrest
    with queued.connect() as connection:
        attached = connection.execute(select(outreach_attempt.c.attempt_id, outreach_attempt.c.intervention_id,
                                             outreach_attempt.c.attempted_at).where(
            outreach_attempt.c.event_id == "H1")).all()
    # Her attempt kept as recorded, 10:30 EDT, a quarter of an hour before the extract's arrest.
    assert attached == [(attempt_id, hand.id, datetime(2024, 3, 20, 14, 30, tzinfo=UTC))]
    assert row.offender_first_attempt_us == row.arrested_us
    # 57005's arrests of 20 March: H1 (accepted, counted at the arrest: 0 h) and N1 (not attempted).
    summary = outreach_summary(queued, MetricFilter(Period(NOW.date(), NOW.date()), municipalities=("57005",)),
                               ANNE.scope)
    assert (summary.cohort, summary.attempted, summary.accepted, summary.within_24h) == (2, 1, 1, 1)
    assert summary.median_hours_to_first_attempt == 0.0
    assert list(queue_of(queued).index) == ["Q3", "Q4", "Q2", "Q1", "N1"]
    # Police exports often send a case again: the same file tomorrow is imported whole, H1 still confirmed.
    again = import_file(queued, "interventions", LATER_EXTRACT.format(key=RAW_KEY).encode(), "extract-2.csv",
                        imported_by="cron", service="RIPRSL")
    assert (again.status, again.problems, again.replaced) == ("imported", [], 2)


def test_a_second_hand_entry_of_a_police_case_is_refused(queued):
    with pytest.raises(CaseRefused):
        enter_case(queued, case("Q4"), ANNE, NOW)
    row = stored(queued, "Q4")
    assert (row.entered_by, row.confirmed_at) == (None, None)


def test_in_the_demo_database_a_hand_entry_is_demo_data(engine):
    demo = """\
event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban
D1,RIPRSL,57040,2024-03-19 09:00,oui,2024-03-19 10:00,K1,non
"""
    assert import_file(engine, "interventions", demo.encode(), "demo.csv", demo=True).written
    enter_case(engine, case(), ANNE, NOW)
    row = stored(engine)
    (batch,) = form_batches(engine)
    assert row.demo and batch.demo and batch.channel == "form"
    # Under the demo's key, as every other demo pseudonym: repeats link.
    from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
    assert row.subject_key == pseudonym(RAW_KEY, DEMO_PSEUDONYM_KEYS)


def _entered(engine, event_id: str, recorder: Recorder, days_ago: float, municipality: str = "57040"):
    at = NOW - timedelta(days=days_ago)
    local = (at - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    arrested = (at - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    service = next(iter(recorder.scope.services))
    enter_case(engine, CaseEntry(service, event_id, municipality, local, True, arrested), recorder, at)


def test_old_unconfirmed_hand_entries_are_listed_for_the_administrators_without_their_event_number(queued):
    _entered(queued, "H-OLD", ANNE, 8)
    _entered(queued, "H-NEW", ANNE, 3)
    _entered(queued, "H-CONFIRMED", ANNE, 10)
    _entered(queued, "S-OLD", SOPHIE, 9.5, "94068")
    extract = ("event_id,police_service,municipality_code,occurred_at,arrest,arrested_at\n"
               f"H-CONFIRMED,RIPRSL,57040,{(NOW - timedelta(days=10, hours=2)).isoformat()},oui,"
               f"{(NOW - timedelta(days=10, hours=1)).isoformat()}\n")
    assert import_file(queued, "interventions", extract.encode(), "extract.csv", service="RIPRSL").written
    flt = MetricFilter(Period(NOW.date(), NOW.date()))
    frame = unconfirmed_entries(queued, flt, ADMIN, NOW, 7)
    assert list(frame.columns) == ["police_service", "municipality", "entered_at", "entered_by", "age_days"]
    assert list(frame["police_service"]) == ["SPS", "RIPRSL"]
    assert list(frame["entered_by"]) == ["sophie", "anne"]
    assert list(frame["age_days"]) == [9, 8]
    assert list(frame["entered_at"]) == [NOW - timedelta(days=9.5), NOW - timedelta(days=8)]
    assert "H-OLD" not in frame.to_csv() and "S-OLD" not in frame.to_csv()
    # Scoped in SQL: an administrator of the régie only, or the filter's service.
    assert list(unconfirmed_entries(queued, flt, Scope(services=frozenset({"RIPRSL"}), roles=frozenset({"admin"})),
                                    NOW, 7)["police_service"]) == ["RIPRSL"]
    assert list(unconfirmed_entries(queued, MetricFilter(flt.period, services=("SPS",)), ADMIN, NOW,
                                    7)["entered_by"]) == ["sophie"]
    # Three days more: H-NEW is listed too (RELAIS_UNCONFIRMED_DAYS=7); with 9 days, only the Saguenay's.
    assert len(unconfirmed_entries(queued, flt, ADMIN, NOW + timedelta(days=4), 7)) == 3
    assert list(unconfirmed_entries(queued, flt, ADMIN, NOW, 9)["police_service"]) == ["SPS"]
    for scope in (ANNE.scope, Scope.of("RIPRSL", role="captain"), Scope(roles=frozenset())):
        with pytest.raises(PermissionError):
            unconfirmed_entries(queued, flt, scope, NOW, 7)


def test_the_administrators_audit_page_masks_the_entered_event(queued):
    from queries.audit import AuditFilter

    enter_case(queued, case(), ANNE, NOW)
    today = datetime.now(UTC).date()
    frame = audit_events(queued, AuditFilter(today - timedelta(days=1), today + timedelta(days=1)), ADMIN)
    (detail,) = list(frame.loc[frame["action"] == "case_entered", "detail"])
    assert "H1" not in detail and json.loads(detail)["event_id"] == "•••"
    with queued.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(audit_event)) == 1


def _page_worker(*services: str) -> dict:
    return {"sub": "anne", "roles": ["worker"], "police_services": list(services)}


def _field(widgets, label: str):
    (widget,) = [widget for widget in widgets if widget.label == label]
    return widget


def _open_new_case(test):
    """Open "Nouveau dossier" (its form is drawn only while it is open), as a click on it does."""
    from dashboard.web import queue_view

    test.session_state[f"new_case_box_{test.session_state[queue_view.INTAKE_TOKEN_KEY]}"] = True
    return test.run()


def _fill_new_case(test, event_id: str, place: str, arrested: datetime, subject_key: str = RAW_KEY):
    """Fill "Nouveau dossier" as she would: the event, the place, when, and the subject key typed once."""
    local = arrested.astimezone(LOCAL_TIMEZONE)
    _field(test.text_input, t("intake.event_id", "fr")).input(event_id)
    _field(test.selectbox, t("intake.municipality", "fr")).select(place)
    for label in ("occurred", "arrested"):
        _field(test.date_input, t(f"intake.{label}_date", "fr")).set_value(local.date())
        _field(test.time_input, t(f"intake.{label}_time", "fr")).set_value(local.time())
    _field(test.text_input, t("intake.subject_key", "fr")).input(subject_key)
    (button,) = [button for button in test.button if button.label == t("intake.submit", "fr")]
    return button


def test_the_queue_pages_form_adds_a_case_marked_as_entered_by_hand(engine, database_url, monkeypatch):
    from dashboard.web import queue_view
    from tests.test_app import app_for

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    monkeypatch.setattr(queue_view, "_now", lambda: now)
    load_queue_data(engine, now)
    test = app_for(_page_worker("RIPRSL"), database_url, monkeypatch)
    assert not test.exception
    assert [expander.label for expander in test.expander][0] == t("intake.title", "fr")
    assert not test.text_input  # closed, the box draws no form
    _open_new_case(test)
    places = _field(test.selectbox, t("intake.municipality", "fr")).options
    assert places and all(" · " not in place for place in places)  # one service: no service named
    arrested = now - timedelta(hours=1)
    _fill_new_case(test, "H-PAGE", ("RIPRSL", "57040"), arrested).click().run()
    assert not test.exception and not test.error
    shown = test.dataframe[0].value.set_index("Dossier")
    assert list(shown.index) == ["Q3", "Q4", "Q2", "Q1", "H-PAGE"]  # arrested an hour ago, after Q1 (two)
    assert shown.loc["H-PAGE", "Source"] == "saisi à la main"
    assert shown.loc["Q1", "Source"] == "extrait policier"
    assert shown.loc["H-PAGE", "Délai"] == "1 h 00 · à temps"
    # The key was typed once: no field of the session holds it any more, and the next form is empty.
    assert RAW_KEY not in repr(test.session_state)
    # The box closed on the queue that holds the case; opened again, its form is a new one, empty.
    assert not test.text_input
    _open_new_case(test)
    assert _field(test.text_input, t("intake.event_id", "fr")).value == ""
    assert RAW_KEY not in every_stored_text(engine).upper()
    assert stored(engine, "H-PAGE").entered_by == "anne"
    assert [row.subject for row in actions(engine)] == ["anne"]


def test_the_queue_pages_form_says_each_problem_and_keeps_nothing(engine, database_url, monkeypatch):
    from dashboard.web import queue_view
    from tests.test_app import app_for

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    monkeypatch.setattr(queue_view, "_now", lambda: now)
    load_queue_data(engine, now)
    test = _open_new_case(app_for(_page_worker("RIPRSL", "SPS"), database_url, monkeypatch))
    # Two services: each municipality names its own; the Saguenay's one is there.
    labels = _field(test.selectbox, t("intake.municipality", "fr")).options
    assert all(label.endswith((" · RIPRSL", " · SPS")) for label in labels)
    assert {label.rsplit(" · ", 1)[1] for label in labels} == {"RIPRSL", "SPS"}
    _fill_new_case(test, "Q1", ("RIPRSL", "57040"), now + timedelta(hours=2), "Jean Tremblay").click().run()
    assert not test.exception
    (error,) = test.error
    assert error.value.splitlines() == [
        t("intake.refused", "fr"),
        "- Clé du sujet : " + t("import.reason.subject_key_characters", "fr"),
        "- Numéro d'événement : " + t("intake.reason.exists", "fr"),
        "- Intervention : " + t("intake.reason.future", "fr"),
        "- Arrestation : " + t("intake.reason.future", "fr"),
    ]
    assert "Tremblay" not in repr(test.session_state)
    assert _field(test.text_input, t("intake.subject_key", "fr")).value == ""
    assert _field(test.text_input, t("intake.event_id", "fr")).value == "Q1"  # the rest stays, to correct
    assert "Tremblay" not in every_stored_text(engine) and actions(engine) == []


def test_only_a_worker_sees_the_new_case_form(engine, database_url, monkeypatch):
    from tests.test_app import PAGES_DIR, app_for

    load_queue_data(engine)
    director = {"sub": "dora", "roles": ["director"], "police_services": ["RIPRSL"]}
    test = app_for(director, database_url, monkeypatch)
    test.switch_page(str(PAGES_DIR / "queue.py")).run()
    assert not test.exception
    assert t("intake.title", "fr") not in [expander.label for expander in test.expander]
